"""API keys: created with a secret shown once, stored as a SHA-256 digest, revocable."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cluster.models import ApiKey, Role
from cluster.security import new_api_key
from deployments.api.principals import Principal
from deployments.api.problems import ApiError, not_found


async def create_api_key(
    *, session: AsyncSession, owner: Principal, name: str, role: Role
) -> tuple[ApiKey, str]:
    if owner.role != Role.admin and role != Role.app:
        raise ApiError(403, "Only an admin may create API keys with a role other than 'app'")
    generated = new_api_key()
    key = ApiKey(name=name, prefix=generated.prefix, key_hash=generated.key_hash, role=role.value,
                 owner_id=owner.user_id)
    session.add(key)
    await session.flush()
    return key, generated.key


def _visible_to(principal: Principal) -> list[ColumnElement[bool]]:
    return [] if principal.role == Role.admin else [ApiKey.owner_id == principal.user_id]


async def list_api_keys(
    *, session: AsyncSession, principal: Principal, limit: int, offset: int
) -> tuple[list[ApiKey], int]:
    where = _visible_to(principal)
    rows = await session.scalars(
        select(ApiKey).where(*where).order_by(ApiKey.created_at, ApiKey.id)
        .limit(limit).offset(offset)
    )
    total = await session.scalar(select(func.count()).select_from(ApiKey).where(*where))
    return list(rows), int(total or 0)


async def revoke_api_key(
    *, session: AsyncSession, principal: Principal, key_id: uuid.UUID
) -> ApiKey:
    key = await session.get(ApiKey, key_id)
    if key is None or (principal.role != Role.admin and key.owner_id != principal.user_id):
        raise not_found("API key")
    if key.revoked_at is None:
        key.revoked_at = datetime.now(UTC)
    return key

