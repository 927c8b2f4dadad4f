"""Response formatting: problem+json everywhere, request ids, body limits, hidden internals."""

from __future__ import annotations

import httpx
from fastapi import APIRouter
from pydantic import SecretStr

from deployments.api import permissions
from deployments.api.main import create_api

PROBLEM = "application/problem+json"


def _is_problem(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status and body["title"] and body["type"]
    assert body["request_id"] == response.headers["x-request-id"]
    return body


async def test_unknown_route_and_method(client):
    _is_problem(await client.get("/api/v1/nope"), 404)
    _is_problem(await client.delete("/api/v1/health"), 405)


async def test_request_id_is_echoed_when_well_formed(client):
    given = await client.get("/api/v1/health", headers={"X-Request-ID": "client-abc-123"})
    assert given.headers["x-request-id"] == "client-abc-123"
    bad = await client.get("/api/v1/health", headers={"X-Request-ID": "bad id\n<script>"})
    assert bad.headers["x-request-id"] != "bad id\n<script>"
    assert len(bad.headers["x-request-id"]) == 32
    fresh = await client.get("/api/v1/health")
    assert fresh.headers["x-request-id"] != bad.headers["x-request-id"]


async def test_body_size_limit(client, settings):
    too_big = b"{" + b" " * settings.max_request_bytes + b"}"
    _is_problem(await client.post("/api/v1/users", content=too_big,
                                  headers={"content-type": "application/json"}), 413)

    async def chunks():  # no Content-Length: the limit is enforced while streaming
        for _ in range(settings.max_request_bytes // 65536 + 2):
            yield b" " * 65536

    _is_problem(await client.post("/api/v1/auth/refresh", content=chunks(),
                                  headers={"content-type": "application/json"}), 413)


async def test_malformed_json_is_a_422_problem(client):
    body = _is_problem(await client.post("/api/v1/auth/refresh", content=b"{not json",
                                         headers={"content-type": "application/json"}), 422)
    assert body["errors"]


async def test_unhandled_exception_is_a_500_without_internals(settings, db, monkeypatch, capsys):
    app = create_api(settings, use_actors=False)
    router = APIRouter(tags=["boom"])

    @router.get("/api/v1/boom")
    async def explode() -> None:
        raise RuntimeError("secret internal detail")

    monkeypatch.setitem(permissions.PERMISSIONS, "boom-explode", permissions.PUBLIC)
    app.include_router(router)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        response = await c.get("/api/v1/boom")
    body = _is_problem(response, 500)
    assert "secret internal detail" not in response.text and "Traceback" not in response.text
    logged = capsys.readouterr().err
    assert body["request_id"] in logged and "secret internal detail" in logged
    # Error tracking: the exception is stored with its request id, route and stack, and an
    # admin finds it by the request id the client was given.
    await app.state.ctx.errors.drain()
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        from cluster.models import Role
        from tests.conftest import Users, bearer

        admin = bearer(await Users(db, c).token_for(Role.admin))
        found = (await c.get("/api/v1/errors", headers=admin,
                             params={"request_id": body["request_id"]})).json()
        assert (await c.get("/api/v1/errors", headers=bearer(
            await Users(db, c).token_for(Role.analyst)))).status_code == 403
    assert found["total"] == 1
    event = found["items"][0]
    assert event["route"] == "/api/v1/boom" and event["error_type"] == "RuntimeError"
    assert "secret internal detail" in event["message"] and "explode" in event["stack"]
    await app.state.ctx.close()


async def test_health_and_ready(client):
    assert (await client.get("/api/v1/health")).json() == {"status": "ok"}
    ready = await client.get("/api/v1/ready")
    assert ready.json()["checks"]["database"] == "ok"


async def test_ready_reports_redis(settings, db, redis_url):
    from tests.ray_session import free_port

    for url, expected in ((redis_url, "ok"), (f"redis://127.0.0.1:{free_port()}/0", None)):
        app = create_api(settings.model_copy(update={"redis_url": SecretStr(url)}),
                         use_actors=False)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://t") as c:
            ready = await c.get("/api/v1/ready")
        await app.state.ctx.close()
        checks = ready.json()["checks"]
        if expected:
            assert checks["redis"] == "ok"
        else:
            assert checks["redis"].startswith("unreachable") and ready.status_code == 503
            assert ready.json()["status"] == "not_ready"


async def test_a_nul_character_is_a_422_naming_the_field_not_a_500(client, db):
    """PostgreSQL cannot store NUL in text (found by schemathesis): bad input, on both
    backends the same answer or a normal one, never a 500."""
    from cluster.models import Role
    from tests.conftest import Users, bearer

    users = Users(db, client)
    headers = bearer(await users.token_for(Role.admin))
    listed = await client.get("/api/v1/datasets", headers=headers,
                              params={"search": "a\x00b", "limit": 5})
    assert listed.status_code in (200, 422), listed.text
    if listed.status_code == 422:
        assert _is_problem(listed, 422)["errors"][0]["loc"] == ["query", "search"]
    created = await client.post("/api/v1/dashboards", headers=headers,
                                json={"name": "nul\x00name"})
    assert created.status_code in (201, 422), created.text
    if created.status_code == 422:
        assert ["body", "name"] in [e["loc"] for e in created.json()["errors"]]
