"""User accounts: creation, lookup, updates, deletion, password login."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from cluster.models import RefreshToken, Role, User
from cluster.passwords import password_problem
from cluster.security import hash_password, verify_password
from deployments.api.problems import ApiError, not_found
from deployments.api.schemas import UserCreate, UserUpdate


async def create_user(*, session: AsyncSession, user_create: UserCreate) -> User:
    if await get_user_by_email(session=session, email=user_create.email) is not None:
        raise ApiError(409, f"A user with email {user_create.email} already exists")
    password_hash = await asyncio.to_thread(hash_password, user_create.password)
    user = User(email=user_create.email, password_hash=password_hash, role=user_create.role.value,
                is_active=True)
    session.add(user)
    try:
        await session.flush()
    except IntegrityError:
        await session.rollback()
        raise ApiError(409, f"A user with email {user_create.email} already exists") from None
    return user


async def get_user_by_email(*, session: AsyncSession, email: str) -> User | None:
    return (
        await session.execute(select(User).where(func.lower(User.email) == email.lower()))
    ).scalar_one_or_none()


async def get_user(*, session: AsyncSession, user_id: uuid.UUID) -> User:
    user = await session.get(User, user_id)
    if user is None:
        raise not_found("User")
    return user


async def list_users(*, session: AsyncSession, limit: int, offset: int) -> tuple[list[User], int]:
    rows = await session.scalars(select(User).order_by(User.created_at, User.id)
                                 .limit(limit).offset(offset))
    total = await session.scalar(select(func.count()).select_from(User))
    return list(rows), int(total or 0)


async def _active_admins(session: AsyncSession) -> int:
    return int(await session.scalar(
        select(func.count()).select_from(User)
        .where(User.role == Role.admin.value, User.is_active.is_(True))
    ) or 0)


async def update_user(*, session: AsyncSession, user: User, user_update: UserUpdate) -> list[str]:
    """Apply the update; return the names of the fields that changed."""
    changes = user_update.model_dump(exclude_unset=True)
    loses_admin = user.role == Role.admin.value and user.is_active and (
        changes.get("role", Role.admin) != Role.admin or changes.get("is_active") is False
    )
    if loses_admin and await _active_admins(session) <= 1:
        raise ApiError(409, "This is the last active admin; promote another admin first")
    changed: list[str] = []
    if changes.get("email") is not None and changes["email"] != user.email:
        other = await get_user_by_email(session=session, email=changes["email"])
        if other is not None and other.id != user.id:
            raise ApiError(409, f"A user with email {changes['email']} already exists")
        user.email = changes["email"]
        changed.append("email")
    if changes.get("password") is not None:
        problem = password_problem(changes["password"], user.email)
        if problem:
            raise ApiError(422, "The password is refused", title="Unprocessable Content",
                           errors=[{"loc": ["body", "password"], "msg": problem}])
        user.password_hash = await asyncio.to_thread(hash_password, changes["password"])
        changed.append("password")
    if changes.get("role") is not None and changes["role"] != user.role:
        user.role = Role(changes["role"]).value
        changed.append("role")
    if changes.get("is_active") is not None and changes["is_active"] != user.is_active:
        user.is_active = bool(changes["is_active"])
        changed.append("is_active")
    if {"password", "is_active"} & set(changed):
        # A new password or a deactivation ends every session of the user.
        await revoke_refresh_tokens(session=session, user_id=user.id)
    return changed


async def delete_user(*, session: AsyncSession, user: User) -> None:
    if user.role == Role.admin.value and user.is_active and await _active_admins(session) <= 1:
        raise ApiError(409, "This is the last active admin; promote another admin first")
    await session.delete(user)


async def revoke_refresh_tokens(*, session: AsyncSession, user_id: uuid.UUID) -> None:
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=datetime.now(UTC))
    )


async def authenticate(*, session: AsyncSession, email: str, password: str) -> User | None:
    """Return the active user whose password matches; same cost whether or not they exist."""
    user = await get_user_by_email(session=session, email=email)
    ok = await asyncio.to_thread(verify_password, password, user.password_hash if user else None)
    if user is None or not ok or not user.is_active:
        return None
    return user
