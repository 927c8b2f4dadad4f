"""One Helio deployment for the whole test session: the real stack (Serve on the session's
Ray, its metadata in a PostgreSQL database of its own, jobs in warm runners and the script
sandbox) that the attack tests in tests/security/ and the API-level pipeline tests share.

Deploying the app (ingress, model deployments, actors, runner) takes 12-16 s on 2 cores;
tests that need no setting of their own use this one and isolate themselves by their own
users and uniquely named objects.
"""

from __future__ import annotations

import asyncio
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
from cluster.settings import JWT_SECRET_FILE
from tests.conftest import TEST_SECRET, fresh_postgres_database
from tests.waiting import wait_for

WS_RECHECK_S = 1.0
WS_MAX_PER_PRINCIPAL = 2
# The platform's default: a script's own ray.init() needs most of it; the fork-bomb attack
# tries twice as many.
SANDBOX_MAX_PROCESSES = 1024


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
def stack_db() -> Iterator[str]:
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
def stack(serve_http_port: int, stack_db: str, warehouse: str, ray_jobs_address: str,
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
        "database_url": stack_db, "jwt_secret": TEST_SECRET, "home": str(home),
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
                    database_url=stack_db,
                    settings=settings)
    finally:
        serve.delete(name)
        from tests.ray_session import kill_helio_actors

        kill_helio_actors(settings["actor_namespace"])


@pytest.fixture
async def stack_sessions(stack: Stack) -> AsyncIterator[Any]:
    """A session factory on the shared deployment's database."""
    engine = create_engine(stack.database_url)
    yield create_session_factory(engine)
    await engine.dispose()
