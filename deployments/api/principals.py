"""Authentication layer: turns a bearer credential into a Principal.

The hot path verifies the JWT locally (verified tokens are remembered) and reads the
user / key record from the replica's L1 cache, so a warm request costs no DB query and
no actor call. User and key changes made through the API invalidate the records' tags,
which reaches every replica's L1 within one poll interval.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from actors.cache import ReplicaCache
from cluster.models import ApiKey, Job, Role, User
from cluster.security import InvalidToken, TokenSigner, digest, looks_like_api_key
from deployments.api.permissions import lower_role
from deployments.api.services import tokens


class SessionEnded(InvalidToken):
    """The token is valid, but its sign-in session was signed out or revoked."""


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
    via: Literal["jwt", "api_key", "job"]
    api_key: KeyRecord | None = None
    job_id: uuid.UUID | None = None
    session_id: uuid.UUID | None = None  # the sign-in session (refresh family) of a JWT

    @property
    def user_id(self) -> uuid.UUID:
        return self.user.id

    @property
    def email(self) -> str:
        return self.user.email


JOB_STATE_TTL_S = 5.0
PRINCIPAL_L2_TTL_S = 300.0  # changes made through the API invalidate sooner, by tag


def user_tag(user_id: uuid.UUID) -> str:
    return f"user:{user_id}"


def session_tag(session_id: uuid.UUID) -> str:
    return f"session:{session_id}"


API_KEYS_TAG = "api_keys"


class Authenticator:
    """Resolves credentials; user and key records come from the shared cache
    (replica L1 -> CacheActor -> Redis) and only on a miss from the database."""

    def __init__(
        self,
        *,
        signer: TokenSigner,
        sessions: async_sessionmaker[AsyncSession],
        cache: ReplicaCache,
        cache_ttl_s: float,
    ) -> None:
        self._signer = signer
        self._sessions = sessions
        self._cache = cache
        self._use_cache = cache_ttl_s > 0
        self._l1_ttl = cache_ttl_s

    async def authenticate(self, credential: str) -> Principal:
        """Raise InvalidToken unless the credential names an active principal."""
        if looks_like_api_key(credential):
            return await self._from_api_key(credential)
        claims = self._signer.verify_access(credential)
        user = await self._user(claims.subject)
        if user is None or not user.is_active:
            raise InvalidToken("user unknown or inactive")
        if claims.job_id is not None:
            # A script job's token reads what its user may read, and does nothing else,
            # and only while its job runs.
            if not await self._job_running(claims.job_id, user.id):
                raise InvalidToken("the job this token was issued to has ended")
            return Principal(user=user, role=lower_role(user.role, Role.viewer), via="job",
                             job_id=claims.job_id)
        if claims.session_id is not None and not await self._session_alive(claims.session_id,
                                                                            user.id):
            # Signed out, or every session ended by a new password or a deactivation.
            raise SessionEnded("the session of this token has ended")
        # The stored role wins over the token's claim, so a demotion applies at once.
        return Principal(user=user, role=user.role, via="jwt", session_id=claims.session_id)

    async def _from_api_key(self, key: str) -> Principal:
        key_hash = digest(key)
        record: KeyRecord | None = await self._through_cache(
            f"principal:key:{key_hash}", (API_KEYS_TAG,), lambda: self._load_key(key_hash),
            _key_record)
        if record is None or record.revoked:
            raise InvalidToken("API key unknown or revoked")
        owner = await self._user(record.owner_id)
        if owner is None or not owner.is_active:
            raise InvalidToken("API key owner inactive")
        # A key never outranks its owner: a demoted admin's admin key acts as the owner now.
        return Principal(user=owner, role=lower_role(record.role, owner.role), via="api_key",
                         api_key=record)

    async def _job_running(self, job_id: uuid.UUID, owner_id: uuid.UUID) -> bool:
        async def load() -> dict[str, Any] | None:
            async with self._sessions() as session:
                job = await session.get(Job, job_id)
            if job is None or job.owner_id != owner_id:
                return None
            return {"status": job.status}

        # Briefly cached: a script's requests cost no query each, and its token stops
        # working within seconds of the job's end.
        record = await self._cache.cached(f"principal:job:{job_id}", JOB_STATE_TTL_S, (),
                                          load, l1_ttl_s=JOB_STATE_TTL_S) \
            if self._use_cache else await load()
        return record is not None and record["status"] in ("queued", "running")

    async def _session_alive(self, session_id: uuid.UUID, user_id: uuid.UUID) -> bool:
        async def load() -> dict[str, Any]:
            async with self._sessions() as session:
                return {"alive": await tokens.session_alive(session=session,
                                                            family_id=session_id)}

        # Cached like the user record and invalidated with it (a password change or a
        # deactivation revokes every session and forgets the user) or by its own tag (a
        # sign-out), so a warm request costs no query.
        record: dict[str, Any] = await self._through_cache(
            f"principal:session:{session_id}", (user_tag(user_id), session_tag(session_id)),
            load, lambda raw: raw)
        return bool(record["alive"])

    async def _user(self, user_id: uuid.UUID) -> UserRecord | None:
        record: UserRecord | None = await self._through_cache(
            f"principal:user:{user_id}", (user_tag(user_id),), lambda: self._load_user(user_id),
            _user_record)
        return record

    async def _through_cache(
        self,
        key: str,
        tags: tuple[str, ...],
        load: Callable[[], Awaitable[Any]],
        decode: Callable[[dict[str, Any]], Any],
    ) -> Any:
        if not self._use_cache:
            raw = await load()
            return None if raw is None else decode(raw)
        return await self._cache.cached(key, PRINCIPAL_L2_TTL_S, tags, load,
                                        l1_ttl_s=self._l1_ttl, decode=decode)

    async def _load_key(self, key_hash: str) -> dict[str, Any] | None:
        async with self._sessions() as session:
            row = (
                await session.execute(select(ApiKey).where(ApiKey.key_hash == key_hash))
            ).scalar_one_or_none()
        if row is None:
            return None
        return {"id": str(row.id), "name": row.name, "prefix": row.prefix,
                "owner_id": str(row.owner_id), "role": row.role,
                "revoked": row.revoked_at is not None}

    async def _load_user(self, user_id: uuid.UUID) -> dict[str, Any] | None:
        async with self._sessions() as session:
            row = await session.get(User, user_id)
        if row is None:
            return None
        return {"id": str(row.id), "email": row.email, "role": row.role,
                "is_active": row.is_active, "created_at": row.created_at.isoformat()}

    async def forget_user(self, user_id: uuid.UUID) -> None:
        await self._cache.invalidate_tag(user_tag(user_id))

    async def forget_session(self, session_id: uuid.UUID) -> None:
        await self._cache.invalidate_tag(session_tag(session_id))

    async def forget_keys(self) -> None:
        await self._cache.invalidate_tag(API_KEYS_TAG)


def _user_record(raw: dict[str, Any]) -> UserRecord:
    return UserRecord(id=uuid.UUID(raw["id"]), email=raw["email"], role=Role(raw["role"]),
                      is_active=raw["is_active"],
                      created_at=datetime.fromisoformat(raw["created_at"]))


def _key_record(raw: dict[str, Any]) -> KeyRecord:
    return KeyRecord(id=uuid.UUID(raw["id"]), name=raw["name"], prefix=raw["prefix"],
                     owner_id=uuid.UUID(raw["owner_id"]), role=Role(raw["role"]),
                     revoked=raw["revoked"])
