"""Everything a replica's API needs, built once per replica by `create_api`."""

from __future__ import annotations

import asyncio
import collections
from dataclasses import dataclass, field
from typing import Any

import structlog
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from actors.cache import ActorCacheBackend, CacheBackend, LocalCacheBackend, ReplicaCache
from actors.events import EventStream
from actors.platform import LiveStats
from actors.rate_limiter import (
    ActorLimiterBackend,
    LimiterBackend,
    LocalLimiterBackend,
    ReplicaLimiter,
)
from cluster.db import create_engine, create_session_factory
from cluster.jobs import RayJobs
from cluster.security import TokenSigner
from cluster.settings import Settings, resolve_jwt_secret
from cluster.storage import DataRoot
from deployments.api.errors import ErrorTracker
from deployments.api.live import LiveFeed
from deployments.api.metrics import ReplicaMetrics
from deployments.api.principals import Authenticator
from deployments.api.usage import UsageMeter
from deployments.tabular import LocalPredictor
from deployments.text import LocalEncoder


@dataclass
class ApiContext:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    signer: TokenSigner
    authenticator: Authenticator
    cache: ReplicaCache
    limiter: ReplicaLimiter
    metrics: ReplicaMetrics
    data_root: DataRoot
    ray_jobs: RayJobs
    events: EventStream
    live: LiveFeed
    usage: UsageMeter
    errors: ErrorTracker
    predictor: Any = None
    encoder: Any = None
    # Loaded search indexes (embedding matrix + rows), a small LRU per replica.
    search_indexes: collections.OrderedDict[Any, Any] = field(
        default_factory=collections.OrderedDict)
    # Open event WebSockets per principal in this replica (HELIO_WS_MAX_PER_PRINCIPAL).
    sockets: dict[str, int] = field(default_factory=dict)
    use_ray: bool = False
    redis: Redis | None = None
    _warmup: asyncio.Task[None] | None = None
    _job_actors: int = 0  # the runner pool's size once this replica made sure it exists

    @classmethod
    def build(cls, settings: Settings, *, use_actors: bool, predictor: Any = None,
              encoder: Any = None) -> ApiContext:
        """`use_actors`: talk to the cluster's CacheActor / RateLimiterActor (in Ray);
        otherwise the same stores run in-process (the API outside Ray)."""
        engine = create_engine(settings.resolved_database_url)
        sessions = create_session_factory(engine)
        signer = TokenSigner(resolve_jwt_secret(settings), settings.jwt_algorithm,
                             settings.access_token_ttl_s,
                             previous=[s.get_secret_value() for s in settings.jwt_previous_secrets])
        redis_url = settings.redis_url.get_secret_value() if settings.redis_url else None
        cache_backend: CacheBackend
        limiter_backend: LimiterBackend
        if use_actors:
            cache_backend = ActorCacheBackend(settings.cache_max_bytes, redis_url,
                                              namespace=settings.actor_namespace)
            limiter_backend = ActorLimiterBackend(redis_url, namespace=settings.actor_namespace)
        else:
            cache_backend = LocalCacheBackend(settings.cache_max_bytes, redis_url)
            limiter_backend = LocalLimiterBackend(redis_url)
        cache = ReplicaCache(cache_backend, l1_ttl_s=settings.cache_l1_ttl_s,
                             poll_interval_s=settings.cache_poll_interval_s)
        limiter = ReplicaLimiter(
            limiter_backend,
            lease_size=settings.rate_limit_lease,
            on_failure={"read": settings.rate_limit_on_failure_read,
                        "write": settings.rate_limit_on_failure_write,
                        "auth": settings.rate_limit_on_failure_auth},
        )
        events = EventStream(namespace=settings.actor_namespace if use_actors else None)
        return cls(
            settings=settings,
            engine=engine,
            sessions=sessions,
            signer=signer,
            authenticator=Authenticator(signer=signer, sessions=sessions, cache=cache,
                                        cache_ttl_s=settings.auth_cache_ttl_s),
            cache=cache,
            limiter=limiter,
            metrics=ReplicaMetrics(limiter, cache),
            data_root=DataRoot(settings.resolved_data_root),
            ray_jobs=RayJobs(settings.resolved_jobs_address),
            events=events,
            live=LiveFeed(stats=LiveStats(), cache=cache, sessions=sessions, events=events,
                          namespace=settings.actor_namespace if use_actors else None),
            usage=UsageMeter(sessions),
            errors=ErrorTracker(sessions),
            predictor=predictor or LocalPredictor(settings.resolved_data_root),
            encoder=encoder or LocalEncoder(settings.nlp_model_dir, settings.nlp_threads),
            use_ray=use_actors,
            # from_url connects lazily, on first use.
            redis=Redis.from_url(redis_url, socket_timeout=2.0, socket_connect_timeout=2.0)
            if redis_url else None,
        )

    def start(self) -> None:
        """Background work that needs the replica's event loop."""
        self.cache.start()
        self.metrics.start()
        self.live.start()
        self.usage.start()
        # Create (or find) the named actors now, not on the first request that needs them.
        self._warmup = asyncio.get_running_loop().create_task(self._warm_actors())

    async def _warm_actors(self) -> None:
        warm: list[Any] = [self.cache.backend.stats(), self.limiter.backend.ping()]
        if self.use_ray:
            # The analytics scan workers too: a dashboard's first charts would otherwise
            # wait for fresh workers to import DuckDB.
            from pipelines.query import warm_on_ray

            warm.append(warm_on_ray(self.settings.resolved_data_root,
                                    task_cpus=self.settings.query_task_cpus,
                                    max_workers=self.settings.query_max_partitions))
            warm.append(self._resume_jobs())
        results = await asyncio.gather(*warm, return_exceptions=True)
        for result in results:
            if isinstance(result, Exception):
                structlog.get_logger("helio.api").warning("actor_warmup_failed",
                                                          error=type(result).__name__)

    async def _resume_jobs(self) -> None:
        """After a (re)start with schedules or unfinished jobs: the runner pool and the
        scheduler are made sure of now, not at the next submission."""
        from sqlalchemy import select

        from cluster.catalog.jobs import ACTIVE
        from cluster.models import Job, Schedule

        async with self.sessions() as session:
            pending = await session.scalar(select(Schedule.id).limit(1)) or \
                await session.scalar(select(Job.id).where(Job.status.in_(ACTIVE)).limit(1))
        if pending is not None:
            await asyncio.to_thread(self._wake_runners)

    def wake_runners(self) -> None:
        """A job was queued: make sure the runner pool and the scheduler exist (the first
        time), then wake the runners. Fire-and-forget, off the event loop."""
        future = asyncio.get_running_loop().run_in_executor(None, self._wake_runners)
        future.add_done_callback(_log_failure)

    def _wake_runners(self) -> None:
        import ray

        from actors.runner.pool import pool_size, wake_runners
        from actors.scheduler import ensure_job_actors

        if not ray.is_initialized():
            structlog.get_logger("helio.api").warning(
                "no_job_runner", reason="this API process is not connected to Ray")
            return
        if not self._job_actors:
            ensure_job_actors(self.settings)
            self._job_actors = pool_size(self.settings)
            return
        wake_runners(self.settings, self._job_actors)

    async def close(self) -> None:
        if self._warmup is not None and not self._warmup.done():
            self._warmup.cancel()
        await self.metrics.stop()
        await self.live.stop()
        await self.usage.stop()
        await self.errors.drain()
        await self.events.close()
        await self.cache.stop()
        await self.limiter.close()
        for backend in (self.cache.backend, self.limiter.backend):
            if isinstance(backend, LocalCacheBackend | LocalLimiterBackend):
                await backend.close()
        if self.redis is not None:
            await self.redis.aclose()
        await self.engine.dispose()


def _log_failure(future: asyncio.Future[Any]) -> None:
    if not future.cancelled() and future.exception() is not None:
        structlog.get_logger("helio.api").warning(
            "runner_wake_failed", error=type(future.exception()).__name__)
