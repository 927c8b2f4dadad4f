"""Usage analytics: requests per user / API key and hour, flushed from the replica."""

from __future__ import annotations

from cluster.models import Role
from tests.conftest import bearer


async def test_usage_is_counted_per_user_and_key(app, client, users):
    admin = bearer(await users.token_for(Role.admin))
    analyst_user = await users.create(Role.analyst)
    analyst = bearer((await users.login(analyst_user.email))["access_token"])
    key = (await client.post("/api/v1/api-keys", headers=admin,
                             json={"name": "reporting", "role": "app"})).json()
    for _ in range(3):
        assert (await client.get("/api/v1/users/me", headers=analyst)).status_code == 200
    for _ in range(2):
        await client.post("/api/v1/nlp/classify", headers={"X-API-Key": key["key"]},
                          json={"texts": []})  # 422s count as requests, not errors
    # Two replicas' worth of flushes add up (the second adds to the first's row).
    await app.state.ctx.usage.flush()
    await client.get("/api/v1/users/me", headers=analyst)
    await app.state.ctx.usage.flush()

    usage = await client.get("/api/v1/usage", headers=admin)
    assert usage.status_code == 200, usage.text
    rows = {(r["email"], r["api_key_name"]): r for r in usage.json()["items"]}
    mine = rows[(analyst_user.email, None)]
    assert mine["requests"] == 4 and mine["errors"] == 0 and mine["mean_latency_ms"] > 0
    keyed = rows[(next(e for e, k in rows if k == "reporting"), "reporting")]
    assert keyed["requests"] == 2 and keyed["api_key_id"] == key["id"]

    only_key = (await client.get("/api/v1/usage", headers=admin,
                                 params={"api_key_id": key["id"]})).json()
    assert [r["api_key_name"] for r in only_key["items"]] == ["reporting"]
    assert (await client.get("/api/v1/usage", headers=analyst)).status_code == 403
    bad = await client.get("/api/v1/usage", headers=admin, params={
        "since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["loc"] == ["query", "since"]
