"""The scheduler: one detached, named actor per Helio deployment (`helio-scheduler`,
restarted after a crash). It keeps no state of its own: schedules and jobs are rows, and
each due time fires in one compare-and-set transaction (cluster/catalog/schedules.py), so
a restart, or a second scheduler, never fires a run twice.

Each second it fires due schedules; every few seconds it also wakes the runner pool (so a
runner that restarted resumes, and retries whose backoff ended start) and reaps attempts
whose runner stopped beating (a runner on a lost node, or a pool that shrank)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import structlog

from actors import names
from actors._tasks import cancel_and_wait
from cluster.settings import Settings

log = structlog.get_logger("helio.scheduler")
TICK_S = 1.0
WAKE_EVERY_S = 2.0
REAP_EVERY_S = 10.0
STALE_AFTER_S = 30.0


class SchedulerActor:
    def __init__(self) -> None:
        from cluster.logging import configure_logging
        from cluster.settings import load_settings

        self.settings = load_settings()
        configure_logging(self.settings.log_level)
        self._task: asyncio.Task[None] | None = None
        from actors._db import LazyDatabase

        self._database = LazyDatabase(self.settings.resolved_database_url)
        self.fired = 0
        self.ticks = 0
        # The loop starts with the actor (its __init__ runs on the actor's event loop), so
        # a scheduler restarted by Ray goes on firing without being told to.
        self._task = asyncio.get_event_loop().create_task(self._loop())

    async def start(self) -> dict[str, Any]:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._loop())
        return await self.state()

    async def state(self) -> dict[str, Any]:
        import os

        return {"pid": os.getpid(), "fired": self.fired, "ticks": self.ticks}

    async def tick(self) -> int:
        """Fire what is due now (the loop calls this each second; tests may too)."""
        from actors.events import publish_from_driver
        from actors.runner.pool import wake_runners
        from cluster.catalog import jobs as catalog_jobs
        from cluster.catalog import schedules
        from cluster.models import utcnow

        sessions = await self._db()
        fired = 0
        now = utcnow()
        async with sessions() as session:
            due = await schedules.due(session, now)
        for schedule in due:
            try:
                async with sessions() as session:
                    outcome, job, cancelled = await schedules.fire(
                        session, self.settings, schedule, now)
            except Exception as exc:  # one bad schedule must not stop the others
                log.warning("schedule_fire_failed", schedule=schedule.name,
                            error=type(exc).__name__, message=str(exc)[:300])
                continue
            log.info("schedule_due", schedule=schedule.name, outcome=outcome,
                     due=schedule.next_run_at.isoformat() if schedule.next_run_at else None,
                     job_id=str(job.id) if job else None)
            for old in cancelled:
                publish_from_driver(catalog_jobs.job_event(old), self.settings.actor_namespace)
            if job is not None:
                fired += 1
                publish_from_driver(catalog_jobs.job_event(job), self.settings.actor_namespace)
        if fired:
            self.fired += fired
            await asyncio.to_thread(wake_runners, self.settings)
        return fired

    async def reap(self) -> int:
        """Fail (retryably) the attempts whose runner stopped beating."""
        from actors.events import publish_from_driver
        from cluster.catalog import jobs as catalog_jobs

        sessions = await self._db()
        async with sessions() as session:
            stale = await catalog_jobs.stale(session, STALE_AFTER_S)
        for job in stale:
            async with sessions() as session:
                row = await catalog_jobs.fail_attempt(
                    session, job.id, job.attempt, retryable=True,
                    error=f"the runner {job.runner} stopped answering during attempt "
                          f"{job.attempt}")
            if row is not None:
                publish_from_driver(catalog_jobs.job_event(row), self.settings.actor_namespace)
        return len(stale)

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None
        await self._database.dispose()

    async def _db(self) -> Any:
        return self._database.sessions()

    async def _loop(self) -> None:
        from actors.runner.pool import wake_runners

        last_wake = last_reap = 0.0
        while True:
            started = time.monotonic()
            self.ticks += 1
            try:
                await self.tick()
                if started - last_wake >= WAKE_EVERY_S:
                    last_wake = started
                    await asyncio.to_thread(wake_runners, self.settings)
                if started - last_reap >= REAP_EVERY_S:
                    last_reap = started
                    await self.reap()
            except Exception as exc:
                log.warning("scheduler_tick_failed", error=type(exc).__name__,
                            message=str(exc)[:300])
            await asyncio.sleep(max(0.05, TICK_S - (time.monotonic() - started)))


def ensure_scheduler(settings: Settings) -> Any:
    """Create (or find) the scheduler and start its loop."""
    import ray

    from cluster.jobs import driver_env

    options = names.actor_options(names.SCHEDULER, settings.actor_namespace,
                                  max_concurrency=8)
    options.update(max_task_retries=0, runtime_env={"env_vars": driver_env(settings)})
    handle = ray.remote(SchedulerActor).options(**options).remote()
    handle.start.remote()  # type: ignore[attr-defined]
    return handle


def ensure_job_actors(settings: Settings) -> None:
    """The runner pool (when platform jobs run warm) and the scheduler."""
    from actors.runner.pool import ensure_pool

    if settings.job_runner == "warm":
        ensure_pool(settings)
    ensure_scheduler(settings)
