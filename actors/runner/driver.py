"""`python -m actors.runner.driver <job-id>`: a job as its own Ray Job (a user's script,
or any job when `HELIO_JOB_RUNNER=rayjob`). It claims the job the submission was for,
runs one attempt (actors/runner/execute.py) and streams its logs while it runs. SIGTERM
(Ray's `stop_job`) cancels it: staging files are removed and nothing is published."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import threading
import uuid
from typing import Any

from actors.events import publish_from_driver
from actors.runner.common import JobCancelled
from actors.runner.execute import handler_for, run_attempt
from actors.runner.logs import FLUSH_INTERVAL_S, LogBuffer, LogWriter
from cluster.catalog import jobs as catalog_jobs
from cluster.db import create_engine, create_session_factory
from cluster.logging import configure_logging
from cluster.models import Job
from cluster.settings import Settings, load_settings


def _raise_cancelled(signum: int, frame: Any) -> None:
    raise JobCancelled(signal.Signals(signum).name)


def _claim(settings: Settings, job_id: uuid.UUID, runner: str) -> Job | None:
    async def go() -> Job | None:
        engine = create_engine(settings.resolved_database_url)
        try:
            async with create_session_factory(engine)() as session:
                return await catalog_jobs.claim(
                    session, job_id, runner=runner,
                    where={"ray_job": os.environ.get("RAY_JOB_SUBMISSION_ID"),
                           "pid": os.getpid()})
        finally:
            await engine.dispose()
    return asyncio.run(go())


def _flusher(settings: Settings, job: Job, logs: LogBuffer, done: threading.Event,
             ready: dict[str, Any]) -> None:
    async def go() -> None:
        engine = create_engine(settings.resolved_database_url)
        writer = LogWriter(create_session_factory(engine), job_id=job.id,
                           owner_id=job.owner_id, attempt=job.attempt,
                           max_bytes=settings.job_log_max_bytes,
                           publish=lambda e: publish_from_driver(e, settings.actor_namespace))
        ready.update(loop=asyncio.get_running_loop(), writer=writer)
        try:
            while not done.is_set():
                await asyncio.sleep(FLUSH_INTERVAL_S)
                await writer.flush(logs)
            await writer.flush(logs)
        finally:
            await engine.dispose()
    asyncio.run(go())


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m actors.runner.driver <job-id>", file=sys.stderr)
        return 2
    settings = load_settings()
    configure_logging(settings.log_level)
    return run_here(settings, uuid.UUID(args[0]), catalog_jobs.RAYJOB_RUNNER)


def run_here(settings: Settings, job_id: uuid.UUID, runner: str) -> int:
    """Claim the queued job `job_id` and run one attempt of it in this process (a Ray Job
    driver, or `helio run`); 0 when it succeeded."""
    job = _claim(settings, job_id, runner)
    if job is None:
        print(f"helio: job {job_id} is not queued; nothing to do", file=sys.stderr)
        return 0
    signal.signal(signal.SIGTERM, _raise_cancelled)
    signal.signal(signal.SIGINT, _raise_cancelled)
    logs, done = LogBuffer(), threading.Event()
    ready: dict[str, Any] = {}
    flusher = threading.Thread(target=_flusher, args=(settings, job, logs, done, ready),
                               name="helio-job-logs", daemon=True)
    flusher.start()

    def flush() -> None:  # before the outcome is recorded: the whole log is stored first
        if "loop" in ready:
            asyncio.run_coroutine_threadsafe(ready["writer"].flush(logs),
                                             ready["loop"]).result(30)

    try:
        status = run_attempt(settings, job, handler_for(job.kind), logs=logs, flush=flush)
    finally:
        done.set()
        flusher.join(10)
    return 0 if status == "succeeded" else 1


if __name__ == "__main__":
    sys.exit(main())
