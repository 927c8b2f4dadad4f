"""The warm runner: a pool of long-lived `JobRunner` actors (named `helio-runner-<i>`,
detached, restarted after a crash or a lost node, spread over the cluster). Each imported
Helio's libraries when it started and is connected to Ray already; it claims one queued
platform job at a time from the queue (cluster/catalog/jobs.py), so the pool size is how
many platform jobs run at once, and nothing starts more than the cluster holds.

A runner that restarts (killed, OOM, node lost) finds the attempts it held and fails them
as retryable: the job is queued again with backoff while attempts are left. A cancelled
or timed-out attempt cannot be interrupted inside a library call, so the runner records
the outcome and then exits; Ray starts it again (a few seconds) while the others keep
working. Its Ray task and node are recorded in the job's attempts, and the actors show in
the Ray dashboard under their names."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from typing import Any

import structlog

from actors import names
from actors._tasks import cancel_and_wait
from cluster.settings import Settings

log = structlog.get_logger("helio.runner")
IDLE_POLL_S = 1.0
# How long a beat that finds the job no longer held waits for the attempt's own end.
OUTCOME_GRACE_S = 2.0
HEARTBEAT_S = 1.0
# Imported once per runner, so that a run does not pay for them.
PRELOAD = ("pandas", "pyarrow.parquet", "pyarrow.compute", "duckdb", "sklearn.ensemble",
           "sklearn.linear_model", "skops.io", "ray.data", "pipelines.engine",
           "pipelines.query", "pipelines.profile", "pipelines.training")


def runner_name(i: int) -> str:
    return f"{names.RUNNER_PREFIX}{i}"


def pool_size(settings: Settings) -> int:
    if settings.job_runners:
        return settings.job_runners
    import ray

    cpus = int(ray.cluster_resources().get("CPU", 2))  # type: ignore[no-untyped-call]
    # Each platform job spreads its Ray Data work over the whole cluster: two pipelines at
    # once on 2 cores each took ~40 s where one after the other took ~3 s each
    # (benchmarks/jobs.py), so the pool is a quarter of the CPUs.
    return max(1, min(16, cpus // 4))


class JobRunner:
    """Async actor; the job itself runs in a thread (handlers are blocking code)."""

    def __init__(self, name: str) -> None:
        import importlib

        from cluster.logging import configure_logging
        from cluster.settings import load_settings

        self.name = name
        self.settings = load_settings()
        configure_logging(self.settings.log_level)
        started = time.perf_counter()
        for module in PRELOAD:
            try:
                importlib.import_module(module)
            except ImportError:  # an optional extra that is not installed
                pass
        from actors.runner.common import connect_ray
        from actors.runner.execute import HANDLER_MODULES

        for module in HANDLER_MODULES.values():
            importlib.import_module(module)
        connect_ray()
        self.warm_s = round(time.perf_counter() - started, 3)
        self._task: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None
        from actors._db import LazyDatabase

        self._database = LazyDatabase(self.settings.resolved_database_url)
        self.current: dict[str, Any] | None = None
        self.jobs_run = 0
        # An async actor's __init__ runs on its event loop: the loop starts here, so a
        # runner restarted by Ray resumes (and recovers its lost attempt) by itself.
        self._ensure()

    # ------------------------------------------------------------ calls

    async def start(self) -> dict[str, Any]:
        self._ensure()
        return await self.state()

    async def wake(self) -> None:
        self._ensure()
        assert self._wake is not None
        self._wake.set()

    async def state(self) -> dict[str, Any]:
        import ray

        context = ray.get_runtime_context()
        return {"name": self.name, "pid": os.getpid(), "node_id": context.get_node_id(),
                "actor_id": context.get_actor_id(), "warm_s": self.warm_s,
                "current": self.current, "jobs_run": self.jobs_run}

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None
        await self._database.dispose()

    # ------------------------------------------------------------ the loop

    def _ensure(self) -> None:
        if self._wake is None:
            self._wake = asyncio.Event()
        if self._task is None or self._task.done():
            self._task = asyncio.get_event_loop().create_task(self._loop())

    async def _db(self) -> Any:
        return self._database.sessions()

    async def _loop(self) -> None:
        from cluster.catalog import jobs as catalog_jobs

        sessions = await self._db()
        await self._recover(sessions)
        assert self._wake is not None
        while True:
            try:
                async with sessions() as session:
                    job = (await catalog_jobs.claim_next(
                        session, self.settings, runner=self.name, where=self._where())
                        if await catalog_jobs.has_ready(session) else None)
            except Exception as exc:
                log.warning("runner_claim_failed", runner=self.name, error=type(exc).__name__,
                            message=str(exc)[:300])
                job = None
            if job is None:
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), IDLE_POLL_S)
                except TimeoutError:
                    pass
                continue
            await self._run(sessions, job)

    def _where(self) -> dict[str, Any]:
        import ray

        context = ray.get_runtime_context()
        return {"task_id": context.get_task_id(), "actor_id": context.get_actor_id(),
                "node_id": context.get_node_id(), "pid": os.getpid()}

    async def _recover(self, sessions: Any) -> None:
        """Attempts this runner held before it restarted died with it."""
        from cluster.catalog import jobs as catalog_jobs
        from cluster.models import JobStatus

        async with sessions() as session:
            held = await catalog_jobs.held_by(session, self.name)
        from actors.runner.logs import LogBuffer

        for job in held:
            error = (f"the runner {self.name} stopped (killed, out of memory or its node "
                     f"lost) during attempt {job.attempt}")
            # What the attempt printed since the last flush died with the process: its
            # log says at least what happened to it.
            lost = LogBuffer()
            lost.line(f"helio: attempt {job.attempt} of {job.max_attempts} ({job.kind}) "
                      f"lost: {error}")
            await self._log_writer(sessions, job).flush(lost)
            async with sessions() as session:
                row = await catalog_jobs.fail_attempt(
                    session, job.id, job.attempt, retryable=True, error=error)
            if row is not None:
                log.warning("runner_lost_attempt", runner=self.name, job_id=str(job.id),
                            attempt=job.attempt, status=row.status)
                self._publish(catalog_jobs.job_event(row))
                if row.status == JobStatus.queued.value:
                    self._wake_others()

    def _publish(self, event: dict[str, Any]) -> None:
        from actors.events import publish_from_driver

        publish_from_driver(event, self.settings.actor_namespace)

    def _log_writer(self, sessions: Any, job: Any) -> Any:
        from actors.runner.logs import LogWriter

        return LogWriter(sessions, job_id=job.id, owner_id=job.owner_id, attempt=job.attempt,
                         max_bytes=self.settings.job_log_max_bytes, publish=self._publish)

    def _wake_others(self) -> None:
        wake_runners(self.settings, pool_size(self.settings))

    async def _run(self, sessions: Any, job: Any) -> None:
        from actors.runner.execute import handler_for, run_attempt
        from actors.runner.logs import LogBuffer
        from cluster.catalog import jobs as catalog_jobs

        cancelled = threading.Event()
        logs = LogBuffer()
        writer = self._log_writer(sessions, job)
        self.current = {"job_id": str(job.id), "attempt": job.attempt, "kind": job.kind}
        started = time.monotonic()
        loop = asyncio.get_running_loop()

        def flush() -> None:  # from the attempt's thread, before it records its outcome
            asyncio.run_coroutine_threadsafe(writer.flush(logs), loop).result(30)

        task = asyncio.ensure_future(asyncio.to_thread(
            run_attempt, self.settings, job, handler_for(job.kind), logs=logs,
            cancelled=cancelled, flush=flush))
        reason: str | None = None
        next_beat = started + HEARTBEAT_S
        try:
            while not task.done():
                await asyncio.wait({task}, timeout=0.5)
                await writer.flush(logs)
                now = time.monotonic()
                if task.done() or reason is not None:
                    continue
                if job.timeout_s and now - started > job.timeout_s:
                    reason = "timeout"
                    logs.line(f"helio: attempt {job.attempt} timed out after "
                              f"{job.timeout_s:g} s")
                    async with sessions() as session:
                        row = await catalog_jobs.fail_attempt(
                            session, job.id, job.attempt, retryable=True,
                            error=f"timed out after {job.timeout_s:g} s")
                    if row is not None:
                        self._publish(catalog_jobs.job_event(row))
                    cancelled.set()
                    break
                if now >= next_beat:
                    next_beat = now + HEARTBEAT_S
                    async with sessions() as session:
                        alive = await catalog_jobs.heartbeat(session, job.id, job.attempt)
                    if not alive:
                        # The attempt may have just recorded its own outcome (a fast job
                        # ends between two beats): then its thread returns within moments.
                        await asyncio.wait({task}, timeout=OUTCOME_GRACE_S)
                        if task.done():
                            continue
                        # Cancelled (or reaped): stop at the next progress call.
                        reason = "cancelled"
                        cancelled.set()
                        logs.line("helio: the job was cancelled")
                        break
            if reason is None and cancelled.is_set():
                # The handler noticed the cancel itself (at a progress call) and returned, but
                # the thread doing its work may still be inside a library call: leave too.
                reason = "cancelled"
            if reason is not None:
                # Give the handler a moment to clean up its staging files, then leave: the
                # work may go on inside a library call, and only a fresh process stops it.
                await asyncio.wait({task}, timeout=3.0)
                await writer.flush(logs)
                log.info("runner_exits", runner=self.name, job_id=str(job.id), reason=reason)
                os._exit(1)
            await writer.flush(logs)
            status = task.result()
            if status == "queued":
                self._wake_others()
        finally:
            self.current = None
            self.jobs_run += 1


# ------------------------------------------------------------------ from other processes

def runner_options(settings: Settings, name: str) -> dict[str, Any]:

    from cluster.jobs import driver_env

    options = names.actor_options(name, settings.actor_namespace, max_concurrency=16)
    # Runner calls are not retried: a claim happens once, in the runner's own loop.
    options.update(max_task_retries=0, enable_task_events=True, scheduling_strategy="SPREAD",
                   runtime_env={"env_vars": driver_env(settings)})
    return options


def ensure_pool(settings: Settings, size: int | None = None) -> list[Any]:
    """Create (or find) the runner actors and start their loops."""
    import ray

    handles = []
    for i in range(size or pool_size(settings)):
        handle = ray.remote(JobRunner).options(
            **runner_options(settings, runner_name(i))).remote(runner_name(i))
        handle.start.remote()  # type: ignore[attr-defined]
        handles.append(handle)
    return handles


def runner_handles(settings: Settings, size: int) -> list[Any]:
    import ray

    found = []
    for i in range(size):
        try:
            found.append(ray.get_actor(runner_name(i), namespace=settings.actor_namespace))
        except ValueError:
            continue
    return found


def wake_runners(settings: Settings, size: int | None = None) -> None:
    """Tell the runners a job may be ready (fire-and-forget; they also poll each second)."""
    try:
        for handle in runner_handles(settings, size or pool_size(settings)):
            handle.wake.remote()
    except Exception as exc:
        log.warning("runner_wake_failed", error=type(exc).__name__)
