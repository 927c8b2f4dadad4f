"""Schedules: recurring pipelines, trainings, profiles, query refreshes and index rebuilds
(cron in a time zone, or an interval; Kubernetes CronJob's concurrency and missed-run
policies). The scheduler actor fires them; each run is an ordinary job. Rules and
timing: cluster/catalog/schedules.py."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from cluster.catalog import schedules as catalog_schedules
from cluster.catalog.datasets import find_dataset
from cluster.models import Pipeline, Schedule, TextIndex, utcnow
from deployments.api.deps import ContextDep, CurrentPrincipal, SessionDep
from deployments.api.permissions import require_owner
from deployments.api.principals import Principal
from deployments.api.problems import ApiError, not_found
from deployments.api.routes.pipelines import _check_sink, validate_spec
from deployments.api.schemas import (
    Limit,
    Offset,
    ScheduleCreate,
    SchedulePublic,
    SchedulesPublic,
    ScheduleUpdate,
)
from deployments.api.services import datasets
from deployments.api.services import models as model_service

router = APIRouter(prefix="/schedules", tags=["schedules"])
TIMING = ("cron", "timezone", "interval_s")


def _public(schedule: Schedule) -> SchedulePublic:
    public = SchedulePublic.model_validate(schedule)
    public.upcoming = catalog_schedules.upcoming(schedule)
    return public


def _timing_error(exc: catalog_schedules.ScheduleError) -> ApiError:
    return datasets.invalid(["body", exc.field], str(exc))


async def _target(session: AsyncSession, principal: Principal, kind: str,
                  target: dict[str, Any]) -> dict[str, Any]:
    """Check the target as starting the job now would, with the same ownership rules;
    the target as stored."""
    loc = ["body", "target"]

    def field(name: str) -> str:
        value = target.get(name)
        if not isinstance(value, str) or not value:
            raise datasets.invalid([*loc, name], f"`{name}` is required for a {kind} schedule")
        return value

    def as_uuid(name: str) -> uuid.UUID:
        try:
            return uuid.UUID(field(name))
        except ValueError:
            raise datasets.invalid([*loc, name], "not a valid id") from None

    if kind == "pipeline":
        pipeline = await session.get(Pipeline, as_uuid("pipeline_id"))
        if pipeline is None:
            raise datasets.invalid([*loc, "pipeline_id"], "pipeline not found")
        require_owner(principal, pipeline, "pipeline")
        spec = await validate_spec(session, pipeline.spec, ("spec",))
        await _check_sink(session, principal, spec)
        return {"pipeline_id": str(pipeline.id)}
    if kind == "text_index":
        index = await session.get(TextIndex, as_uuid("index_id"))
        if index is None:
            raise datasets.invalid([*loc, "index_id"], "text index not found")
        require_owner(principal, index, "text index")
        return {"index_id": str(index.id)}
    if kind == "train":
        from pipelines.training import TrainSpec, check_spec

        try:
            train = TrainSpec.model_validate({**target, "version": None})
        except ValidationError as exc:
            raise ApiError(422, "The training spec is invalid", title="Unprocessable Content",
                           errors=[{"loc": [*loc, *map(str, e["loc"])], "msg": e["msg"]}
                                   for e in exc.errors(include_url=False)]) from None
        require_owner(principal, await model_service.find_model(session, train.model), "model")
        dataset = await find_dataset(session, train.dataset)
        if dataset is None:
            raise datasets.invalid([*loc, "dataset"], f"dataset '{train.dataset}' not found")
        row = await datasets.require_version(session, dataset, None)
        from pipelines.tables import schema_map

        problems = check_spec(train, schema_map(row.columns))
        if problems:
            raise ApiError(422, problems[0][1], title="Unprocessable Content",
                           errors=[{"loc": [*loc, *map(str, p)], "msg": m} for p, m in problems])
        stored = train.model_dump(mode="json")
        stored["dataset_id"] = str(dataset.id)
        return stored
    ref = field("dataset")
    dataset = await find_dataset(session, ref)
    if dataset is None:
        raise datasets.invalid([*loc, "dataset"], f"dataset '{ref}' not found")
    if kind == "profile":
        require_owner(principal, dataset, "dataset")
        return {"dataset_id": str(dataset.id)}
    from pipelines.query import Query, validate_query
    from pipelines.spec import SpecError
    from pipelines.tables import schema_map

    row = await datasets.require_version(session, dataset, None)
    try:
        query = Query.model_validate(target.get("query"))
        validate_query(query, schema_map(row.columns))
    except ValidationError as exc:
        raise ApiError(422, "The query is invalid", title="Unprocessable Content",
                       errors=[{"loc": [*loc, "query", *map(str, e["loc"])], "msg": e["msg"]}
                               for e in exc.errors(include_url=False)]) from None
    except SpecError as exc:
        raise datasets.spec_error(exc, ("body", "target", "query")) from None
    return {"dataset_id": str(dataset.id), "query": query.model_dump(mode="json",
                                                                     by_alias=True)}


async def _commit_named(session: AsyncSession, name: str) -> None:
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        raise ApiError(409, f"A schedule named '{name}' already exists") from None


@router.post("", response_model=SchedulePublic, status_code=201)
async def create_schedule(body: ScheduleCreate, ctx: ContextDep, session: SessionDep,
                          principal: CurrentPrincipal) -> SchedulePublic:
    """Run a pipeline, training, profile, query or index rebuild on a schedule, as its
    creator. The target is checked now as starting it would be (422 names the field, 403
    when it is someone else's); each run uses the target as it is then (the pipeline as
    edited since, the dataset's latest version)."""
    try:
        catalog_schedules.check_timing(body.cron, body.interval_s, body.timezone)
    except catalog_schedules.ScheduleError as exc:
        raise _timing_error(exc) from None
    target = await _target(session, principal, body.kind, body.target)
    schedule = Schedule(id=uuid.uuid4(), owner_id=principal.user_id, target=target,
                        created_at=utcnow(),
                        **body.model_dump(exclude={"target"}))
    schedule.next_run_at = catalog_schedules.first_run(schedule)
    session.add(schedule)
    await _commit_named(session, body.name)
    ctx.wake_runners()  # makes sure the scheduler runs
    return _public(schedule)


@router.get("", response_model=SchedulesPublic)
async def list_schedules(session: SessionDep, limit: Limit = 100,
                         offset: Offset = 0) -> SchedulesPublic:
    total = await session.scalar(select(func.count()).select_from(Schedule))
    rows = await session.scalars(select(Schedule).order_by(Schedule.name).limit(limit)
                                 .offset(offset))
    return SchedulesPublic(items=[_public(s) for s in rows], total=int(total or 0))


async def _get(session: AsyncSession, schedule_id: uuid.UUID) -> Schedule:
    schedule = await session.get(Schedule, schedule_id)
    if schedule is None:
        raise not_found("Schedule")
    return schedule


@router.get("/{schedule_id}", response_model=SchedulePublic)
async def read_schedule(schedule_id: uuid.UUID, session: SessionDep) -> SchedulePublic:
    return _public(await _get(session, schedule_id))


@router.patch("/{schedule_id}", response_model=SchedulePublic)
async def update_schedule(schedule_id: uuid.UUID, body: ScheduleUpdate, ctx: ContextDep,
                          session: SessionDep, principal: CurrentPrincipal) -> SchedulePublic:
    """Change the timing or policies, pause (`paused: true`) or resume (owner or admin).
    A new timing, or a resume, counts from now: runs missed while paused are not made up."""
    schedule = await _get(session, schedule_id)
    require_owner(principal, schedule, "schedule")
    changes = body.model_dump(exclude_unset=True)
    if "cron" in changes and changes["cron"] is not None:
        changes.setdefault("interval_s", None)
    if "interval_s" in changes and changes["interval_s"] is not None:
        changes.setdefault("cron", None)
    timing = {k: changes.get(k, getattr(schedule, k)) for k in TIMING}
    try:
        catalog_schedules.check_timing(timing["cron"], timing["interval_s"],
                                       timing["timezone"] or "UTC")
    except catalog_schedules.ScheduleError as exc:
        raise _timing_error(exc) from None
    resumed = changes.get("paused") is False and schedule.paused
    for key, value in changes.items():
        if key == "timezone" and value is None:
            continue
        setattr(schedule, key, value)
    if resumed or any(k in changes for k in TIMING):
        schedule.next_run_at = None
        schedule.next_run_at = catalog_schedules.first_run(schedule)
    await _commit_named(session, schedule.name)
    await session.refresh(schedule)
    ctx.wake_runners()
    return _public(schedule)


@router.delete("/{schedule_id}", status_code=204)
async def delete_schedule(schedule_id: uuid.UUID, session: SessionDep,
                          principal: CurrentPrincipal) -> None:
    """Delete a schedule (owner or admin); its past runs stay as jobs."""
    schedule = await _get(session, schedule_id)
    require_owner(principal, schedule, "schedule")
    await session.delete(schedule)
    await session.commit()
