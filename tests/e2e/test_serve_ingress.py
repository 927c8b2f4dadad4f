"""Helio's real Serve application on the shared Ray session, over HTTP on loopback."""

from __future__ import annotations

import uuid

import httpx
import pytest

from cluster.migrate import upgrade
from cluster.models import Role
from deployments.app import build_app
from tests.conftest import TEST_SECRET, bearer
from tests.ray_session import kill_helio_actors


@pytest.fixture(scope="session")
def database_url(sqlite_url: str) -> str:
    """SQLite, the embedded default, gets a Serve app of its own here; PostgreSQL is the
    session's shared deployment (tests/stack.py)."""
    upgrade(sqlite_url)
    return sqlite_url


@pytest.fixture
async def served(serve_http_port, database_url, tmp_path, db):
    from ray import serve

    name = f"helio-{uuid.uuid4().hex[:6]}"
    prefix = f"/{name}"
    namespace = f"helio-test-{uuid.uuid4().hex[:8]}"
    app = build_app({"settings": {"database_url": database_url, "jwt_secret": TEST_SECRET,
                                  "home": str(tmp_path / "home"), "actor_namespace": namespace,
                                  "job_runners": 1}})
    serve.run(app, name=name, route_prefix=prefix, blocking=False)
    # Wait until the replica answers (serve.run returns once the app is deployed).
    base = f"http://127.0.0.1:{serve_http_port}{prefix}"
    try:
        yield base
    finally:
        serve.delete(name)
        kill_helio_actors(namespace)


async def test_login_and_me_over_http_on_sqlite(served, db):
    await _login_and_me(served, db)


async def test_login_and_me_over_http_on_postgresql(stack, stack_sessions):
    await _login_and_me(stack.base, stack_sessions)


async def _login_and_me(base: str, sessions) -> None:
    from tests.conftest import Users

    email = f"serve-user-{uuid.uuid4().hex[:8]}@example.com"
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        users = Users(sessions, http)
        await users.create(Role.analyst, email=email)
        tokens = await users.login(email)
        me = await http.get("/api/v1/users/me", headers=bearer(tokens["access_token"]))
        assert me.status_code == 200 and me.json()["email"] == email
        assert len(me.headers.get_list("x-request-id")) == 1

        missing = await http.get("/api/v1/does-not-exist",
                                 headers={"X-Request-ID": "e2e-request-0001"})
        assert missing.status_code == 404
        assert missing.headers["content-type"].startswith("application/problem+json")
        assert missing.json()["request_id"] == "e2e-request-0001"
        assert missing.headers.get_list("x-request-id") == ["e2e-request-0001"]

        invalid = await http.post("/api/v1/users", headers=bearer(tokens["access_token"]),
                                  json={"email": "x"})
        assert invalid.status_code == 403  # analysts may not create users: the role check first
        admin = await users.create(Role.admin)
        admin_token = (await users.login(admin.email))["access_token"]
        invalid = await http.post("/api/v1/users", headers=bearer(admin_token),
                                  json={"email": "x"})
        assert invalid.status_code == 422
        body = invalid.json()
        assert body["request_id"] == invalid.headers["x-request-id"]
        assert {tuple(e["loc"]) for e in body["errors"]} >= {("body", "email"),
                                                             ("body", "password")}

        ready = await http.get("/api/v1/ready")
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"] == {"database": "ok", "cache": "ok",
                                          "rate_limiter": "ok", "ray": "ok"}
