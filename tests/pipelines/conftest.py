"""The API with Ray behind it: jobs are real Ray Jobs, queries real Ray tasks."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from cluster.settings import Settings
from tests.conftest import TEST_SECRET
from tests.stack import Stack
from tests.waiting import async_wait_for

TERMINAL = {"succeeded", "failed", "cancelled"}


@pytest.fixture
def ray_settings(database_url: str, tmp_path: Path, ray_jobs_address: str,
                 actor_namespace: str) -> Settings:
    return Settings(home=tmp_path / "home", database_url=database_url, jwt_secret=TEST_SECRET,
                    auth_cache_ttl_s=0.0, jobs_address=ray_jobs_address,
                    actor_namespace=actor_namespace, data_root=str(tmp_path / "data"),
                    # One warm runner per test (each preloads the libraries: seconds of CPU
                    # on 2 cores); tests of the queue size their own pools.
                    job_runners=1)


@pytest.fixture
async def ray_app(ray_settings: Settings, db: Any) -> AsyncIterator[Any]:
    from deployments.api.main import create_api

    api = create_api(ray_settings, use_actors=True)
    async with api.router.lifespan_context(api):
        yield api


@pytest.fixture
async def ray_client(ray_app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=ray_app, client=("127.0.0.1", 50001))
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver",
                                 timeout=60) as c:
        yield c


async def upload(client: httpx.AsyncClient, headers: dict[str, str], name: str,
                 content: bytes, filename: str = "data.csv", **form: str) -> httpx.Response:
    return await client.post("/api/v1/datasets", headers=headers,
                             files={"file": (filename, io.BytesIO(content))},
                             data={"name": name, **form})


async def start_pipeline(client: httpx.AsyncClient, headers: dict[str, str], name: str,
                         spec: dict[str, Any]) -> str:
    """Save a pipeline and start a run; the run's job id."""
    created = await client.post("/api/v1/pipelines", headers=headers,
                                json={"name": name, "spec": spec})
    assert created.status_code == 201, created.text
    run = await client.post(f"/api/v1/pipelines/{created.json()['id']}/runs", headers=headers)
    assert run.status_code == 202, run.text
    return str(run.json()["id"])


async def wait_job(client: httpx.AsyncClient, headers: dict[str, str], job_id: str,
                   timeout_s: float = 180.0, until: set[str] | None = None) -> dict[str, Any]:
    async def observe() -> dict[str, Any]:
        job: dict[str, Any] = (await client.get(f"/api/v1/jobs/{job_id}", headers=headers)).json()
        return job

    try:
        return await async_wait_for(observe, lambda job: job["status"] in (until or TERMINAL),
                                    timeout_s=timeout_s, what=f"job {job_id}", interval_s=0.5)
    except AssertionError as exc:
        logs = (await client.get(f"/api/v1/jobs/{job_id}/logs", headers=headers)).json()
        raise AssertionError(f"{exc}; its logs: {logs.get('logs', '')[-3000:]}") from None


@pytest.fixture
def served(stack: Stack) -> str:
    """The base URL of the session's shared Helio deployment (tests/stack.py): Serve, its
    own PostgreSQL database (`stack_sessions`), warm runners. Tests isolate themselves by
    their own users and object names."""
    return stack.base


@pytest.fixture
def served_data(stack: Stack) -> Path:
    """The shared deployment's data root (datasets, model artifacts)."""
    return stack.data_root
