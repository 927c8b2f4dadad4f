"""A job's whole life, in one place: created `queued`; ordered in the queue (priority,
then fair share between owners, then FIFO); claimed by a runner (an atomic compare-and-set
from `queued`, inside one claim lock on PostgreSQL); progress and heartbeats from the
attempt that holds it (every write names its attempt, so a stale attempt changes
nothing); logs kept with it; finished once, or its attempt failed and the job queued again
with backoff while attempts are left; cancelled while queued or running.

Callers publish `job_event(job)` themselves (the API through its event stream, runners
through the event hub); nothing here talks to Ray.
"""

from __future__ import annotations

import heapq
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from cluster.models import Job, JobKind, JobLimit, JobLog, JobStatus, User, utcnow
from cluster.settings import Settings

ACTIVE = (JobStatus.queued.value, JobStatus.running.value)
RAYJOB_RUNNER = "rayjob"
# Platform jobs the warm runner takes; script jobs are user code and go to Ray Jobs.
WARM_KINDS = frozenset(k.value for k in JobKind) - {JobKind.script.value}
# Claims are serialised on PostgreSQL so that per-user limits hold between runners.
_CLAIM_LOCK = 0x4845_4C49  # "HELI"
MAX_BACKOFF_S = 600.0
QUEUE_SCAN = 2000


def job_event(job: Job) -> dict[str, Any]:
    """The `{"type": "job"}` event of a job's current state (what every subscriber sees)."""
    return {"type": "job", "job": {
        "id": str(job.id), "kind": job.kind, "status": job.status, "progress": job.progress,
        "error": job.error, "attempt": job.attempt, "max_attempts": job.max_attempts,
        "schedule_id": str(job.schedule_id) if job.schedule_id else None}}


def uses_warm_runner(settings: Settings, kind: str) -> bool:
    return settings.job_runner == "warm" and kind in WARM_KINDS


async def create(session: AsyncSession, settings: Settings, *, kind: JobKind | str,
                 owner_id: uuid.UUID | None, spec: dict[str, Any], priority: int = 0,
                 job_id: uuid.UUID | None = None, max_attempts: int | None = None,
                 retry_backoff_s: float | None = None, timeout_s: float | None = None,
                 schedule_id: uuid.UUID | None = None,
                 scheduled_for: datetime | None = None, runner: str | None = None,
                 commit: bool = True) -> Job:
    """A new queued job with its kind's retry and timeout defaults. `runner`: the process
    that will claim it by id (a Ray Job driver, the CLI); warm runners take only jobs
    without one."""
    kind = JobKind(kind).value
    job = Job(id=job_id or uuid.uuid4(), kind=kind, owner_id=owner_id,
              status=JobStatus.queued.value, progress=0.0, spec=spec, priority=priority,
              attempt=0, attempts=[],
              max_attempts=max_attempts or settings.job_max_attempts.get(kind, 1),
              retry_backoff_s=(settings.job_retry_backoff_s if retry_backoff_s is None
                               else retry_backoff_s),
              timeout_s=timeout_s if timeout_s is not None else
              settings.job_timeouts_s.get(kind),
              schedule_id=schedule_id, scheduled_for=scheduled_for, runner=runner)
    session.add(job)
    if commit:
        await session.commit()
    return job


# ------------------------------------------------------------------ limits and order

@dataclass
class Limits:
    default: int
    per_role: dict[str, int] = field(default_factory=dict)
    per_user: dict[str, int] = field(default_factory=dict)

    def of(self, owner_id: uuid.UUID | None, role: str | None) -> int:
        if owner_id is not None and str(owner_id) in self.per_user:
            return self.per_user[str(owner_id)]
        if role is not None and role in self.per_role:
            return self.per_role[role]
        return self.default


async def limits(session: AsyncSession, settings: Settings) -> Limits:
    """Settings' limits, overridden by the admin's (`job_limits` rows)."""
    result = Limits(default=settings.job_limit_per_user, per_role=dict(
        settings.job_limits_per_role))
    for row in await session.scalars(select(JobLimit)):
        (result.per_user if row.scope == "user" else result.per_role)[row.key] = row.max_running
    return result


@dataclass
class QueuedJob:
    job_id: uuid.UUID
    owner_id: uuid.UUID | None
    role: str | None
    priority: int
    created_at: datetime
    not_before: datetime | None


@dataclass
class Usage:
    """What each owner with queued jobs is using: jobs running now, and when their latest
    job started (None if none ever did)."""
    running: dict[uuid.UUID | None, int]
    last_started: dict[uuid.UUID | None, datetime]


async def _queue(session: AsyncSession, kinds: Sequence[str] | None
                 ) -> tuple[list[QueuedJob], Usage]:
    query = (select(Job.id, Job.owner_id, User.role, Job.priority, Job.created_at,
                    Job.not_before)
             .outerjoin(User, User.id == Job.owner_id)
             .where(Job.status == JobStatus.queued.value)
             .order_by(Job.priority.desc(), Job.created_at).limit(QUEUE_SCAN))
    if kinds is not None:
        query = query.where(Job.kind.in_(list(kinds)), Job.runner.is_(None))
    queued = [QueuedJob(*row) for row in await session.execute(query)]
    running_query = select(Job.owner_id, func.count()).where(
        Job.status == JobStatus.running.value).group_by(Job.owner_id)
    running = {owner: int(n) for owner, n in await session.execute(running_query)}
    owners = {job.owner_id for job in queued} - {None}
    last_started: dict[uuid.UUID | None, datetime] = {}
    if owners:
        last_query = (select(Job.owner_id, func.max(Job.started_at))
                      .where(Job.owner_id.in_(list(owners)), Job.started_at.is_not(None))
                      .group_by(Job.owner_id))
        last_started = {owner: at for owner, at in await session.execute(last_query)
                        if at is not None}
    return queued, Usage(running, last_started)


def fair_order(queued: list[QueuedJob], usage: Usage) -> list[QueuedJob]:
    """The order queued jobs start in: higher priority first; at equal priority the owner
    with fewer jobs running goes first, then the owner whose latest job started longest ago
    (round robin: jobs this order starts count as started now, in turn); then first come,
    first served. One user's 20 jobs therefore alternate with another user's one job
    instead of running ahead of it, even when each of hers ends before the next claim."""
    by_owner: dict[uuid.UUID | None, list[QueuedJob]] = {}
    for job in queued:  # already sorted by (-priority, created_at)
        by_owner.setdefault(job.owner_id, []).append(job)
    counts = dict(usage.running)
    # Seconds since the epoch of each owner's latest start; never started sorts first, and
    # a start this order makes sorts after every real one, in the order they are made.
    latest = {owner: at.timestamp() for owner, at in usage.last_started.items()}
    turn = max([*latest.values(), utcnow().timestamp()])
    heads: list[tuple[int, int, float, datetime, str, uuid.UUID | None, int]] = []
    for owner, jobs in by_owner.items():
        first = jobs[0]
        heads.append((-first.priority, counts.get(owner, 0), latest.get(owner, float("-inf")),
                      first.created_at, str(first.job_id), owner, 0))
    heapq.heapify(heads)
    order: list[QueuedJob] = []
    while heads:
        *_, owner, index = heapq.heappop(heads)
        jobs = by_owner[owner]
        order.append(jobs[index])
        counts[owner] = counts.get(owner, 0) + 1
        turn += 1.0
        if index + 1 < len(jobs):
            nxt = jobs[index + 1]
            heapq.heappush(heads, (-nxt.priority, counts[owner], turn, nxt.created_at,
                                   str(nxt.job_id), owner, index + 1))
    return order


async def positions(session: AsyncSession) -> dict[uuid.UUID, int]:
    """Each queued job's place in the start order (1 = next)."""
    queued, usage = await _queue(session, None)
    return {job.job_id: i + 1 for i, job in enumerate(fair_order(queued, usage))}


# ------------------------------------------------------------------ claim and attempts

async def _lock_claims(session: AsyncSession) -> None:
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                              {"key": _CLAIM_LOCK})


async def claim_next(session: AsyncSession, settings: Settings, *, runner: str,
                     where: dict[str, Any] | None = None) -> Job | None:
    """Start the first queued platform job the limits allow, for `runner`: the job comes
    back `running`, its attempt counted and recorded. None when nothing may start."""
    await _lock_claims(session)
    now = utcnow()
    queued, usage = await _queue(session, sorted(WARM_KINDS))
    quota = await limits(session, settings)
    running = usage.running
    for candidate in fair_order(queued, usage):
        if candidate.not_before is not None and candidate.not_before > now:
            continue
        if running.get(candidate.owner_id, 0) >= quota.of(candidate.owner_id, candidate.role):
            continue
        job = await _start(session, candidate.job_id, runner, where or {})
        if job is not None:
            return job
    await session.commit()
    return None


async def claim(session: AsyncSession, job_id: uuid.UUID, *, runner: str,
                where: dict[str, Any] | None = None) -> Job | None:
    """Start this job (a Ray Job driver claiming the job it was submitted for)."""
    job = await _start(session, job_id, runner, where or {})
    if job is None:
        await session.commit()
    return job


async def _start(session: AsyncSession, job_id: uuid.UUID, runner: str,
                 where: dict[str, Any]) -> Job | None:
    now = utcnow()
    result = await session.execute(
        update(Job).where(Job.id == job_id, Job.status == JobStatus.queued.value)
        .values(status=JobStatus.running.value, runner=runner, attempt=Job.attempt + 1,
                progress=0.0, heartbeat_at=now, not_before=None,
                started_at=func.coalesce(Job.started_at, now))
        .execution_options(synchronize_session=False))
    if getattr(result, "rowcount", 0) != 1:
        return None
    job = await session.get(Job, job_id, populate_existing=True)
    assert job is not None
    job.attempts = [*job.attempts, {"attempt": job.attempt, "runner": runner,
                                    "started_at": now.isoformat(), **where}]
    await session.commit()
    return job


def _attempt_is(job_id: uuid.UUID, attempt: int | None) -> list[Any]:
    conditions = [Job.id == job_id, Job.status == JobStatus.running.value]
    if attempt is not None:
        conditions.append(Job.attempt == attempt)
    return conditions


async def progress(session: AsyncSession, job_id: uuid.UUID, attempt: int | None,
                   value: float) -> bool:
    result = await session.execute(update(Job).where(*_attempt_is(job_id, attempt)).values(
        progress=max(0.0, min(1.0, value)), heartbeat_at=utcnow()))
    await session.commit()
    return bool(getattr(result, "rowcount", 0))


async def heartbeat(session: AsyncSession, job_id: uuid.UUID, attempt: int) -> bool:
    """The attempt is alive; False when it no longer holds the job (cancelled, reaped)."""
    result = await session.execute(update(Job).where(*_attempt_is(job_id, attempt)).values(
        heartbeat_at=utcnow()))
    await session.commit()
    return bool(getattr(result, "rowcount", 0))


async def holds(session: AsyncSession, job_id: uuid.UUID, attempt: int | None) -> bool:
    """Whether `attempt` still holds the job (checked again right before publishing)."""
    return await session.scalar(select(func.count()).select_from(Job).where(
        *_attempt_is(job_id, attempt))) == 1


def _close_attempt(job: Job, outcome: str, error: str | None = None) -> None:
    if not job.attempts:
        return
    last = {**job.attempts[-1], "finished_at": utcnow().isoformat(), "outcome": outcome}
    if error:
        last["error"] = error[:500]
    job.attempts = [*job.attempts[:-1], last]


async def finish(session: AsyncSession, job_id: uuid.UUID, attempt: int | None,
                 status: JobStatus, *, result: dict[str, Any] | None = None,
                 error: str | None = None) -> Job | None:
    """Record the outcome of the attempt that holds the job; None if it no longer does
    (the job was cancelled or reaped meanwhile), so an outcome is recorded once."""
    # An attempt ends only the run it holds: once it timed out or was reaped, the job is
    # queued again (or ended) and a late outcome from its thread changes nothing. Without
    # an attempt (a Ray Job driver's end, reconciled from Ray) any active job ends.
    conditions = (_attempt_is(job_id, attempt) if attempt is not None
                  else [Job.id == job_id, Job.status.in_(ACTIVE)])
    values: dict[str, Any] = {"status": status.value, "finished_at": utcnow(),
                              "heartbeat_at": None}
    if status == JobStatus.succeeded:
        values.update(progress=1.0, result=result, error=None)
    elif error is not None:
        values["error"] = error[:4000]
    changed = await session.execute(update(Job).where(*conditions).values(**values)
                                    .execution_options(synchronize_session=False))
    if getattr(changed, "rowcount", 0) != 1:
        await session.commit()
        return None
    job = await session.get(Job, job_id, populate_existing=True)
    assert job is not None
    _close_attempt(job, status.value, error)
    await session.commit()
    return job


async def fail_attempt(session: AsyncSession, job_id: uuid.UUID, attempt: int | None, *,
                       error: str, retryable: bool) -> Job | None:
    """The attempt failed: queue the job again after a backoff while attempts are left
    (and the failure is worth retrying), else fail it. None if the attempt no longer
    held the job."""
    job = await session.get(Job, job_id, populate_existing=True, with_for_update=True)
    if job is None or job.status != JobStatus.running.value or (
            attempt is not None and job.attempt != attempt):
        await session.commit()
        return None
    if retryable and job.attempt < job.max_attempts:
        delay = min(MAX_BACKOFF_S, job.retry_backoff_s * 2 ** (job.attempt - 1))
        _close_attempt(job, "retrying", error)
        job.status = JobStatus.queued.value
        job.runner = None
        job.heartbeat_at = None
        job.progress = 0.0
        job.not_before = utcnow() + timedelta(seconds=delay)
        job.error = (f"attempt {job.attempt} of {job.max_attempts} failed: {error}"[:4000])
    else:
        _close_attempt(job, JobStatus.failed.value, error)
        job.status = JobStatus.failed.value
        job.finished_at = utcnow()
        job.heartbeat_at = None
        job.error = error[:4000]
    await session.commit()
    return job


async def cancel(session: AsyncSession, job_id: uuid.UUID) -> tuple[Job | None, str | None]:
    """Cancel a queued or running job: the job (None if it had ended) and the runner that
    was running it (to stop), if any."""
    job = await session.get(Job, job_id, populate_existing=True, with_for_update=True)
    if job is None or job.status not in ACTIVE:
        await session.commit()
        return None, None
    runner = job.runner if job.status == JobStatus.running.value else None
    mark_cancelled(job)
    await session.commit()
    return job, runner


def mark_cancelled(job: Job, reason: str | None = None) -> None:
    """Cancel a loaded active job inside the caller's transaction (a running attempt
    notices at its next heartbeat)."""
    _close_attempt(job, JobStatus.cancelled.value)
    job.status = JobStatus.cancelled.value
    job.finished_at = utcnow()
    job.heartbeat_at = None
    if reason:
        job.error = reason


async def held_by(session: AsyncSession, runner: str) -> list[Job]:
    """Jobs a runner holds as running (after its restart: the attempts it lost)."""
    rows = await session.scalars(select(Job).where(
        Job.status == JobStatus.running.value, Job.runner == runner))
    return list(rows)


async def stale(session: AsyncSession, older_than_s: float) -> list[Job]:
    """Running warm-runner jobs whose attempt stopped beating (its runner is gone)."""
    cutoff = utcnow() - timedelta(seconds=older_than_s)
    rows = await session.scalars(select(Job).where(
        Job.status == JobStatus.running.value, Job.runner.is_not(None),
        Job.runner != RAYJOB_RUNNER, Job.heartbeat_at < cutoff))
    return list(rows)


async def has_ready(session: AsyncSession) -> bool:
    """Whether some queued platform job may start now (a cheap check before a claim)."""
    now = utcnow()
    found = await session.scalar(select(Job.id).where(
        Job.status == JobStatus.queued.value, Job.kind.in_(sorted(WARM_KINDS)),
        (Job.not_before.is_(None)) | (Job.not_before <= now)).limit(1))
    return found is not None


# ------------------------------------------------------------------ logs

async def append_log(session: AsyncSession, job_id: uuid.UUID, attempt: int, seq: int,
                     chunk: str, *, max_bytes: int, kept_bytes: int) -> int:
    """Store one chunk of output; drop the oldest chunks once the job keeps more than
    `max_bytes`. Returns the bytes kept after this chunk."""
    session.add(JobLog(job_id=job_id, seq=seq, attempt=attempt, text=chunk))
    kept = kept_bytes + len(chunk.encode())
    if kept > max_bytes:
        rows = list(await session.execute(select(JobLog.seq, func.length(JobLog.text)).where(
            JobLog.job_id == job_id).order_by(JobLog.seq)))
        total = sum(int(n) for _, n in rows) + len(chunk)
        cut = None
        for seq_, n in rows:
            if total <= max_bytes // 2:
                break
            total -= int(n)
            cut = seq_
        if cut is not None:
            await session.execute(delete(JobLog).where(JobLog.job_id == job_id,
                                                       JobLog.seq <= cut))
        kept = total
    await session.commit()
    return kept


async def read_logs(session: AsyncSession, job_id: uuid.UUID, after: int = -1,
                    limit: int = 10_000) -> list[JobLog]:
    rows = await session.scalars(select(JobLog).where(
        JobLog.job_id == job_id, JobLog.seq > after).order_by(JobLog.seq).limit(limit))
    return list(rows)


async def last_log_seq(session: AsyncSession, job_id: uuid.UUID) -> int:
    return (await log_state(session, job_id))[0]


async def log_state(session: AsyncSession, job_id: uuid.UUID) -> tuple[int, int]:
    """The last chunk's number (-1 when none) and the bytes the job keeps."""
    seq, kept = (await session.execute(select(
        func.max(JobLog.seq), func.coalesce(func.sum(func.length(JobLog.text)), 0)).where(
        JobLog.job_id == job_id))).one()
    return (-1 if seq is None else int(seq)), int(kept)
