"""Jobs: a DB row plus a Ray Job. Submission, listing, logs, cancellation."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import structlog
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

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


def job_event(job: Job) -> dict[str, Any]:
    return {"type": "job", "job": {"id": str(job.id), "kind": job.kind, "status": job.status,
                                   "progress": job.progress, "error": job.error}}


async def submit_job(
    *,
    ctx: ApiContext,
    session: AsyncSession,
    principal: Principal,
    kind: JobKind,
    spec: dict[str, Any],
    working_dir: str | None = None,
    pip: list[str] | None = None,
    num_cpus: float = 0.0,
    num_gpus: float = 0.0,
    memory: int | None = None,
    job_id: uuid.UUID | None = None,
) -> Job:
    """Insert the job row (queued), then submit its Ray Job. If Ray refuses, the job is
    recorded as failed and the caller gets 503."""
    job = Job(id=job_id or uuid.uuid4(), kind=kind.value, owner_id=principal.user_id,
              status=JobStatus.queued.value, progress=0.0, spec=spec)
    session.add(job)
    await session.commit()
    try:
        ray_job_id = await asyncio.to_thread(
            ctx.ray_jobs.submit, job.id, env=driver_env(ctx.settings),
            metadata={"helio_job_id": str(job.id), "kind": kind.value,
                      "owner": principal.email or str(principal.user_id)},
            working_dir=working_dir, pip=pip, num_cpus=num_cpus, num_gpus=num_gpus,
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
                    kind: str | None, limit: int, offset: int) -> tuple[list[Job], int]:
    query = select(Job)
    if not _visible(principal):
        query = query.where(Job.owner_id == principal.user_id)
    if status:
        query = query.where(Job.status == status)
    if kind:
        query = query.where(Job.kind == kind)
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    rows = await session.execute(query.order_by(Job.created_at.desc()).limit(limit)
                                 .offset(offset))
    return list(rows.scalars()), int(total or 0)


async def get_job(*, ctx: ApiContext, session: AsyncSession, principal: Principal,
                  job_id: uuid.UUID) -> Job:
    job = await session.get(Job, job_id)
    if job is None or (not _visible(principal) and job.owner_id != principal.user_id):
        raise not_found("Job")
    await _reconcile(ctx, session, job)
    return job


async def _reconcile(ctx: ApiContext, session: AsyncSession, job: Job) -> None:
    """A driver killed hard (OOM, node loss) cannot report; Ray's status tells us."""
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
    result = await session.execute(
        update(Job).where(Job.id == job.id, Job.status == job.status).values(
            status=final.value, finished_at=utcnow(),
            error=job.error or f"the job driver exited without reporting (Ray: {ray_status}"
            f"{': ' + message[:300] if message else ''})"))
    await session.commit()
    if getattr(result, "rowcount", 0):
        await session.refresh(job)
        await ctx.events.publish(job_event(job))


async def job_logs(*, ctx: ApiContext, job: Job) -> str:
    if job.ray_job_id is None:
        return ""
    try:
        return await asyncio.to_thread(ctx.ray_jobs.logs, job.ray_job_id)
    except Exception as exc:
        raise ApiError(503, f"Could not read the job's logs from Ray ({type(exc).__name__})") \
            from None


async def cancel_job(*, ctx: ApiContext, session: AsyncSession, principal: Principal,
                     job: Job) -> Job:
    require_owner(principal, job, "job")
    if JobStatus(job.status).terminal:
        raise ApiError(409, f"The job already ended ({job.status})")
    await session.execute(update(Job).where(
        Job.id == job.id, Job.status.in_([JobStatus.queued.value, JobStatus.running.value]))
        .values(status=JobStatus.cancelled.value, finished_at=utcnow()))
    await session.commit()
    if job.ray_job_id is not None:
        try:
            await asyncio.to_thread(ctx.ray_jobs.stop, job.ray_job_id)
        except Exception as exc:
            log.warning("job_stop_failed", job_id=str(job.id), error=type(exc).__name__)
    await session.refresh(job)
    await ctx.events.publish(job_event(job))
    return job
