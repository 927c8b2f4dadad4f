"""Usage analytics (admin): requests, errors, rate-limited requests and mean latency per
user or API key and hour."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import func, select

from cluster.models import ApiKey, UsageHourly, User
from deployments.api.deps import SessionDep
from deployments.api.problems import ApiError
from deployments.api.schemas import Limit, Offset, UsagePage, UsageRow

router = APIRouter(prefix="/usage", tags=["usage"])


@router.get("", response_model=UsagePage)
async def read_usage(
    session: SessionDep,
    since: Annotated[datetime | None, Query(description="Default: 24 hours ago")] = None,
    until: Annotated[datetime | None, Query(description="Default: now")] = None,
    user_id: uuid.UUID | None = None,
    api_key_id: uuid.UUID | None = None,
    limit: Limit = 500,
    offset: Offset = 0,
) -> UsagePage:
    """Hourly rows, newest first (counts reach the database within ~10 s)."""
    end = until or datetime.now(UTC)
    start = since or end - timedelta(hours=24)
    if start.tzinfo is None or end.tzinfo is None:
        raise ApiError(422, "since and until need a timezone (e.g. 2026-01-01T00:00:00Z)",
                       errors=[{"loc": ["query", "since" if start.tzinfo is None else "until"],
                                "msg": "timezone required"}])
    if start > end:
        raise ApiError(422, "since is after until",
                       errors=[{"loc": ["query", "since"], "msg": "after until"}])
    where = [UsageHourly.hour >= start.replace(minute=0, second=0, microsecond=0),
             UsageHourly.hour <= end]
    if user_id is not None:
        where.append(UsageHourly.user_id == user_id)
    if api_key_id is not None:
        where.append(UsageHourly.api_key_id == api_key_id)
    total = await session.scalar(select(func.count()).select_from(UsageHourly).where(*where))
    rows = await session.execute(
        select(UsageHourly, User.email, ApiKey.name)
        .outerjoin(User, User.id == UsageHourly.user_id)
        .outerjoin(ApiKey, ApiKey.id == UsageHourly.api_key_id)
        .where(*where).order_by(UsageHourly.hour.desc(), UsageHourly.requests.desc())
        .limit(limit).offset(offset))
    items = [UsageRow(hour=u.hour, user_id=u.user_id, email=email, api_key_id=u.api_key_id,
                      api_key_name=key_name, requests=u.requests, errors=u.errors,
                      rate_limited=u.rate_limited,
                      mean_latency_ms=round(u.latency_ms_sum / u.requests, 3) if u.requests else 0)
             for u, email, key_name in rows]
    return UsagePage(items=items, total=int(total or 0))
