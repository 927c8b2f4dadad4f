"""The replica's side of the live platform metrics: request counters taken every second
and pushed (with the number of running jobs) to the cluster's PlatformMetricsActor, or to
an in-process aggregator when the API runs outside Ray."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import structlog
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from actors._tasks import cancel_and_wait
from actors.cache import ReplicaCache
from actors.events import EventStream
from actors.platform import LiveStats, PlatformMetrics, get_or_create_platform_metrics
from cluster.models import Job, JobStatus

log = structlog.get_logger("helio.live")


class LiveFeed:
    def __init__(self, *, stats: LiveStats, cache: ReplicaCache,
                 sessions: async_sessionmaker[AsyncSession], events: EventStream,
                 namespace: str | None, interval_s: float = 1.0) -> None:
        self.stats = stats
        self._cache = cache
        self._sessions = sessions
        self._namespace = namespace
        self._interval = interval_s
        self._replica = uuid.uuid4().hex[:12]
        self._seen: dict[str, int] = {}
        self._actor: Any = None
        # Outside Ray the aggregate is computed here and published to the local hub.
        self.local = PlatformMetrics(events.publish, interval_s) if namespace is None else None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())
            if self.local is not None:
                self.local.start()

    async def _running_jobs(self) -> int:
        async with self._sessions() as session:
            count = await session.scalar(select(func.count()).select_from(Job)
                                         .where(Job.status == JobStatus.running))
        return int(count or 0)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                delta = self.stats.take(self._cache.counters, self._seen)
                delta["running_jobs"] = await self._running_jobs()
                if self.local is not None:
                    self.local.record(self._replica, delta)
                else:
                    if self._actor is None:
                        assert self._namespace is not None
                        self._actor = get_or_create_platform_metrics(self._namespace)
                    self._actor.record.remote(self._replica, delta)  # fire and forget
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._actor = None
                log.warning("live_metrics_failed", error=type(exc).__name__)

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None
        if self.local is not None:
            await self.local.stop()
