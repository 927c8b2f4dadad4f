from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from cluster.security import (
    InvalidToken,
    TokenSigner,
    hash_password,
    key_id,
    new_api_key,
    verify_password,
)


def test_password_hash_roundtrip_and_unknown_user():
    h = hash_password("correct horse")
    assert h.startswith("$argon2") and verify_password("correct horse", h)
    assert not verify_password("wrong", h)
    assert not verify_password("anything", None)  # unknown user: still one verification


def test_verified_token_cache_still_enforces_expiry():
    signer = TokenSigner("s" * 64, "HS256", access_ttl_s=60)
    now = datetime.now(UTC)
    token = signer.issue_access(subject=uuid.uuid4(), role="viewer",
                                now=now - timedelta(seconds=30))
    first = signer.verify_access(token)
    assert signer.verify_access(token) is first  # served from the cache
    # Pretend time passed beyond `exp`: the cached entry must not keep the token alive.
    signer._verified[token] = type(first)(subject=first.subject, role=first.role, jti=first.jti,
                                          expires_at=now - timedelta(seconds=1))
    with pytest.raises(InvalidToken):
        signer.verify_access(token)
    with pytest.raises(InvalidToken):  # and it is gone, so the full check runs again
        TokenSigner("t" * 64, "HS256", 60).verify_access(token)


def test_cache_is_bounded():
    signer = TokenSigner("s" * 64, "HS256", access_ttl_s=60, verified_cache_size=3)
    tokens = [signer.issue_access(subject=uuid.uuid4(), role="viewer") for _ in range(5)]
    for t in tokens:
        signer.verify_access(t)
    assert len(signer._verified) == 3 and tokens[-1] in signer._verified


def test_api_keys_are_random_and_prefixed():
    a, b = new_api_key(), new_api_key()
    assert a.key != b.key and a.key.startswith(a.prefix) and a.prefix.startswith("hk_")
    assert len(a.key_hash) == 64 and a.key not in a.key_hash


def test_rotated_keys_keep_tokens_valid_until_retired():
    old = TokenSigner("o" * 64, "HS256", access_ttl_s=60)
    token = old.issue_access(subject=uuid.uuid4(), role="viewer")
    import jwt

    assert jwt.get_unverified_header(token)["kid"] == key_id("o" * 64)
    assert key_id("o" * 64) not in ("o" * 64)  # the kid reveals nothing of the key
    rotated = TokenSigner("n" * 64, "HS256", access_ttl_s=60, previous=["o" * 64])
    assert rotated.verify_access(token).role == "viewer"  # still signed in after rotation
    fresh = rotated.issue_access(subject=uuid.uuid4(), role="admin")
    assert jwt.get_unverified_header(fresh)["kid"] == key_id("n" * 64)
    retired = TokenSigner("n" * 64, "HS256", access_ttl_s=60)
    with pytest.raises(InvalidToken, match="unknown or retired key"):
        retired.verify_access(token)
    # A kid cannot pick a key it was not signed with.
    forged = jwt.encode({"sub": "x"}, "o" * 64, algorithm="HS256",
                        headers={"kid": key_id("n" * 64)})
    with pytest.raises(InvalidToken):
        rotated.verify_access(forged)
