"""Jobs through the API: a row in the catalog's queue (platform jobs, taken by the warm
runner) or a Ray Job (user scripts, or everything with `HELIO_JOB_RUNNER=rayjob`);
listing with queue positions, logs, cancellation. The lifecycle itself is
cluster/catalog/jobs.py."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import structlog
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cluster.catalog import jobs as catalog_jobs
from cluster.jobs import driver_env
from cluster.models import Job, JobKind, JobStatus, Role, utcnow
from deployments.api.context import ApiContext
from deployments.api.permissions import require_owner
from deployments.api.principals import Principal
from deployments.api.problems import ApiError, not_found

log = structlog.get_logger("helio.jobs")

# Ray's terminal job states -> ours, for drivers that died without reporting.
_RAY_TERMINAL = {"FAILED": JobStatus.failed, "STOPPED": JobStatus.cancelled,
                 "SUCCEEDED": JobStatus.failed}
job_event = catalog_jobs.job_event


async def submit_job(
    *,
    ctx: ApiContext,
    session: AsyncSession,
    principal: Principal,
    kind: JobKind,
    spec: dict[str, Any],
    num_cpus: float = 0.0,
    num_gpus: float = 0.0,
    memory: int | None = None,
    job_id: uuid.UUID | None = None,
    priority: int = 0,
) -> Job:
    """Queue the job. A platform job waits for a warm runner (woken now); any other is
    submitted as a Ray Job, and if Ray refuses, recorded as failed with a 503."""
    warm = catalog_jobs.uses_warm_runner(ctx.settings, kind.value)
    job = await catalog_jobs.create(session, ctx.settings, kind=kind,
                                    owner_id=principal.user_id, spec=spec, priority=priority,
                                    job_id=job_id,
                                    runner=None if warm else catalog_jobs.RAYJOB_RUNNER)
    if warm:
        await ctx.events.publish(job_event(job))
        ctx.wake_runners()
        return job
    try:
        ray_job_id = await asyncio.to_thread(
            ctx.ray_jobs.submit, job.id, env=driver_env(ctx.settings),
            metadata={"helio_job_id": str(job.id), "kind": kind.value,
                      "owner": principal.email or str(principal.user_id)},
            num_cpus=num_cpus, num_gpus=num_gpus,
            memory=memory)
    except Exception as exc:
        log.warning("job_submit_failed", job_id=str(job.id), error=type(exc).__name__,
                    message=str(exc)[:300])
        job.status = JobStatus.failed.value
        job.error = f"could not submit the job to Ray: {type(exc).__name__}"
        job.finished_at = utcnow()
        await session.commit()
        raise ApiError(503, "The Ray cluster did not accept the job; try again later") from None
    job.ray_job_id = ray_job_id
    await session.commit()
    await ctx.events.publish(job_event(job))
    return job


def _visible(principal: Principal) -> bool:
    """Whether the principal sees everyone's jobs' status (admins, analysts, viewers do)."""
    return principal.role in (Role.admin, Role.analyst, Role.viewer)


def sees_details(principal: Principal, job: Job) -> bool:
    """A job's spec, result and logs: its owner's and the admins' to read."""
    return principal.role == Role.admin or job.owner_id == principal.user_id


async def list_jobs(*, session: AsyncSession, principal: Principal, status: str | None,
                    kind: str | None, limit: int, offset: int,
                    schedule_id: uuid.UUID | None = None) -> tuple[list[Job], int]:
    query = select(Job)
    if not _visible(principal):
        query = query.where(Job.owner_id == principal.user_id)
    if status:
        query = query.where(Job.status == status)
    if kind:
        query = query.where(Job.kind == kind)
    if schedule_id:
        query = query.where(Job.schedule_id == schedule_id)
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    rows = await session.execute(query.order_by(Job.created_at.desc()).limit(limit)
                                 .offset(offset))
    return list(rows.scalars()), int(total or 0)


async def positions(session: AsyncSession, rows: list[Job]) -> dict[uuid.UUID, int]:
    if not any(job.status == JobStatus.queued.value for job in rows):
        return {}
    return await catalog_jobs.positions(session)


async def get_job(*, ctx: ApiContext, session: AsyncSession, principal: Principal,
                  job_id: uuid.UUID) -> Job:
    job = await session.get(Job, job_id)
    if job is None or (not _visible(principal) and job.owner_id != principal.user_id):
        raise not_found("Job")
    await _reconcile(ctx, session, job)
    return job


async def _reconcile(ctx: ApiContext, session: AsyncSession, job: Job) -> None:
    """A Ray Job driver killed hard (OOM, node loss) cannot report; Ray's status tells
    us. (Warm-runner attempts are reaped by their runner's restart or the scheduler.)"""
    if JobStatus(job.status).terminal or job.ray_job_id is None:
        return
    try:
        ray_status, message = await asyncio.to_thread(ctx.ray_jobs.status, job.ray_job_id)
    except Exception:
        return
    final = _RAY_TERMINAL.get(ray_status)
    if final is None:
        return
    await session.refresh(job)
    if JobStatus(job.status).terminal:
        return
    ended = await catalog_jobs.finish(
        session, job.id, None, final,
        error=job.error or f"the job driver exited without reporting (Ray: {ray_status}"
        f"{': ' + message[:300] if message else ''})")
    if ended is not None:
        await session.refresh(job)
        await ctx.events.publish(job_event(job))


async def job_logs(*, ctx: ApiContext, session: AsyncSession, job: Job,
                   after: int = -1) -> tuple[str, int]:
    """The job's stored output after chunk `after`, and the last chunk's number. A Ray Job
    from before stored logs existed is read from Ray."""
    chunks = await catalog_jobs.read_logs(session, job.id, after)
    if chunks:
        return "".join(c.text for c in chunks), chunks[-1].seq
    if after >= 0 or job.ray_job_id is None or await catalog_jobs.last_log_seq(
            session, job.id) >= 0:
        return "", after
    try:
        return await asyncio.to_thread(ctx.ray_jobs.logs, job.ray_job_id), -1
    except Exception as exc:
        raise ApiError(503, f"Could not read the job's logs from Ray ({type(exc).__name__})") \
            from None


async def cancel_job(*, ctx: ApiContext, session: AsyncSession, principal: Principal,
                     job: Job) -> Job:
    require_owner(principal, job, "job")
    if JobStatus(job.status).terminal:
        raise ApiError(409, f"The job already ended ({job.status})")
    await catalog_jobs.cancel(session, job.id)
    # A warm runner notices within a second (its heartbeat no longer holds the job); a
    # Ray Job driver is stopped (SIGTERM).
    if job.ray_job_id is not None:
        try:
            await asyncio.to_thread(ctx.ray_jobs.stop, job.ray_job_id)
        except Exception as exc:
            log.warning("job_stop_failed", job_id=str(job.id), error=type(exc).__name__)
    await session.refresh(job)
    await ctx.events.publish(job_event(job))
    return job
