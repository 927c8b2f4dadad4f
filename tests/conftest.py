"""Shared fixtures: real databases (SQLite and PostgreSQL), real Redis, one Ray session.

Set HELIO_TEST_DATABASE_URL / HELIO_TEST_REDIS_URL to run against the real services;
with HELIO_TEST_REQUIRE_SERVICES=1 (or CI=true) a missing service fails the test instead
of skipping it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, text
from sqlalchemy.engine import make_url

from cluster.db import create_engine, create_session_factory, normalize_database_url
from cluster.migrate import upgrade
from cluster.models import (
    ApiKey,
    AuditLog,
    Dashboard,
    Dataset,
    DatasetVersion,
    ErrorEvent,
    Job,
    JobLimit,
    JobLog,
    MLModel,
    ModelVersion,
    Pipeline,
    RateLimitPlan,
    RefreshToken,
    Role,
    Schedule,
    TextIndex,
    UsageHourly,
    User,
)
from cluster.security import hash_password
from cluster.settings import Settings

TEST_SECRET = "test-secret-" + "x" * 60
# Under CI nothing may skip: a missing service fails the test.
REQUIRE_SERVICES = (os.environ.get("HELIO_TEST_REQUIRE_SERVICES") == "1"
                    or os.environ.get("CI") == "true")


def service_missing(what: str) -> None:
    if REQUIRE_SERVICES:
        pytest.fail(f"{what} is required (HELIO_TEST_REQUIRE_SERVICES=1 or CI=true) "
                    "but not configured")
    pytest.skip(f"{what} not configured")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh database on the configured PostgreSQL server, dropped at the end."""
    with fresh_postgres_database() as url:
        yield url


@contextlib.contextmanager
def fresh_postgres_database() -> Iterator[str]:
    base = os.environ.get("HELIO_TEST_DATABASE_URL")
    if not base:
        service_missing("HELIO_TEST_DATABASE_URL (PostgreSQL)")
    admin_url = make_url(normalize_database_url(base))
    name = f"helio_test_{uuid.uuid4().hex[:10]}"

    async def admin(statement: str) -> None:
        engine = create_engine(admin_url.render_as_string(hide_password=False),
                               isolation_level="AUTOCOMMIT")
        async with engine.connect() as conn:
            await conn.execute(text(statement))
        await engine.dispose()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def redis_url() -> str:
    url = os.environ.get("HELIO_TEST_REDIS_URL")
    if not url:
        service_missing("HELIO_TEST_REDIS_URL (Redis)")
    return str(url)


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db') / 'helio.db'}"


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str:
    """Every DB test runs on both backends, schema built by the real migrations."""
    url: str = request.getfixturevalue(f"{request.param}_url" if request.param == "sqlite"
                                       else "postgres_url")
    upgrade(url)
    return url


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home", database_url=database_url, jwt_secret=TEST_SECRET,
                    auth_cache_ttl_s=0.0)


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Any]:
    """Session factory on the test DB; tables are emptied after each test."""
    engine = create_engine(database_url)
    sessions = create_session_factory(engine)
    yield sessions
    async with engine.begin() as conn:
        for table in (TextIndex, ModelVersion, MLModel, JobLog, Job, Schedule, JobLimit,
                      DatasetVersion, Dataset, Pipeline,
                      Dashboard, UsageHourly, ErrorEvent, AuditLog, RefreshToken, ApiKey, User,
                      RateLimitPlan):
            await conn.execute(delete(table))
    await engine.dispose()


@pytest.fixture
async def app(settings: Settings, db: Any) -> AsyncIterator[Any]:
    from deployments.api.main import create_api

    api = create_api(settings, use_actors=False)
    yield api
    await api.state.ctx.close()


@pytest.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as c:
        yield c


class Users:
    """Creates users straight in the DB and logs them in through the API."""

    def __init__(self, sessions: Any, client: httpx.AsyncClient) -> None:
        self.sessions = sessions
        self.client = client

    async def create(self, role: Role, email: str | None = None,
                     password: str = "correct horse battery") -> User:
        user = User(email=email or f"{role.value}-{uuid.uuid4().hex[:6]}@example.com",
                    password_hash=hash_password(password), role=role.value, is_active=True)
        async with self.sessions() as session:
            session.add(user)
            await session.commit()
        return user

    async def login(self, email: str, password: str = "correct horse battery") -> dict[str, Any]:
        response = await self.client.post("/api/v1/auth/token",
                                          data={"username": email, "password": password})
        assert response.status_code == 200, response.text
        tokens: dict[str, Any] = response.json()
        return tokens

    async def token_for(self, role: Role) -> str:
        user = await self.create(role)
        return str((await self.login(user.email))["access_token"])


@pytest.fixture
def users(db: Any, client: httpx.AsyncClient) -> Users:
    return Users(db, client)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


from tests.ray_session import (  # noqa: E402
    actor_namespace,  # noqa: F401  (fixture)
    configure_ray_auth,
    ray_dashboard_port,  # noqa: F401  (fixture)
    ray_jobs_address,  # noqa: F401  (fixture)
    ray_session,  # noqa: F401  (fixture)
    serve_http_port,  # noqa: F401  (fixture)
)
from tests.stack import (  # noqa: E402, F401  (fixtures: the session's shared deployment)
    stack,
    stack_db,
    stack_sessions,
    warehouse,
)


def pytest_configure(config: pytest.Config) -> None:
    configure_ray_auth()
    config.pluginmanager.register(SharedStackLast(), "helio-shared-stack-last")


# What starts a Ray cluster, a Helio instance or a browser: `make test-quick` leaves these
# out (`-m "not cluster"`); `make test` and CI run everything.
CLUSTER_FIXTURES = {"ray_session"}
CLUSTER_PATHS = ("tests/e2e/", "tests/pipelines/test_run_cli.py",
                 "tests/pipelines/test_multinode.py")


# Tests that share one service-side resource run on one pytest-xdist worker (`make
# test-quick` runs `-n auto --dist loadgroup`): each worker has its own PostgreSQL
# databases and temp dirs, but the Redis test database is one, and `redis_db` flushes it.
SHARED_REDIS_FIXTURES = {"redis_db", "redis_url"}


# tryfirst: xdist's loadgroup reads the `xdist_group` marks in its own
# collection hook, which must run after these are added.
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if (CLUSTER_FIXTURES & fixtures or
                item.get_closest_marker("ray") is not None or
                item.nodeid.startswith(CLUSTER_PATHS)):
            item.add_marker(pytest.mark.cluster)
        if SHARED_REDIS_FIXTURES & fixtures:
            item.add_marker(pytest.mark.xdist_group("redis"))


class SharedStackLast:
    """The tests on the session's shared deployment (tests/stack.py) run last, together:
    the deployment (ingress, model replicas, actors, a warm runner) costs a third of a core
    while it idles, so it should not outlive its tests by the whole rest of the session, nor
    share the machine with the node-loss tests. The sort is stable, and runs after pytest's
    own reordering by parametrized fixtures (trylast)."""

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        items.sort(key=lambda item: "stack" in getattr(item, "fixturenames", ()))


@pytest.fixture
def redis_db(redis_url: str) -> Iterator[str]:
    """The test Redis database, flushed after the test."""
    import redis

    yield redis_url
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    client.close()
