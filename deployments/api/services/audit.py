"""Audit log writes and reads."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cluster.models import AuditLog


def record(
    session: AsyncSession,
    *,
    action: str,
    actor_id: uuid.UUID | None,
    actor_email: str | None,
    target: str | None = None,
    success: bool = True,
    ip: str | None = None,
    request_id: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Add an audit row to the session; it commits with the change it describes."""
    session.add(AuditLog(action=action, actor_id=actor_id, actor_email=actor_email, target=target,
                         success=success, ip=ip, request_id=request_id, detail=detail or {}))


async def list_entries(
    session: AsyncSession, *, limit: int, offset: int, action: str | None = None
) -> tuple[list[AuditLog], int]:
    query = select(AuditLog)
    count = select(func.count()).select_from(AuditLog)
    if action is not None:
        query = query.where(AuditLog.action == action)
        count = count.where(AuditLog.action == action)
    rows = await session.scalars(
        query.order_by(AuditLog.at.desc(), AuditLog.id.desc()).limit(limit).offset(offset)
    )
    return list(rows), int(await session.scalar(count) or 0)
