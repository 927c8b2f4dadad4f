"""Attack tests against the real stack: Helio deployed on the shared Ray session's Serve,
its metadata in a fresh PostgreSQL database, jobs as real Ray Jobs.

One deployment serves the whole package (deploying the app takes several seconds); every
test makes its own users, so tests do not see each other's objects.
"""

from __future__ import annotations

import asyncio
import io
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from cluster.db import create_engine, create_session_factory
from cluster.migrate import upgrade
from cluster.models import Role
from cluster.settings import JWT_SECRET_FILE
from tests.conftest import TEST_SECRET, Users, bearer, fresh_postgres_database
from tests.waiting import async_wait_for, wait_for

TERMINAL = {"succeeded", "failed", "cancelled"}
WS_RECHECK_S = 1.0
WS_MAX_PER_PRINCIPAL = 2
SANDBOX_MAX_PROCESSES = 512  # below the 1000 processes of the fork-bomb attack


@dataclass
class Stack:
    base: str  # http://127.0.0.1:<port>/<app>
    home: Path
    data_root: Path
    wheels: Path  # script jobs' package index (HELIO_JOB_PIP_FIND_LINKS, no other index)
    database_url: str
    settings: dict[str, Any]

    @property
    def app_name(self) -> str:
        return self.base.rsplit("/", 1)[1]

    @property
    def api(self) -> str:
        return f"{self.base}/api/v1"

    @property
    def ws(self) -> str:
        return self.api.replace("http://", "ws://") + "/events"


@pytest.fixture(scope="session")
def security_db() -> Iterator[str]:
    """Its own database: other packages' fixtures empty the shared test database."""
    with fresh_postgres_database() as url:
        upgrade(url)
        yield url


@pytest.fixture(scope="session")
def warehouse(postgres_url: str) -> Iterator[str]:
    """A table on the machine's PostgreSQL that a SQL source may read but must not change."""
    async def run(statements: list[str]) -> None:
        engine = create_engine(postgres_url)
        async with engine.begin() as conn:
            for statement in statements:
                await conn.execute(text(statement))
        await engine.dispose()

    asyncio.run(run(["CREATE TABLE helio_sec_orders (id int primary key, amount float)",
                     "INSERT INTO helio_sec_orders SELECT g, g * 1.5 FROM "
                     "generate_series(1, 50) AS g"]))
    yield postgres_url
    asyncio.run(run(["DROP TABLE IF EXISTS helio_sec_orders"]))


@pytest.fixture(scope="session")
def stack(serve_http_port: int, security_db: str, warehouse: str, ray_jobs_address: str,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    from ray import serve

    from deployments.app import build_app

    root = tmp_path_factory.mktemp("security")
    home, data_root, wheels = root / "home", root / "data", root / "wheels"
    home.mkdir(mode=0o700)
    wheels.mkdir()
    # Job drivers read the signing key the way `helio up` leaves it: in $HELIO_HOME.
    (home / JWT_SECRET_FILE).write_text(TEST_SECRET)
    (home / JWT_SECRET_FILE).chmod(0o600)
    name = f"helio-sec-{uuid.uuid4().hex[:6]}"
    base = f"http://127.0.0.1:{serve_http_port}/{name}"
    settings = {
        "database_url": security_db, "jwt_secret": TEST_SECRET, "home": str(home),
        "data_root": str(data_root), "jobs_address": ray_jobs_address,
        "actor_namespace": f"helio-sec-{uuid.uuid4().hex[:6]}", "auth_cache_ttl_s": 0,
        "job_runners": 1,
        "internal_api_url": base, "ws_recheck_s": WS_RECHECK_S,
        "ws_max_per_principal": WS_MAX_PER_PRINCIPAL,
        "sql_sources": {"warehouse": warehouse}, "sql_source_statement_timeout_s": 1.0,
        "max_upload_bytes": 2 << 30,
        "job_pip_index_url": "none", "job_pip_find_links": str(wheels),
        "query_max_result_mb": 8, "sandbox_max_processes": SANDBOX_MAX_PROCESSES,
    }
    serve.run(build_app({"settings": settings}), name=name, route_prefix=f"/{name}",
              blocking=False)
    with httpx.Client(timeout=5) as http:
        wait_for(lambda: http.get(f"{base}/api/v1/health").status_code, lambda c: c == 200,
                 timeout_s=120, what="the Serve app's /health", retry_on=(httpx.HTTPError,),
                 interval_s=0.3)
    try:
        yield Stack(base=base, home=home, data_root=data_root, wheels=wheels,
                    database_url=security_db,
                    settings=settings)
    finally:
        serve.delete(name)
        from tests.ray_session import kill_helio_actors

        kill_helio_actors(settings["actor_namespace"])


@pytest.fixture
async def sessions(stack: Stack) -> AsyncIterator[Any]:
    engine = create_engine(stack.database_url)
    yield create_session_factory(engine)
    await engine.dispose()


@pytest.fixture
async def http(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=stack.base, timeout=60) as client:
        yield client


@dataclass
class Member:
    id: str
    email: str
    role: Role
    headers: dict[str, str]
    token: str


class Team:
    """Users of one test, each signed in through the API."""

    def __init__(self, sessions: Any, http: httpx.AsyncClient) -> None:
        self.users = Users(sessions, http)
        self.http = http

    async def member(self, role: Role) -> Member:
        user = await self.users.create(role)
        token = str((await self.users.login(user.email))["access_token"])
        return Member(id=str(user.id), email=user.email, role=role, headers=bearer(token),
                      token=token)

    async def app_key(self, owner: Member, role: str = "app") -> dict[str, str]:
        created = await self.http.post("/api/v1/api-keys", headers=owner.headers,
                                       json={"name": f"k-{uuid.uuid4().hex[:6]}", "role": role})
        assert created.status_code == 201, created.text
        return {"X-API-Key": created.json()["key"]}


@pytest.fixture
def team(sessions: Any, http: httpx.AsyncClient) -> Team:
    return Team(sessions, http)


async def upload(http: httpx.AsyncClient, headers: dict[str, str], name: str,
                 content: bytes = b"region,amount\nnorth,1\nsouth,2\nnorth,3\n"
                 ) -> dict[str, Any]:
    response = await http.post("/api/v1/datasets", headers=headers,
                               files={"file": ("data.csv", io.BytesIO(content))},
                               data={"name": name})
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def wait_job(http: httpx.AsyncClient, headers: dict[str, str], job_id: str,
                   timeout_s: float = 180.0) -> dict[str, Any]:
    async def observe() -> dict[str, Any]:
        job: dict[str, Any] = (await http.get(f"/api/v1/jobs/{job_id}", headers=headers)).json()
        return job

    return await async_wait_for(observe, lambda job: job["status"] in TERMINAL,
                                timeout_s=timeout_s, what=f"job {job_id} to end",
                                interval_s=0.5)


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"
