"""Submitting Helio jobs as Ray Jobs (`JobSubmissionClient`) and reading them back.

A Ray Job driver is `python -m actors.runner.driver <job-id>`; it reads its spec from the
job row. Settings reach the driver as `HELIO_*` variables in the job's runtime env,
except secrets (passwords in URLs, the JWT secret, SQL sources): those must be in the
cluster's own environment (KubeRay Secrets, or the shell that ran `helio up`), so they
never show in the Ray dashboard's job details.
"""

from __future__ import annotations

import json
import shlex
import sys
import time
import uuid
from typing import Any

import structlog
from sqlalchemy.engine import make_url

from cluster.settings import Settings

log = structlog.get_logger("helio.jobs")
SUBMIT_RETRY_S = 20.0

SUBMISSION_PREFIX = "helio-"
DRIVER_LIMITS = ("sandbox_max_processes", "sandbox_memory_mb", "sandbox_cpu_s",
                 "sandbox_file_mb", "sandbox_disk_mb", "sandbox_open_files", "sandbox_wall_s",
                 "query_memory_mb", "query_max_result_mb")


def _has_password(url: str) -> bool:
    try:
        return make_url(url).password is not None
    except Exception:
        return True


def driver_env(settings: Settings) -> dict[str, str]:
    """HELIO_* variables for a job driver, secrets left out (see module doc)."""
    env = {
        "HELIO_ENV": settings.env,
        "HELIO_HOME": str(settings.home),
        "HELIO_DATA_ROOT": settings.resolved_data_root,
        "HELIO_ACTOR_NAMESPACE": settings.actor_namespace,
        "HELIO_LOG_LEVEL": settings.log_level,
        # Where script jobs run and how they reach the API (cluster/sandbox.py).
        "HELIO_SCRIPT_RUNNER": settings.script_runner,
        "HELIO_RUNNER_USER": settings.runner_user,
        "HELIO_JOB_TOKEN_TTL_S": str(settings.job_token_ttl_s),
        "HELIO_INTERNAL_API_URL": settings.resolved_internal_api_url,
        "HELIO_JWT_ALGORITHM": settings.jwt_algorithm,
        "HELIO_ACCESS_TOKEN_TTL_S": str(settings.access_token_ttl_s),
        "HELIO_SQL_SOURCE_STATEMENT_TIMEOUT_S": str(settings.sql_source_statement_timeout_s),
    }
    # The limits the driver enforces on what it runs, as this process has them.
    for name in DRIVER_LIMITS:
        env[f"HELIO_{name.upper()}"] = str(getattr(settings, name))
    if settings.runner_root:
        env["HELIO_RUNNER_ROOT"] = settings.runner_root
    if settings.user_job_image:
        env["HELIO_USER_JOB_IMAGE"] = settings.user_job_image
    database_url = settings.resolved_database_url
    if not _has_password(database_url):
        env["HELIO_DATABASE_URL"] = database_url
    plain_sources = {name: url.get_secret_value() for name, url in settings.sql_sources.items()
                     if not _has_password(url.get_secret_value())}
    if plain_sources:
        env["HELIO_SQL_SOURCES"] = json.dumps(plain_sources)
    if settings.redis_url is not None:
        redis_url = settings.redis_url.get_secret_value()
        if not _has_password(redis_url):
            env["HELIO_REDIS_URL"] = redis_url
    return env


def submission_id(job_id: uuid.UUID) -> str:
    return f"{SUBMISSION_PREFIX}{job_id}"


def driver_entrypoint(job_id: uuid.UUID) -> str:
    """This interpreter (the one Helio is installed in, the same image on every node),
    isolated: `-I` ignores PYTHONPATH and the user site, and keeps the working directory off
    `sys.path`, so no file in it (a `sitecustomize.py`, a `json.py`, a package named
    `pipelines`) can be imported by the platform's driver. Users' files never reach the
    driver's directory anyway: the script handler stages them into the sandbox itself."""
    return f"{shlex.quote(sys.executable)} -I -m actors.runner.driver {job_id}"


class RayJobs:
    """A thin, lazily connected wrapper over `JobSubmissionClient` (blocking calls:
    call it from a thread)."""

    def __init__(self, address: str) -> None:
        self.address = address
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            from ray.job_submission import JobSubmissionClient

            self._client = JobSubmissionClient(self.address)
        return self._client

    def submit(self, job_id: uuid.UUID, *, env: dict[str, str],
               metadata: dict[str, str], num_cpus: float = 0.0, num_gpus: float = 0.0,
               memory: int | None = None) -> str:
        # Only environment variables: never a `working_dir` or `pip` (Ray would put a
        # user's files on the driver's import path, and run package builds as the platform).
        runtime_env: dict[str, Any] = {"env_vars": env}
        kwargs: dict[str, Any] = {}
        if num_cpus:
            kwargs["entrypoint_num_cpus"] = num_cpus
        if num_gpus:
            kwargs["entrypoint_num_gpus"] = num_gpus
        if memory:
            kwargs["entrypoint_memory"] = memory
        # The job agent can refuse for a moment (a fresh head, a busy dashboard): retry
        # transient failures briefly; a 4xx (bad runtime env, ...) is final.
        delay, deadline = 0.5, time.monotonic() + SUBMIT_RETRY_S
        while True:
            try:
                return str(self.client.submit_job(
                    entrypoint=driver_entrypoint(job_id), submission_id=submission_id(job_id),
                    runtime_env=runtime_env, metadata=metadata, **kwargs))
            except Exception as exc:
                text = str(exc)
                if "already exists" in text:  # an earlier attempt got through
                    return submission_id(job_id)
                if "status code 4" in text or time.monotonic() + delay > deadline:
                    raise
                log.info("job_submit_retry", job_id=str(job_id), error=type(exc).__name__)
                time.sleep(delay)
                delay = min(delay * 2, 4.0)

    def status(self, ray_job_id: str) -> tuple[str, str | None]:
        info = self.client.get_job_info(ray_job_id)
        return str(info.status), info.message

    def logs(self, ray_job_id: str) -> str:
        return str(self.client.get_job_logs(ray_job_id))

    def stop(self, ray_job_id: str) -> bool:
        return bool(self.client.stop_job(ray_job_id))
