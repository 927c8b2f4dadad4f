"""Passwords (argon2 via pwdlib), access JWTs (PyJWT), refresh tokens and API keys."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

import jwt
from pwdlib import PasswordHash

ACCESS_TOKEN_TYPE = "access"  # noqa: S105 - a claim value
API_KEY_PREFIX = "hk_"
REFRESH_TOKEN_PREFIX = "hr_"  # noqa: S105 - a prefix
_API_KEY_VISIBLE_CHARS = 8
_REQUIRED_CLAIMS = ["typ", "sub", "role", "exp", "iat", "nbf", "jti"]


class InvalidToken(Exception):
    """The presented credential is not a valid access token (always maps to 401)."""


@lru_cache(maxsize=1)
def _password_hasher() -> PasswordHash:
    return PasswordHash.recommended()


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    # Verified against for unknown users so login timing does not reveal which emails exist.
    return _password_hasher().hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return _password_hasher().hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    """Constant-time-ish: an unknown user (None) still costs one argon2 verification."""
    if password_hash is None:
        _password_hasher().verify(password, _dummy_hash())
        return False
    return _password_hasher().verify(password, password_hash)


@dataclass(frozen=True, slots=True)
class AccessClaims:
    subject: uuid.UUID
    role: str
    jti: str
    expires_at: datetime
    # Set on a script job's token: the job it was issued to (read-only access).
    job_id: uuid.UUID | None = None
    # Set on tokens from sign-in / refresh: the refresh-token family (the session).
    session_id: uuid.UUID | None = None


def key_id(secret: str) -> str:
    """The `kid` of a signing key: a short digest, so the header names a key without
    revealing anything about it."""
    return hashlib.sha256(b"helio-jwt-kid:" + secret.encode()).hexdigest()[:16]


class TokenSigner:
    """Issues and verifies access JWTs with a pinned algorithm. Tokens are signed with the
    current key and name it in the `kid` header; `previous` keys are still accepted, so
    the signing key can be rotated without signing anyone out."""

    def __init__(
        self, secret: str, algorithm: str, access_ttl_s: int, verified_cache_size: int = 4096,
        previous: Sequence[str] = (),
    ) -> None:
        self._secret = secret
        self._kid = key_id(secret)
        self._keys = {key_id(s): s for s in (*previous, secret)}
        self._algorithm = algorithm
        self._access_ttl = timedelta(seconds=access_ttl_s)
        # Tokens already verified, keyed by their exact bytes (signature included): a hit
        # skips the base64 + HMAC work but still enforces `exp`.
        self._verified: dict[str, AccessClaims] = {}
        self._verified_max = verified_cache_size

    @property
    def access_ttl_s(self) -> int:
        return int(self._access_ttl.total_seconds())

    def issue_access(self, *, subject: uuid.UUID, role: str, now: datetime | None = None,
                     ttl_s: int | None = None, job_id: uuid.UUID | None = None,
                     session_id: uuid.UUID | None = None) -> str:
        """An access token; with `job_id`, a script job's token: it acts for `subject`
        read-only (the authenticator caps its role at viewer) until it expires."""
        now = now or datetime.now(UTC)
        payload: dict[str, Any] = {
            "typ": ACCESS_TOKEN_TYPE,
            "sub": str(subject),
            "role": role,
            "iat": now,
            "nbf": now,
            "exp": now + (self._access_ttl if ttl_s is None else timedelta(seconds=ttl_s)),
            "jti": uuid.uuid4().hex,
        }
        if job_id is not None:
            payload["job"] = str(job_id)
        if session_id is not None:
            payload["sid"] = str(session_id)
        return jwt.encode(payload, self._secret, algorithm=self._algorithm,
                          headers={"kid": self._kid})

    def verify_access(self, token: str) -> AccessClaims:
        cached = self._verified.get(token)
        if cached is not None:
            if cached.expires_at > datetime.now(UTC):
                return cached
            del self._verified[token]
            raise InvalidToken("Signature has expired")
        claims = self._decode(token)
        if len(self._verified) >= self._verified_max:
            del self._verified[next(iter(self._verified))]
        self._verified[token] = claims
        return claims

    def _decode(self, token: str) -> AccessClaims:
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError as exc:
            raise InvalidToken(str(exc)) from exc
        # A token without `kid` predates key ids: it can only be the current key's.
        secret = self._keys.get(str(kid)) if kid is not None else self._secret
        if secret is None:
            raise InvalidToken("signed with an unknown or retired key")
        try:
            # `algorithms` is pinned: `alg: none` and algorithm confusion are rejected here.
            payload = jwt.decode(
                token,
                secret,
                algorithms=[self._algorithm],
                options={"require": _REQUIRED_CLAIMS},
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken(str(exc)) from exc
        if payload.get("typ") != ACCESS_TOKEN_TYPE:
            raise InvalidToken("not an access token")
        try:
            subject = uuid.UUID(str(payload["sub"]))
            job_id = uuid.UUID(str(payload["job"])) if "job" in payload else None
            session_id = uuid.UUID(str(payload["sid"])) if "sid" in payload else None
        except ValueError as exc:
            raise InvalidToken("malformed subject") from exc
        return AccessClaims(
            subject=subject,
            role=str(payload["role"]),
            jti=str(payload["jti"]),
            expires_at=datetime.fromtimestamp(int(payload["exp"]), UTC),
            job_id=job_id,
            session_id=session_id,
        )


def digest(secret: str) -> str:
    """SHA-256 of a high-entropy secret (refresh tokens, API keys): enough, and indexable."""
    return hashlib.sha256(secret.encode()).hexdigest()


def new_refresh_token() -> str:
    return REFRESH_TOKEN_PREFIX + secrets.token_urlsafe(32)


@dataclass(frozen=True, slots=True)
class NewApiKey:
    key: str
    prefix: str
    key_hash: str


def new_api_key() -> NewApiKey:
    body = secrets.token_urlsafe(32)
    key = API_KEY_PREFIX + body
    return NewApiKey(key=key, prefix=key[: len(API_KEY_PREFIX) + _API_KEY_VISIBLE_CHARS],
                     key_hash=digest(key))


def looks_like_api_key(credential: str) -> bool:
    return credential.startswith(API_KEY_PREFIX)
