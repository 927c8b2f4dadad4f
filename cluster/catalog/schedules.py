"""Schedules: recurring jobs, the way Kubernetes CronJobs behave, without Kubernetes.

A schedule has a cron expression in a time zone, or a fixed interval; `next_run_at` is its
next due time (UTC). Firing is one transaction: a compare-and-set moves `next_run_at` on
from the due time the scheduler saw, and the run's job is inserted with
(schedule_id, scheduled_for) unique. A second scheduler, or the same one restarted halfway,
can therefore never fire a due time twice.

- missed policy: a due time more than `HELIO_SCHEDULE_GRACE_S` in the past (the scheduler
  was down, or the schedule was paused) is *missed*; `skip` drops missed runs, `run_once`
  fires one run for all of them (CronJob's behaviour within its starting deadline);
- concurrency policy: when a run is due while the previous run is still queued or running,
  `forbid` skips the new run, `replace` cancels the old one and starts the new one,
  `allow` starts both.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from cluster.catalog import jobs as catalog_jobs
from cluster.catalog.datasets import find_dataset
from cluster.models import Job, JobKind, JobStatus, Pipeline, Schedule, TextIndex, utcnow
from cluster.settings import Settings

KINDS = (JobKind.pipeline.value, JobKind.train.value, JobKind.profile.value,
         JobKind.query.value, JobKind.text_index.value)
CONCURRENCY = ("forbid", "allow", "replace")
MISSED = ("skip", "run_once")
MIN_INTERVAL_S = 1


class ScheduleError(ValueError):
    """A schedule that cannot work; `field` names the part at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleError("timezone", f"unknown time zone '{name}'") from None


def check_timing(cron: str | None, interval_s: int | None, timezone: str) -> None:
    from croniter import croniter

    if (cron is None) == (interval_s is None):
        raise ScheduleError("cron", "give either `cron` or `interval_s`")
    zone(timezone)
    if cron is not None and not croniter.is_valid(cron):
        raise ScheduleError("cron", f"'{cron}' is not a valid cron expression")
    if interval_s is not None and interval_s < MIN_INTERVAL_S:
        raise ScheduleError("interval_s", f"the interval is at least {MIN_INTERVAL_S} s")


def next_after(schedule: Schedule, after: datetime) -> datetime:
    """The first due time strictly after `after`."""
    if schedule.interval_s:
        step = timedelta(seconds=schedule.interval_s)
        anchor = schedule.next_run_at or schedule.created_at or after
        if anchor > after:
            return anchor
        periods = int((after - anchor) / step) + 1
        return anchor + periods * step
    from croniter import croniter

    assert schedule.cron is not None
    local = after.astimezone(zone(schedule.timezone))
    found: datetime = croniter(schedule.cron, local).get_next(datetime)
    return found.astimezone(UTC)


def upcoming(schedule: Schedule, count: int = 5) -> list[datetime]:
    """The next `count` due times (for the dashboard)."""
    if schedule.paused:
        return []
    times: list[datetime] = []
    current = schedule.next_run_at or next_after(schedule, utcnow())
    while len(times) < count:
        times.append(current)
        probe = Schedule(**{c: getattr(schedule, c) for c in (
            "cron", "timezone", "interval_s", "created_at")}, next_run_at=current)
        current = next_after(probe, current)
    return times


def first_run(schedule: Schedule, now: datetime | None = None) -> datetime:
    now = now or utcnow()
    if schedule.interval_s:
        return now + timedelta(seconds=schedule.interval_s)
    return next_after(schedule, now)


async def due(session: AsyncSession, now: datetime) -> list[Schedule]:
    rows = await session.scalars(select(Schedule).where(
        Schedule.paused.is_(False), Schedule.next_run_at.is_not(None),
        Schedule.next_run_at <= now).order_by(Schedule.next_run_at).limit(100))
    return list(rows)


async def job_spec(session: AsyncSession, schedule: Schedule) -> dict[str, Any]:
    """The spec of this schedule's next run, from the current state of its target (the
    saved pipeline as edited since, the dataset's latest version)."""
    target = schedule.target
    if schedule.kind == JobKind.pipeline.value:
        pipeline = await session.get(Pipeline, uuid.UUID(target["pipeline_id"]))
        if pipeline is None:
            raise ScheduleError("target", "the pipeline was deleted")
        return {"pipeline": pipeline.spec, "pipeline_id": str(pipeline.id),
                "pipeline_name": pipeline.name}
    if schedule.kind == JobKind.text_index.value:
        index = await session.get(TextIndex, uuid.UUID(target["index_id"]))
        if index is None:
            raise ScheduleError("target", "the text index was deleted")
        return {"index_id": str(index.id), "dataset_id": str(index.dataset_id),
                "version": None, "column": index.column}
    dataset = await find_dataset(session, target["dataset_id"])
    if dataset is None:
        raise ScheduleError("target", "the dataset was deleted")
    spec = {k: v for k, v in target.items() if k != "dataset"}
    spec.update(dataset_id=str(dataset.id), version=None)
    return spec


async def fire(session: AsyncSession, settings: Settings, schedule: Schedule,
               now: datetime) -> tuple[str, Job | None, list[Job]]:
    """Handle one due schedule: ("fired", job, cancelled jobs) | ("skipped", None, []) |
    ("lost", None, []) when another scheduler handled this due time first."""
    due_at = schedule.next_run_at
    assert due_at is not None
    missed = now - due_at > timedelta(seconds=settings.schedule_grace_s)
    following = next_after(schedule, now)
    moved = await session.execute(
        update(Schedule).where(Schedule.id == schedule.id, Schedule.next_run_at == due_at)
        .values(next_run_at=following).execution_options(synchronize_session=False))
    if getattr(moved, "rowcount", 0) != 1:
        await session.rollback()
        return "lost", None, []
    if missed and schedule.missed_policy == "skip":
        await session.commit()
        return "skipped", None, []
    active = list(await session.scalars(select(Job).where(
        Job.schedule_id == schedule.id, Job.status.in_(catalog_jobs.ACTIVE))))
    cancelled: list[Job] = []
    if active and schedule.concurrency_policy == "forbid":
        await session.commit()
        return "skipped", None, []
    if active and schedule.concurrency_policy == "replace":
        for old in active:
            catalog_jobs.mark_cancelled(
                old, f"replaced by the schedule's run at {due_at.isoformat()}")
            cancelled.append(old)
    try:
        spec = await job_spec(session, schedule)
        error = None
    except ScheduleError as exc:
        spec, error = dict(schedule.target), str(exc)
    if schedule.kind == JobKind.text_index.value and error is None:
        await session.execute(update(TextIndex).where(
            TextIndex.id == uuid.UUID(spec["index_id"])).values(status="building"))
    job = await catalog_jobs.create(
        session, settings, kind=schedule.kind, owner_id=schedule.owner_id, spec=spec,
        priority=schedule.priority, max_attempts=schedule.max_attempts,
        retry_backoff_s=schedule.retry_backoff_s, timeout_s=schedule.timeout_s,
        schedule_id=schedule.id, scheduled_for=due_at, commit=False)
    if error is not None:
        job.status = JobStatus.failed.value
        job.error = f"the schedule could not start a run: {error}"
        job.finished_at = now
    try:
        await session.execute(update(Schedule).where(Schedule.id == schedule.id).values(
            last_run_at=now, last_job_id=job.id).execution_options(synchronize_session=False))
        await session.commit()
    except IntegrityError:
        # The unique (schedule, due time) is the last guard: a run for this due time exists.
        await session.rollback()
        return "lost", None, []
    return "fired", job, cancelled
