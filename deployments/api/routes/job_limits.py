"""Job concurrency limits (admin): how many jobs one user, or each user of a role, may
have running at once. Over the limit, a job waits `queued` (with its position)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from sqlalchemy import delete

from cluster.catalog import jobs as catalog_jobs
from cluster.models import JobLimit, Role, User
from deployments.api.deps import ContextDep, SessionDep
from deployments.api.schemas import JobLimitEntry, JobLimitsPublic, JobLimitsUpdate
from deployments.api.services import datasets

router = APIRouter(prefix="/job-limits", tags=["job_limits"])


async def _public(ctx: ContextDep, session: SessionDep) -> JobLimitsPublic:
    limits = await catalog_jobs.limits(session, ctx.settings)
    entries = [JobLimitEntry(scope="role", key=k, max_running=v)
               for k, v in sorted(limits.per_role.items())]
    entries += [JobLimitEntry(scope="user", key=k, max_running=v)
                for k, v in sorted(limits.per_user.items())]
    return JobLimitsPublic(default_per_user=limits.default, limits=entries,
                           runners=ctx._job_actors or ctx.settings.job_runners or None)


@router.get("", response_model=JobLimitsPublic)
async def read_job_limits(ctx: ContextDep, session: SessionDep) -> JobLimitsPublic:
    """The default per user (HELIO_JOB_LIMIT_PER_USER) and the limits per role and per
    user in force (settings' HELIO_JOB_LIMITS_PER_ROLE, overridden by the admin's)."""
    return await _public(ctx, session)


@router.put("", response_model=JobLimitsPublic)
async def replace_job_limits(body: JobLimitsUpdate, ctx: ContextDep,
                             session: SessionDep) -> JobLimitsPublic:
    """Replace the admin's limits (0 holds a user's or role's jobs in the queue)."""
    for i, entry in enumerate(body.limits):
        if entry.scope == "role" and entry.key not in {r.value for r in Role}:
            raise datasets.invalid(["body", "limits", i, "key"], f"unknown role '{entry.key}'")
        if entry.scope == "user":
            try:
                user_id = uuid.UUID(entry.key)
            except ValueError:
                raise datasets.invalid(["body", "limits", i, "key"],
                                       "a user limit's key is the user's id") from None
            if await session.get(User, user_id) is None:
                raise datasets.invalid(["body", "limits", i, "key"], "no such user")
            entry.key = str(user_id)
    await session.execute(delete(JobLimit))
    for entry in body.limits:
        session.add(JobLimit(scope=entry.scope, key=entry.key, max_running=entry.max_running))
    await session.commit()
    ctx.wake_runners()
    return await _public(ctx, session)
