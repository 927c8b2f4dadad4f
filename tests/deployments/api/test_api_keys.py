from __future__ import annotations

from sqlalchemy import select

from cluster.models import ApiKey, AuditLog, Role
from cluster.security import digest
from tests.conftest import bearer


async def test_api_key_lifecycle(client, users, db):
    analyst = await users.create(Role.analyst)
    h = bearer((await users.login(analyst.email))["access_token"])

    created = await client.post("/api/v1/api-keys", headers=h, json={"name": "etl bot"})
    assert created.status_code == 201, created.text
    key = created.json()
    secret = key["key"]
    assert key["role"] == "app" and secret.startswith(key["prefix"])

    async with db() as session:
        row = (await session.scalars(select(ApiKey))).one()
    assert row.key_hash == digest(secret) and secret not in row.key_hash

    for headers in ({"X-API-Key": secret}, bearer(secret)):
        me = await client.get("/api/v1/users/me", headers=headers)
        assert me.status_code == 200
        assert me.json()["auth"] == "api_key" and me.json()["role"] == "app"
        assert me.json()["api_key"]["prefix"] == key["prefix"]

    listed = await client.get("/api/v1/api-keys", headers=h)
    assert listed.json()["total"] == 1 and "key" not in listed.json()["items"][0]

    assert (await client.delete(f"/api/v1/api-keys/{key['id']}", headers=h)).status_code == 204
    assert (await client.get("/api/v1/users/me", headers={"X-API-Key": secret})).status_code == 401
    async with db() as session:
        actions = [r.action for r in (await session.scalars(
            select(AuditLog).where(AuditLog.action.like("api_key.%")).order_by(AuditLog.id)))]
    assert actions == ["api_key.create", "api_key.revoke"]


async def test_only_admin_chooses_key_role(client, users):
    analyst_h = bearer(await users.token_for(Role.analyst))
    admin_h = bearer(await users.token_for(Role.admin))
    denied = await client.post("/api/v1/api-keys", headers=analyst_h,
                               json={"name": "x", "role": "admin"})
    assert denied.status_code == 403
    allowed = await client.post("/api/v1/api-keys", headers=admin_h,
                                json={"name": "ops", "role": "viewer"})
    assert allowed.status_code == 201 and allowed.json()["role"] == "viewer"


async def test_keys_are_private_to_their_owner(client, users):
    a = bearer(await users.token_for(Role.analyst))
    b = bearer(await users.token_for(Role.analyst))
    key = (await client.post("/api/v1/api-keys", headers=a, json={"name": "mine"})).json()
    assert (await client.get("/api/v1/api-keys", headers=b)).json()["total"] == 0
    assert (await client.delete(f"/api/v1/api-keys/{key['id']}", headers=b)).status_code == 404
    admin = bearer(await users.token_for(Role.admin))
    assert (await client.get("/api/v1/api-keys", headers=admin)).json()["total"] == 1


async def test_unknown_and_forged_keys_are_rejected(client, users):
    assert (await client.get("/api/v1/users/me",
                             headers={"X-API-Key": "hk_" + "A" * 43})).status_code == 401


async def test_key_of_deactivated_owner_stops_working(client, users):
    admin_h = bearer(await users.token_for(Role.admin))
    owner = await users.create(Role.analyst)
    owner_h = bearer((await users.login(owner.email))["access_token"])
    created = await client.post("/api/v1/api-keys", headers=owner_h, json={"name": "k"})
    secret = created.json()["key"]
    await client.patch(f"/api/v1/users/{owner.id}", headers=admin_h, json={"is_active": False})
    assert (await client.get("/api/v1/users/me", headers={"X-API-Key": secret})).status_code == 401
