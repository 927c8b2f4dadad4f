"""Refresh-token families: issue, rotate (with reuse detection), revoke."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cluster.models import RefreshToken, User
from cluster.security import digest, new_refresh_token


@dataclass(frozen=True)
class RotationResult:
    user: User | None
    refresh_token: str | None
    reused: bool = False


async def issue_refresh(
    *, session: AsyncSession, user_id: uuid.UUID, ttl_s: int, family_id: uuid.UUID | None = None
) -> str:
    token = new_refresh_token()
    now = datetime.now(UTC)
    session.add(RefreshToken(token_hash=digest(token), family_id=family_id or uuid.uuid4(),
                             user_id=user_id, issued_at=now,
                             expires_at=now + timedelta(seconds=ttl_s)))
    await session.flush()
    return token


async def rotate_refresh(*, session: AsyncSession, token: str, ttl_s: int) -> RotationResult:
    """Spend `token` and issue its successor in the same family.

    Presenting a token that was already spent revokes its whole family: either the
    client or an attacker holds a stolen copy, and both must sign in again.
    """
    now = datetime.now(UTC)
    row = (await session.execute(
        select(RefreshToken).where(RefreshToken.token_hash == digest(token))
    )).scalar_one_or_none()
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return RotationResult(user=None, refresh_token=None)
    # Claim the token atomically so two concurrent refreshes cannot both succeed.
    claimed = await session.execute(
        update(RefreshToken)
        .where(RefreshToken.id == row.id, RefreshToken.used_at.is_(None))
        .values(used_at=now)
    )
    if getattr(claimed, "rowcount", 0) != 1:
        await revoke_family(session=session, family_id=row.family_id)
        return RotationResult(user=None, refresh_token=None, reused=True)
    user = await session.get(User, row.user_id)
    if user is None or not user.is_active:
        return RotationResult(user=None, refresh_token=None)
    successor = await issue_refresh(session=session, user_id=user.id, ttl_s=ttl_s,
                                    family_id=row.family_id)
    return RotationResult(user=user, refresh_token=successor)


async def revoke_family(*, session: AsyncSession, family_id: uuid.UUID) -> None:
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=datetime.now(UTC))
    )


async def session_alive(*, session: AsyncSession, family_id: uuid.UUID) -> bool:
    """Whether the sign-in session still has a refresh token that was not revoked."""
    found = await session.scalar(select(RefreshToken.id).where(
        RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None)).limit(1))
    return found is not None


async def family_of(*, session: AsyncSession, token: str) -> RefreshToken | None:
    return (await session.execute(
        select(RefreshToken).where(RefreshToken.token_hash == digest(token))
    )).scalar_one_or_none()
