from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import jwt
from sqlalchemy import select

from cluster.models import AuditLog, Role
from tests.conftest import TEST_SECRET, Users, bearer


async def test_login_refresh_logout_flow(client, users, db):
    user = await users.create(Role.analyst, email="ana@example.com")
    tokens = await users.login("ana@example.com")
    assert tokens["token_type"] == "bearer" and tokens["expires_in"] > 0

    me = await client.get("/api/v1/users/me", headers=bearer(tokens["access_token"]))
    assert me.status_code == 200
    assert me.json()["email"] == "ana@example.com"
    assert me.json()["role"] == "analyst" and me.json()["auth"] == "jwt"
    assert me.json()["id"] == str(user.id)

    rotated = await client.post("/api/v1/auth/refresh",
                                json={"refresh_token": tokens["refresh_token"]})
    assert rotated.status_code == 200
    new = rotated.json()
    assert new["refresh_token"] != tokens["refresh_token"]
    me = await client.get("/api/v1/users/me", headers=bearer(new["access_token"]))
    assert me.status_code == 200

    out = await client.post("/api/v1/auth/logout", json={"refresh_token": new["refresh_token"]})
    assert out.status_code == 204
    again = await client.post("/api/v1/auth/refresh", json={"refresh_token": new["refresh_token"]})
    assert again.status_code == 401


async def test_refresh_reuse_revokes_family(client, users, db):
    user = await users.create(Role.viewer)
    first = await users.login(user.email)
    second = (await client.post("/api/v1/auth/refresh",
                                json={"refresh_token": first["refresh_token"]})).json()
    # The spent token comes back: an attacker or a confused client holds a copy.
    reuse = await client.post("/api/v1/auth/refresh",
                              json={"refresh_token": first["refresh_token"]})
    assert reuse.status_code == 401
    assert reuse.headers["content-type"].startswith("application/problem+json")
    # ...so the legitimate successor is dead too.
    successor = await client.post("/api/v1/auth/refresh",
                                  json={"refresh_token": second["refresh_token"]})
    assert successor.status_code == 401
    async with db() as session:
        rows = (await session.scalars(select(AuditLog).where(
            AuditLog.action == "auth.refresh_reuse"))).all()
    assert len(rows) == 1 and rows[0].success is False


async def test_refresh_via_cookie(client, users):
    user = await users.create(Role.viewer)
    response = await client.post("/api/v1/auth/token",
                                 data={"username": user.email, "password": "correct horse battery"})
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=strict" in cookie
    assert "Path=/api/v1/auth" in cookie
    rotated = await client.post("/api/v1/auth/refresh")  # cookie jar carries helio_refresh
    assert rotated.status_code == 200


async def test_login_failures_are_audited_and_uniform(client, users, db):
    user = await users.create(Role.viewer, email="vic@example.com")
    wrong = await client.post("/api/v1/auth/token",
                              data={"username": "vic@example.com", "password": "nope-nope"})
    unknown = await client.post("/api/v1/auth/token",
                                data={"username": "ghost@example.com", "password": "nope-nope"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["detail"] == unknown.json()["detail"]
    assert wrong.headers["www-authenticate"] == "Bearer"
    await users.login("vic@example.com")
    async with db() as session:
        rows = (await session.scalars(select(AuditLog).where(AuditLog.action == "auth.login")
                                      .order_by(AuditLog.id))).all()
    assert [(r.actor_email, r.success) for r in rows] == [
        ("vic@example.com", False), ("ghost@example.com", False), ("vic@example.com", True)]
    assert rows[2].actor_id == user.id and rows[2].ip == "127.0.0.1"


async def test_inactive_user_cannot_log_in(client, users, db):
    user = await users.create(Role.viewer)
    async with db() as session:
        row = await session.get(type(user), user.id)
        row.is_active = False
        await session.commit()
    response = await client.post("/api/v1/auth/token",
                                 data={"username": user.email, "password": "correct horse battery"})
    assert response.status_code == 401


def _forge(claims: dict, secret: str = TEST_SECRET, alg: str = "HS256") -> str:
    return jwt.encode(claims, secret, algorithm=alg)


def _claims(user_id: uuid.UUID, **over) -> dict:
    now = datetime.now(UTC)
    base = {"typ": "access", "sub": str(user_id), "role": "admin", "iat": now, "nbf": now,
            "exp": now + timedelta(minutes=5), "jti": uuid.uuid4().hex}
    base.update(over)
    return base


async def test_attacks_are_rejected_with_401(client, users):
    user = await users.create(Role.viewer)
    tokens = await users.login(user.email)
    access = tokens["access_token"]
    header, payload, signature = access.split(".")
    now = datetime.now(UTC)

    import base64
    import json

    def b64(obj: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    body = json.loads(base64.urlsafe_b64decode(payload + "=="))
    tampered_role = f"{header}.{b64({**body, 'role': 'admin'})}.{signature}"
    alg_none = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{payload}."
    cases = {
        "alg none": alg_none,
        "wrong signature": _forge(_claims(user.id), secret="another-secret-" + "y" * 40),
        "expired": _forge(_claims(user.id, iat=now - timedelta(hours=2),
                                  nbf=now - timedelta(hours=2), exp=now - timedelta(hours=1))),
        "not yet valid": _forge(_claims(user.id, nbf=now + timedelta(hours=1))),
        "refresh token as access": tokens["refresh_token"],
        "tampered role": tampered_role,
        "wrong type": _forge(_claims(user.id, typ="refresh")),
        "missing jti": _forge({k: v for k, v in _claims(user.id).items() if k != "jti"}),
        "unknown subject": _forge(_claims(uuid.uuid4())),
        "HS512 instead of HS256": _forge(_claims(user.id), alg="HS512"),
        "garbage": "not.a.jwt",
    }
    for name, token in cases.items():
        response = await client.get("/api/v1/users/me", headers=bearer(token))
        assert response.status_code == 401, name
        assert response.json()["status"] == 401, name

    malformed = [{"Authorization": "Basic dXNlcjpwYXNz"}, {"Authorization": "Bearer"},
                 {"Authorization": "Bearer a b"}, {"Authorization": ""}, {"X-API-Key": " "},
                 {"Authorization": f"Token {access}"}]
    for headers in malformed:
        response = await client.get("/api/v1/users/me", headers=headers)
        assert response.status_code == 401, headers
    assert (await client.get("/api/v1/users/me")).status_code == 401


async def test_role_comes_from_the_user_record(client, users, db):
    """A demotion applies to tokens already issued (the claim is not trusted)."""
    from cluster.models import User

    admin = await users.create(Role.admin)
    other_admin = await users.create(Role.admin)
    token = (await users.login(admin.email))["access_token"]
    assert (await client.get("/api/v1/users", headers=bearer(token))).status_code == 200
    async with db() as session:
        row = await session.get(User, admin.id)
        row.role = Role.viewer.value
        await session.commit()
    assert (await client.get("/api/v1/users", headers=bearer(token))).status_code == 403
    assert other_admin.id


async def test_rotating_the_signing_key_signs_nobody_out(settings, users, db, client):
    from deployments.api.main import create_api

    user = await users.create(Role.analyst)
    tokens = await users.login(user.email)
    from pydantic import SecretStr

    rotated = settings.model_copy(update={"jwt_secret": SecretStr("n" * 64),
                                          "jwt_previous_secrets": [settings.jwt_secret]})
    app = create_api(rotated, use_actors=False)
    try:
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50001))
        async with httpx.AsyncClient(transport=transport, base_url="https://t") as new:
            me = await new.get("/api/v1/users/me", headers=bearer(tokens["access_token"]))
            assert me.status_code == 200  # a token from before the rotation
            fresh = await new.post("/api/v1/auth/refresh",
                                   json={"refresh_token": tokens["refresh_token"]})
            assert fresh.status_code == 200
            header = jwt.get_unverified_header(fresh.json()["access_token"])
            from cluster.security import key_id

            assert header["kid"] == key_id("n" * 64)
    finally:
        await app.state.ctx.close()


async def test_logs_never_contain_passwords_tokens_or_keys(settings, users, db, capfd):
    from cluster.logging import configure_logging
    from deployments.api.main import create_api

    app = create_api(settings.model_copy(update={"access_log": True, "log_level": "DEBUG"}),
                     use_actors=False)
    configure_logging("DEBUG")
    secrets_seen: list[str] = []
    try:
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50002))
        async with httpx.AsyncClient(transport=transport, base_url="https://t") as client:
            logins = Users(db, client)
            admin = await logins.create(Role.admin, password="very-secret-password-1")
            bad = await client.post("/api/v1/auth/token", data={
                "username": admin.email, "password": "wrong-password-xyz"})
            assert bad.status_code == 401
            tokens = await logins.login(admin.email, "very-secret-password-1")
            key = (await client.post("/api/v1/api-keys", headers=bearer(tokens["access_token"]),
                                     json={"name": "k", "role": "app"})).json()["key"]
            await client.get("/api/v1/users/me", headers={"X-API-Key": key})
            await client.get("/api/v1/users/me", headers=bearer("not-a-real.jwt.token"))
            refreshed = await client.post("/api/v1/auth/refresh",
                                          json={"refresh_token": tokens["refresh_token"]})
            await client.post("/api/v1/auth/logout",
                              json={"refresh_token": refreshed.json()["refresh_token"]})
            secrets_seen = ["very-secret-password-1", "wrong-password-xyz", key,
                            tokens["access_token"], tokens["refresh_token"],
                            refreshed.json()["access_token"],
                            settings.jwt_secret.get_secret_value()]
    finally:
        await app.state.ctx.close()
    out, err = capfd.readouterr()
    logs = out + err
    assert logs.count('"event": "request"') >= 6, logs[-2000:]  # the access log ran
    for secret in secrets_seen:
        assert secret and secret not in logs
