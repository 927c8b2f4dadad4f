"""Attack: keeping a live event stream after losing the right to it. WebSockets outlived
token expiry, sign-out, deactivation and demotion, with no cap per principal. The stack
re-checks every second here (HELIO_WS_RECHECK_S) and allows two sockets each."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from cluster.models import Role
from cluster.security import TokenSigner
from tests.conftest import TEST_SECRET
from tests.security.conftest import WS_MAX_PER_PRINCIPAL, Team

pytestmark = [pytest.mark.ray, pytest.mark.postgres]


async def _closed_with(ws, timeout_s: float = 10.0) -> int:
    """Read until the server closes the socket; its close code."""
    try:
        async with asyncio.timeout(timeout_s):
            while True:
                await ws.recv()
    except ConnectionClosed as closed:
        assert closed.rcvd is not None, "closed without a close frame"
        return closed.rcvd.code
    raise AssertionError("unreachable")


async def _hello(ws) -> dict:
    message = json.loads(await asyncio.wait_for(ws.recv(), 10))
    assert message["type"] == "hello", message
    return message


async def test_sign_out_closes_the_socket(stack, team: Team, http):
    user = await team.users.create(Role.analyst)
    tokens = await team.users.login(user.email)
    async with websockets.connect(f"{stack.ws}?token={tokens['access_token']}") as ws:
        await _hello(ws)
        out = await http.post("/api/v1/auth/logout",
                              json={"refresh_token": tokens["refresh_token"]})
        assert out.status_code == 204
        assert await _closed_with(ws) == 4401


@pytest.mark.parametrize(("change", "code"), [({"is_active": False}, 4401),
                                              ({"role": "app"}, 4403)],
                         ids=["deactivation", "role_that_may_not_subscribe"])
async def test_an_admins_change_to_the_user_closes_the_socket(stack, team: Team, http,
                                                             change, code):
    admin = await team.member(Role.admin)
    analyst = await team.member(Role.analyst)
    async with websockets.connect(f"{stack.ws}?token={analyst.token}") as ws:
        await _hello(ws)
        done = await http.patch(f"/api/v1/users/{analyst.id}", headers=admin.headers,
                                json=change)
        assert done.status_code == 200, done.text
        assert await _closed_with(ws) == code


async def test_expiry_closes_the_socket(stack, team: Team):
    analyst = await team.member(Role.analyst)
    short = TokenSigner(TEST_SECRET, "HS256", 900).issue_access(
        subject=uuid.UUID(analyst.id), role="analyst", ttl_s=2)
    async with websockets.connect(f"{stack.ws}?token={short}") as ws:
        await _hello(ws)
        assert await _closed_with(ws, timeout_s=15) == 4401


async def test_a_revoked_key_closes_the_socket(stack, team: Team, http):
    admin = await team.member(Role.admin)
    key = (await http.post("/api/v1/api-keys", headers=admin.headers,
                           json={"name": "ws", "role": "viewer"})).json()
    async with websockets.connect(f"{stack.ws}?token={key['key']}") as ws:
        await _hello(ws)
        assert (await http.delete(f"/api/v1/api-keys/{key['id']}",
                                  headers=admin.headers)).status_code == 204
        assert await _closed_with(ws) == 4401


async def test_sockets_per_principal_are_capped(stack, team: Team):
    analyst = await team.member(Role.analyst)
    url = f"{stack.ws}?token={analyst.token}"
    opened = [await websockets.connect(url) for _ in range(WS_MAX_PER_PRINCIPAL)]
    try:
        for ws in opened:
            await _hello(ws)
        extra = await websockets.connect(url)
        assert await _closed_with(extra) == 4429
        # Closing one frees its place (once the server has seen the close).
        await opened.pop().close()
        for _ in range(20):
            await asyncio.sleep(0.25)
            again = await websockets.connect(url)
            try:
                message = json.loads(await asyncio.wait_for(again.recv(), 10))
            except ConnectionClosed:
                continue
            opened.append(again)
            assert message["type"] == "hello"
            break
        else:
            raise AssertionError("the freed place was not given back")
    finally:
        for ws in opened:
            await ws.close()
