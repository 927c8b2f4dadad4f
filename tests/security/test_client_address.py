"""Attack: picking a new client address per request (password spraying, fake addresses
in the audit log) with X-Forwarded-For. Only HELIO_TRUSTED_PROXIES may set it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from cluster.db import create_engine, create_session_factory
from cluster.models import Role
from cluster.settings import Settings
from deployments.api.main import create_api
from tests.conftest import TEST_SECRET, Users, bearer
from tests.security.conftest import Team

pytestmark = [pytest.mark.postgres]


async def _failed_login(http: httpx.AsyncClient, email: str, forwarded: str) -> int:
    response = await http.post("/api/v1/auth/token", headers={"X-Forwarded-For": forwarded},
                               data={"username": email, "password": "wrong"})
    return response.status_code


async def _audited_ips(http: httpx.AsyncClient, admin: dict[str, str], email: str) -> set[str]:
    page = (await http.get("/api/v1/audit", headers=admin,
                           params={"action": "auth.login", "limit": 500})).json()
    return {e["ip"] for e in page["items"] if e["actor_email"] == email}


@pytest.mark.ray
async def test_spoofed_forwarded_for_is_ignored_through_serve(stack, team: Team, http):
    admin = await team.member(Role.admin)
    email = f"spray-{uuid.uuid4().hex[:6]}@example.com"
    for i in range(3):
        assert await _failed_login(http, email, f"203.0.113.{i}") == 401
    assert await _audited_ips(http, admin.headers, email) == {"127.0.0.1"}


@pytest.fixture
async def app_with(stack_db: str, tmp_path: Path) -> AsyncIterator[object]:
    apps = []

    def build(**overrides: object) -> object:
        settings = Settings(home=tmp_path / "home", database_url=stack_db,
                            jwt_secret=TEST_SECRET, auth_cache_ttl_s=0,
                            login_per_ip_per_minute=3, login_per_ip_burst=3,
                            login_per_account_per_minute=100, login_per_account_burst=100,
                            **overrides)
        app = create_api(settings, use_actors=False)
        apps.append(app)
        return app

    yield build
    for app in apps:
        await app.state.ctx.close()  # type: ignore[attr-defined]


async def _client(app: object, peer: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(peer, 40000))  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=transport, base_url="https://t")


async def test_the_per_address_limit_holds_whatever_the_header_says(app_with, stack_db):
    app = app_with()
    async with await _client(app, "198.51.100.7") as http:
        email = f"x-{uuid.uuid4().hex[:6]}@example.com"
        codes = [await _failed_login(http, email, f"192.0.2.{i}") for i in range(5)]
    assert codes[:3] == [401, 401, 401] and codes[3:] == [429, 429], codes


async def test_a_trusted_proxy_names_the_client(app_with, stack_db):
    app = app_with(trusted_proxies=["10.0.0.0/8"])
    engine = create_engine(stack_db)
    try:
        async with await _client(app, "10.1.2.3") as http:
            users = Users(create_session_factory(engine), http)
            admin = bearer(await users.token_for(Role.admin))
            email = f"p-{uuid.uuid4().hex[:6]}@example.com"
            # The client forged the left entry; the proxy appended the real address.
            assert await _failed_login(http, email, "6.6.6.6, 198.51.100.9") == 401
            # A chain of trusted proxies is skipped from the right.
            assert await _failed_login(http, email, "198.51.100.10, 10.9.9.9") == 401
            assert await _audited_ips(http, admin, email) == {"198.51.100.9", "198.51.100.10"}
        async with await _client(app, "198.51.100.50") as http:
            # Not a trusted peer: its header is ignored.
            assert await _failed_login(http, email, "10.0.0.1") == 401
            assert "198.51.100.50" in await _audited_ips(http, admin, email)
    finally:
        await engine.dispose()


def test_trusted_proxies_setting_is_validated():
    with pytest.raises(ValueError):
        Settings(trusted_proxies="10.0.0.0/8, not-an-address")
    assert Settings(trusted_proxies="127.0.0.1, 10.0.0.0/8").trusted_proxies == [
        "127.0.0.1", "10.0.0.0/8"]
