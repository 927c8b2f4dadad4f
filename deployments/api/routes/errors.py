"""Error tracking (admin): unhandled exceptions with their request id and stack."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import func, select

from cluster.models import ErrorEvent
from deployments.api.deps import SessionDep
from deployments.api.schemas import ErrorEventPublic, ErrorEventsPage, Limit, Offset

router = APIRouter(prefix="/errors", tags=["errors"])


@router.get("", response_model=ErrorEventsPage)
async def list_errors(
    session: SessionDep,
    request_id: Annotated[str | None, Query(max_length=128)] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> ErrorEventsPage:
    """Newest first; `request_id` finds the one a user quoted from a 500."""
    where = [ErrorEvent.request_id == request_id] if request_id else []
    total = await session.scalar(select(func.count()).select_from(ErrorEvent).where(*where))
    rows = await session.execute(select(ErrorEvent).where(*where)
                                 .order_by(ErrorEvent.at.desc(), ErrorEvent.id.desc())
                                 .limit(limit).offset(offset))
    return ErrorEventsPage(items=[ErrorEventPublic.model_validate(e) for e in rows.scalars()],
                           total=int(total or 0))
