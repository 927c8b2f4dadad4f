"""Authentication layer: turns a bearer credential into a Principal.

The hot path verifies the JWT locally and reads the user / key record from a
small replica-local cache (TTL `auth_cache_ttl_s`), so a request costs no DB
query once the record is warm. Changes made through this replica are dropped
from the cache at once; other replicas see them within the TTL.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, Literal, TypeVar

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


class _TtlMap(Generic[K, V]):
    def __init__(self, ttl_s: float, max_entries: int = 10_000) -> None:
        self._ttl = ttl_s
        self._max = max_entries
        self._items: dict[K, tuple[float, V]] = {}

    def get(self, key: K) -> V | None:
        hit = self._items.get(key)
        if hit is None:
            return None
        if hit[0] < time.monotonic():
            self._items.pop(key, None)
            return None
        return hit[1]

    def put(self, key: K, value: V) -> None:
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
        self._users: _TtlMap[uuid.UUID, UserRecord | None] = _TtlMap(cache_ttl_s)
        self._keys: _TtlMap[str, KeyRecord | None] = _TtlMap(cache_ttl_s)

    async def authenticate(self, credential: str) -> Principal:
        """Raise InvalidToken unless the credential names an active principal."""
        if looks_like_api_key(credential):
            return await self._from_api_key(credential)
        claims = self._signer.verify_access(credential)
        user = await self._user(claims.subject)
        if user is None or not user.is_active:
            raise InvalidToken("user unknown or inactive")
        # The stored role wins over the token's claim, so a demotion applies at once.
        return Principal(user=user, role=user.role, via="jwt")

    async def _from_api_key(self, key: str) -> Principal:
        key_hash = digest(key)
        record = self._keys.get(key_hash)
        if record is None:
            async with self._sessions() as session:
                row = (
                    await session.execute(select(ApiKey).where(ApiKey.key_hash == key_hash))
                ).scalar_one_or_none()
            record = (
                None if row is None else
                KeyRecord(id=row.id, name=row.name, prefix=row.prefix, owner_id=row.owner_id,
                          role=Role(row.role),
                           revoked=row.revoked_at is not None)
            )
            self._keys.put(key_hash, record)
        if record is None or record.revoked:
            raise InvalidToken("API key unknown or revoked")
        owner = await self._user(record.owner_id)
        if owner is None or not owner.is_active:
            raise InvalidToken("API key owner inactive")
        return Principal(user=owner, role=record.role, via="api_key", api_key=record)

    async def _user(self, user_id: uuid.UUID) -> UserRecord | None:
        record = self._users.get(user_id)
        if record is not None:
            return record
        async with self._sessions() as session:
            row = await session.get(User, user_id)
        record = (
            None if row is None else
            UserRecord(id=row.id, email=row.email, role=Role(row.role), is_active=row.is_active,
                       created_at=row.created_at)
        )
        if record is not None:
            self._users.put(user_id, record)
        return record

    def forget_user(self, user_id: uuid.UUID) -> None:
        self._users.pop(user_id)

    def forget_keys(self) -> None:
        self._keys.clear()
