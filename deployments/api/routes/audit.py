from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from deployments.api.deps import SessionDep
from deployments.api.schemas import AuditEntry, AuditPage, Limit, Offset
from deployments.api.services import audit

router = APIRouter(prefix="/audit", tags=["audit"])


@router.get("", response_model=AuditPage)
async def list_audit(
    session: SessionDep,
    limit: Limit = 100,
    offset: Offset = 0,
    action: Annotated[str | None, Query(max_length=64)] = None,
) -> AuditPage:
    """Newest first; filter by `action` (e.g. `auth.login`)."""
    rows, total = await audit.list_entries(session=session, limit=limit, offset=offset,
                                           action=action)
    return AuditPage(items=[AuditEntry.model_validate(r) for r in rows], total=total)
