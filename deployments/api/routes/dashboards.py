"""Saved analytics dashboards. Updates name the version they started from (optimistic
locking): a stale edit is a 409 whose body carries the current dashboard, so a client
replaying offline edits can show the conflict instead of overwriting."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter
from pydantic import ValidationError
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cluster.models import Dashboard, Dataset
from deployments.api.deps import CurrentPrincipal, SessionDep
from deployments.api.permissions import require_owner
from deployments.api.problems import ApiError, not_found
from deployments.api.schemas import (
    ChartSpec,
    DashboardCreate,
    DashboardPublic,
    DashboardSettings,
    DashboardsPublic,
    DashboardUpdate,
    Limit,
    Offset,
)
from deployments.api.services import datasets
from pipelines.query import Query, validate_query
from pipelines.spec import SpecError
from pipelines.tables import schema_map

router = APIRouter(prefix="/dashboards", tags=["dashboards"])


async def _check_charts(session: AsyncSession, charts: list[ChartSpec]) -> None:
    """Every chart's query must be valid for its dataset's current schema."""
    seen: set[str] = set()
    for i, chart in enumerate(charts):
        loc: list[str | int] = ["body", "charts", i]
        if chart.id in seen:
            raise datasets.invalid([*loc, "id"], f"chart id '{chart.id}' appears twice")
        seen.add(chart.id)
        dataset = await session.get(Dataset, chart.dataset_id)
        if dataset is None:
            raise datasets.invalid([*loc, "dataset_id"], "dataset not found")
        row = await datasets.require_version(session, dataset, None)
        try:
            query = Query.model_validate(chart.query)
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            raise datasets.invalid([*loc, "query", *first["loc"]], first["msg"]) from None
        try:
            validate_query(query, schema_map(row.columns))
        except SpecError as exc:
            raise datasets.invalid([*loc, "query", *exc.loc], exc.message) from None


async def _check_settings(session: AsyncSession, settings: DashboardSettings | None) -> None:
    """Filters and the time range must name a column of their dataset."""
    if settings is None:
        return
    targets: list[tuple[list[str | int], uuid.UUID, str]] = [
        (["body", "settings", "filters", i], f.dataset_id, f.column)
        for i, f in enumerate(settings.filters)]
    if settings.time_range is not None:
        targets.append((["body", "settings", "time_range"], settings.time_range.dataset_id,
                        settings.time_range.column))
    for loc, dataset_id, column in targets:
        dataset = await session.get(Dataset, dataset_id)
        if dataset is None:
            raise datasets.invalid([*loc, "dataset_id"], "dataset not found")
        schema = schema_map((await datasets.require_version(session, dataset, None)).columns)
        if column not in schema:
            raise datasets.invalid([*loc, "column"],
                                   f"'{column}' is not a column of {dataset.name}; columns "
                                   f"are: {', '.join(schema)}")
        if loc[-1] == "time_range" and schema[column] not in ("date", "timestamp"):
            raise datasets.invalid([*loc, "column"],
                                   f"a time range needs a date or timestamp column; "
                                   f"'{column}' is {schema[column]}")


@router.get("", response_model=DashboardsPublic)
async def list_dashboards(session: SessionDep, limit: Limit = 100,
                          offset: Offset = 0) -> DashboardsPublic:
    total = await session.scalar(select(func.count()).select_from(Dashboard))
    rows = await session.execute(select(Dashboard).order_by(Dashboard.name)
                                 .limit(limit).offset(offset))
    return DashboardsPublic(items=[DashboardPublic.model_validate(d) for d in rows.scalars()],
                            total=int(total or 0))


@router.post("", response_model=DashboardPublic, status_code=201)
async def create_dashboard(body: DashboardCreate, session: SessionDep,
                           principal: CurrentPrincipal) -> DashboardPublic:
    await _check_charts(session, body.charts)
    await _check_settings(session, body.settings)
    dashboard = Dashboard(name=body.name, owner_id=principal.user_id, version=1,
                          charts=[c.model_dump(mode="json", exclude_none=True)
                                  for c in body.charts],
                          settings=body.settings.model_dump(mode="json"))
    session.add(dashboard)
    await session.commit()
    return DashboardPublic.model_validate(dashboard)


@router.get("/{dashboard_id}", response_model=DashboardPublic)
async def read_dashboard(dashboard_id: uuid.UUID, session: SessionDep) -> DashboardPublic:
    dashboard = await session.get(Dashboard, dashboard_id)
    if dashboard is None:
        raise not_found("Dashboard")
    return DashboardPublic.model_validate(dashboard)


@router.put("/{dashboard_id}", response_model=DashboardPublic)
async def update_dashboard(dashboard_id: uuid.UUID, body: DashboardUpdate,
                           session: SessionDep, principal: CurrentPrincipal) -> DashboardPublic:
    """Replace name, charts and (when given) settings (owner or admin). 409 (with
    `current`) when `version` is not the latest."""
    dashboard = await session.get(Dashboard, dashboard_id)
    if dashboard is None:
        raise not_found("Dashboard")
    require_owner(principal, dashboard, "dashboard")
    await _check_charts(session, body.charts)
    await _check_settings(session, body.settings)
    values: dict[str, Any] = {
        "name": body.name, "version": body.version + 1,
        "charts": [c.model_dump(mode="json", exclude_none=True) for c in body.charts]}
    if body.settings is not None:
        values["settings"] = body.settings.model_dump(mode="json")
    # Compare-and-set in one statement: two concurrent writers cannot both win.
    result = await session.execute(
        update(Dashboard).where(Dashboard.id == dashboard_id,
                                Dashboard.version == body.version)
        .values(**values).execution_options(synchronize_session=False))
    await session.commit()
    await session.refresh(dashboard)
    if getattr(result, "rowcount", 0) != 1:
        current = DashboardPublic.model_validate(dashboard).model_dump(mode="json")
        raise ApiError(409, f"The dashboard changed since version {body.version} (it is at "
                            f"version {dashboard.version}); reload it and apply the edit again",
                       title="Conflict", extra={"current": current})
    return DashboardPublic.model_validate(dashboard)


@router.delete("/{dashboard_id}", status_code=204)
async def delete_dashboard(dashboard_id: uuid.UUID, session: SessionDep,
                           principal: CurrentPrincipal) -> None:
    dashboard = await session.get(Dashboard, dashboard_id)
    if dashboard is None:
        raise not_found("Dashboard")
    require_owner(principal, dashboard, "dashboard")
    await session.delete(dashboard)
    await session.commit()
