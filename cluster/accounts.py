"""Account administration used by the CLI (first admin, `helio user create`)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import func, select

from cluster.db import create_engine, create_session_factory
from cluster.models import Role, User
from cluster.security import hash_password
from cluster.settings import Settings

DEFAULT_ADMIN_EMAIL = "admin@helio.local"


@dataclass(frozen=True)
class FirstAdmin:
    email: str
    generated_password: str | None  # shown once when Helio made it up
    created: bool


async def create_account(settings: Settings, *, email: str, password: str, role: Role) -> User:
    engine = create_engine(settings.resolved_database_url)
    try:
        async with create_session_factory(engine)() as session:
            exists = await session.scalar(
                select(User).where(func.lower(User.email) == email.lower())
            )
            if exists is not None:
                raise ValueError(f"a user with email {email} already exists")
            user = User(email=email, password_hash=hash_password(password), role=role.value,
                        is_active=True)
            session.add(user)
            await session.commit()
            return user
    finally:
        await engine.dispose()


async def ensure_first_admin(settings: Settings) -> FirstAdmin:
    """Create the first admin unless an active admin exists."""
    engine = create_engine(settings.resolved_database_url)
    try:
        async with create_session_factory(engine)() as session:
            admin = await session.scalar(
                select(User).where(User.role == Role.admin.value, User.is_active.is_(True)).limit(1)
            )
        if admin is not None:
            return FirstAdmin(email=admin.email, generated_password=None, created=False)
    finally:
        await engine.dispose()
    email = settings.admin_email or DEFAULT_ADMIN_EMAIL
    given = settings.admin_password.get_secret_value() if settings.admin_password else None
    password = given or secrets.token_urlsafe(12)
    await create_account(settings, email=email, password=password, role=Role.admin)
    return FirstAdmin(email=email, generated_password=None if given else password, created=True)
