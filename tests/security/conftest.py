"""Attack tests against the real stack: Helio deployed on the shared Ray session's Serve,
its metadata in a fresh PostgreSQL database, jobs as real Ray Jobs.

The deployment is the session's shared one (tests/stack.py: deploying the app takes
seconds); every test makes its own users, so tests do not see each other's objects.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from cluster.models import Role
from tests.conftest import Users, bearer
from tests.stack import (  # noqa: F401  (re-exported for the attack tests)
    SANDBOX_MAX_PROCESSES,
    WS_MAX_PER_PRINCIPAL,
    WS_RECHECK_S,
    Stack,
)
from tests.waiting import async_wait_for

TERMINAL = {"succeeded", "failed", "cancelled"}


@pytest.fixture
def sessions(stack_sessions: Any) -> Any:
    return stack_sessions


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
