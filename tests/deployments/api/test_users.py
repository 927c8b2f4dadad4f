from __future__ import annotations

import uuid

from sqlalchemy import select

from cluster.models import AuditLog, Role
from tests.conftest import bearer


async def test_admin_user_crud_is_audited(client, users, db):
    admin = await users.create(Role.admin, email="root@example.com")
    token = (await users.login(admin.email))["access_token"]
    h = bearer(token)

    created = await client.post("/api/v1/users", headers=h, json={
        "email": "New.Person@Example.COM", "password": "s3cret-passphrase", "role": "analyst"})
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["email"] == "New.Person@example.com" and body["role"] == "analyst"
    assert "password" not in body and "password_hash" not in body
    uid = body["id"]

    dup = await client.post("/api/v1/users", headers=h, json={
        "email": "new.person@example.com", "password": "s3cret-passphrase"})
    assert dup.status_code == 409

    listed = await client.get("/api/v1/users", headers=h, params={"limit": 1})
    assert listed.json()["total"] == 2 and len(listed.json()["items"]) == 1

    assert (await client.get(f"/api/v1/users/{uid}", headers=h)).json()["id"] == uid
    patched = await client.patch(f"/api/v1/users/{uid}", headers=h,
                                 json={"role": "viewer", "is_active": False})
    assert patched.status_code == 200 and patched.json()["role"] == "viewer"
    assert patched.json()["is_active"] is False

    assert (await client.delete(f"/api/v1/users/{uid}", headers=h)).status_code == 204
    assert (await client.get(f"/api/v1/users/{uid}", headers=h)).status_code == 404

    async with db() as session:
        actions = [r.action for r in (await session.scalars(
            select(AuditLog).where(AuditLog.action.like("user.%")).order_by(AuditLog.id))).all()]
    assert actions == ["user.create", "user.update", "user.delete"]
    audit = await client.get("/api/v1/audit", headers=h, params={"action": "user.update"})
    assert audit.status_code == 200
    assert audit.json()["items"][0]["detail"]["changed"] == ["role", "is_active"]


async def test_last_admin_is_protected(client, users):
    admin = await users.create(Role.admin)
    h = bearer((await users.login(admin.email))["access_token"])
    demote = await client.patch(f"/api/v1/users/{admin.id}", headers=h, json={"role": "viewer"})
    assert demote.status_code == 409
    assert (await client.delete(f"/api/v1/users/{admin.id}", headers=h)).status_code == 409


async def test_password_change_ends_sessions(client, users):
    admin = await users.create(Role.admin)
    h = bearer((await users.login(admin.email))["access_token"])
    target = await users.create(Role.viewer)
    tokens = await users.login(target.email)
    response = await client.patch(f"/api/v1/users/{target.id}", headers=h,
                                  json={"password": "a-brand-new-one"})
    assert response.status_code == 200
    refresh = await client.post("/api/v1/auth/refresh",
                                json={"refresh_token": tokens["refresh_token"]})
    assert refresh.status_code == 401
    await users.login(target.email, password="a-brand-new-one")


async def test_user_input_is_validated_per_field(client, users):
    h = bearer(await users.token_for(Role.admin))
    response = await client.post("/api/v1/users", headers=h, json={
        "email": "not-an-email", "password": "short", "role": "emperor", "extra": 1})
    assert response.status_code == 422
    problem = response.json()
    assert response.headers["content-type"].startswith("application/problem+json")
    locs = {tuple(e["loc"]) for e in problem["errors"]}
    assert {("body", "email"), ("body", "password"), ("body", "role"), ("body", "extra")} <= locs
    assert all(e["msg"] for e in problem["errors"])
    bad_id = await client.get("/api/v1/users/not-a-uuid", headers=h)
    assert bad_id.status_code == 422 and bad_id.json()["errors"][0]["loc"] == ["path", "user_id"]
    assert (await client.get(f"/api/v1/users/{uuid.uuid4()}", headers=h)).status_code == 404


async def test_deactivated_user_token_stops_working(client, users):
    admin_h = bearer(await users.token_for(Role.admin))
    target = await users.create(Role.analyst)
    token = (await users.login(target.email))["access_token"]
    assert (await client.get("/api/v1/users/me", headers=bearer(token))).status_code == 200
    await client.patch(f"/api/v1/users/{target.id}", headers=admin_h, json={"is_active": False})
    assert (await client.get("/api/v1/users/me", headers=bearer(token))).status_code == 401


async def test_password_policy_is_enforced_by_the_api(client, users):
    """NIST 800-63B: 12+ characters and not a common password, on create and on change."""
    h = bearer(await users.token_for(Role.admin))
    target = await users.create(Role.viewer)
    for password, why in [("password", "at least 12"), ("password1234", "commonly used"),
                          ("PASSWORD1234", "commonly used"), ("aaaaaaaaaaaaaa", "too few"),
                          ("jo.smith@example.com", "email")]:
        created = await client.post("/api/v1/users", headers=h, json={
            "email": "jo.smith@example.com", "password": password})
        assert created.status_code == 422, (password, created.text)
        errors = created.json()["errors"]
        assert errors[0]["loc"] == ["body", "password"] and why in errors[0]["msg"], errors
        own = target.email if why == "email" else password  # the user's own address
        changed = await client.patch(f"/api/v1/users/{target.id}", headers=h,
                                     json={"password": own})
        assert changed.status_code == 422, (own, changed.text)
        assert changed.json()["errors"][0]["loc"] == ["body", "password"]
    ok = await client.post("/api/v1/users", headers=h, json={
        "email": "jo.smith@example.com", "password": "tulip-harbour-nine"})
    assert ok.status_code == 201, ok.text
