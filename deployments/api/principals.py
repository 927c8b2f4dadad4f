"""Authentication layer: turns a bearer credential into a Principal.

The hot path verifies the JWT locally and reads the user / key record from a
small replica-local cache (TTL `auth_cache_ttl_s`), so a request costs no DB
query once the record is warm. Changes made through this replica are dropped
from the cache at once; other replicas see them within the TTL.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cluster.models import ApiKey, Role, User
from cluster.security import InvalidToken, TokenSigner, digest, looks_like_api_key


@dataclass(frozen=True, slots=True)
class UserRecord:
    id: uuid.UUID
    email: str
    role: Role
    is_active: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class KeyRecord:
    id: uuid.UUID
    name: str
    prefix: str
    owner_id: uuid.UUID
    role: Role
    revoked: bool


@dataclass(frozen=True, slots=True)
class Principal:
    user: UserRecord
    role: Role
    via: Literal["jwt", "api_key"]
    api_key: KeyRecord | None = None

    @property
    def user_id(self) -> uuid.UUID:
        return self.user.id

    @property
    def email(self) -> str:
        return self.user.email


K = TypeVar("K")
V = TypeVar("V")


_MISS: Any = object()


class _TtlMap(Generic[K, V]):
    """A bounded map whose entries expire; concurrent misses on one key load once."""

    def __init__(self, ttl_s: float, max_entries: int = 10_000) -> None:
        self._ttl = ttl_s
        self._max = max_entries
        self._items: dict[K, tuple[float, V]] = {}
        self._loading: dict[K, asyncio.Future[V]] = {}

    async def get_or_load(self, key: K, load: Callable[[], Awaitable[V]]) -> V:
        hit = self._items.get(key)
        if hit is not None and hit[0] >= time.monotonic():
            return hit[1]
        pending = self._loading.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[V] = asyncio.get_running_loop().create_future()
        self._loading[key] = future
        try:
            value = await load()
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiters re-raise it, nobody logs it as lost
            raise
        finally:
            self._loading.pop(key, None)
        future.set_result(value)
        self._put(key, value)
        return value

    def _put(self, key: K, value: V) -> None:
        if self._ttl <= 0:
            return
        if len(self._items) >= self._max:
            self._items.clear()
        self._items[key] = (time.monotonic() + self._ttl, value)

    def pop(self, key: K) -> None:
        self._items.pop(key, None)

    def clear(self) -> None:
        self._items.clear()


class Authenticator:
    def __init__(
        self,
        *,
        signer: TokenSigner,
        sessions: async_sessionmaker[AsyncSession],
        cache_ttl_s: float,
    ) -> None:
        self._signer = signer
        self._sessions = sessions
        # Negative results (unknown user / key) are cached too, for the same short TTL.
        self._users: _TtlMap[uuid.UUID, UserRecord | None] = _TtlMap(cache_ttl_s)
        self._keys: _TtlMap[str, KeyRecord | None] = _TtlMap(cache_ttl_s)

    async def authenticate(self, credential: str) -> Principal:
        """Raise InvalidToken unless the credential names an active principal."""
        if looks_like_api_key(credential):
            return await self._from_api_key(credential)
        claims = self._signer.verify_access(credential)
        user = await self._users.get_or_load(claims.subject,
                                             lambda: self._load_user(claims.subject))
        if user is None or not user.is_active:
            raise InvalidToken("user unknown or inactive")
        # The stored role wins over the token's claim, so a demotion applies at once.
        return Principal(user=user, role=user.role, via="jwt")

    async def _from_api_key(self, key: str) -> Principal:
        key_hash = digest(key)
        record = await self._keys.get_or_load(key_hash, lambda: self._load_key(key_hash))
        if record is None or record.revoked:
            raise InvalidToken("API key unknown or revoked")
        owner = await self._users.get_or_load(record.owner_id,
                                              lambda: self._load_user(record.owner_id))
        if owner is None or not owner.is_active:
            raise InvalidToken("API key owner inactive")
        return Principal(user=owner, role=record.role, via="api_key", api_key=record)

    async def _load_key(self, key_hash: str) -> KeyRecord | None:
        async with self._sessions() as session:
            row = (
                await session.execute(select(ApiKey).where(ApiKey.key_hash == key_hash))
            ).scalar_one_or_none()
        if row is None:
            return None
        return KeyRecord(id=row.id, name=row.name, prefix=row.prefix, owner_id=row.owner_id,
                         role=Role(row.role), revoked=row.revoked_at is not None)

    async def _load_user(self, user_id: uuid.UUID) -> UserRecord | None:
        async with self._sessions() as session:
            row = await session.get(User, user_id)
        if row is None:
            return None
        return UserRecord(id=row.id, email=row.email, role=Role(row.role),
                          is_active=row.is_active, created_at=row.created_at)

    def forget_user(self, user_id: uuid.UUID) -> None:
        self._users.pop(user_id)

    def forget_keys(self) -> None:
        self._keys.clear()
