"""One attempt of one job, the same for a warm runner and a Ray Job driver: the job's
handler runs with a JobContext; the outcome goes through the catalog (succeeded; failed
and retried while attempts are left; failed; cancelled) and out as events."""

from __future__ import annotations

import asyncio
import importlib
import threading
import traceback
from collections.abc import Callable
from typing import Any

import structlog

from actors.events import publish_from_driver
from actors.runner.common import JobCancelled, is_user_error, user_message
from actors.runner.context import JobContext
from actors.runner.logs import LogBuffer, captured
from cluster.catalog import jobs as catalog_jobs
from cluster.db import create_engine, create_session_factory
from cluster.models import Job, JobKind, JobStatus
from cluster.settings import Settings

log = structlog.get_logger("helio.job")
Handler = Callable[[JobContext, Job], dict[str, Any]]

# One module per job kind; a process imports only the kinds it runs.
HANDLER_MODULES = {
    JobKind.pipeline: "actors.runner.handlers.pipeline",
    JobKind.profile: "actors.runner.handlers.profile",
    JobKind.ingest_sql: "actors.runner.handlers.ingest_sql",
    JobKind.query: "actors.runner.handlers.query",
    JobKind.train: "actors.runner.handlers.train",
    JobKind.text_index: "actors.runner.handlers.text_index",
    JobKind.script: "actors.runner.handlers.script",
}


def handler_for(kind: str) -> Handler:
    handler: Handler = importlib.import_module(HANDLER_MODULES[JobKind(kind)]).run
    return handler


def run_attempt(settings: Settings, job: Job, handler: Handler, *, logs: LogBuffer,
                cancelled: threading.Event | None = None,
                flush: Callable[[], None] | None = None) -> str:
    """Run the handler for the claimed `job` (its `attempt` holds the job) and record the
    outcome: the job's status afterwards (`queued` when it will be retried). `flush`
    stores what the attempt printed so far; it runs before the outcome is recorded, so
    whoever sees the job end finds its whole log."""
    with asyncio.Runner() as loop:
        engine = create_engine(settings.resolved_database_url)
        sessions = create_session_factory(engine)
        ctx = JobContext(settings, job, loop, sessions, logs, cancelled)

        def record(coro: Any) -> Job | None:
            if flush is not None:
                try:
                    flush()
                except Exception as exc:  # the outcome matters more than its last lines
                    log.warning("job_log_flush_failed", job_id=str(job.id),
                                error=type(exc).__name__)

            async def go() -> Job | None:
                async with sessions() as session:
                    result: Job | None = await coro(session)
                    return result
            return loop.run(go())

        def publish(row: Job | None) -> str:
            if row is None:  # the attempt had lost the job (cancelled, or reaped)
                return JobStatus.cancelled.value
            publish_from_driver(catalog_jobs.job_event(row), settings.actor_namespace)
            return row.status

        try:
            with captured(logs):
                ctx.log(f"attempt {job.attempt} of {job.max_attempts} ({job.kind}) on "
                        f"{job.runner}")
                publish_from_driver(catalog_jobs.job_event(job), settings.actor_namespace)
                try:
                    result = handler(ctx, job)
                except JobCancelled:
                    ctx.cleanup()
                    ctx.log("cancelled")
                    return publish(record(lambda s: catalog_jobs.finish(
                        s, job.id, job.attempt, JobStatus.cancelled)))
                except Exception as exc:
                    ctx.cleanup()
                    message = user_message(exc)
                    retryable = not is_user_error(exc)
                    if retryable:
                        traceback.print_exc()
                    print(f"helio: attempt {job.attempt} failed: {message}", flush=True)
                    return publish(record(lambda s: catalog_jobs.fail_attempt(
                        s, job.id, job.attempt, error=message, retryable=retryable)))
                ctx.cleanup()
                ctx.log("succeeded")
                return publish(record(lambda s: catalog_jobs.finish(
                    s, job.id, job.attempt, JobStatus.succeeded, result=result)))
        finally:
            loop.run(engine.dispose())
