"""Attack: keep using an access token after its session ended. The old token still read
`/users/me` after a sign-out and after a password change, for up to its lifetime; REST now
checks the token's session as WebSockets do (issue: trust boundaries, round 2, #9)."""

from __future__ import annotations

import pytest

from cluster.models import Role
from tests.conftest import bearer
from tests.security.conftest import Team

pytestmark = [pytest.mark.ray, pytest.mark.postgres]


async def test_sign_out_ends_the_access_token(team: Team, http):
    user = await team.users.create(Role.analyst)
    tokens = await team.users.login(user.email)
    headers = bearer(tokens["access_token"])
    assert (await http.get("/api/v1/users/me", headers=headers)).status_code == 200

    out = await http.post("/api/v1/auth/logout", json={"refresh_token": tokens["refresh_token"]})
    assert out.status_code == 204
    after = await http.get("/api/v1/users/me", headers=headers)
    assert after.status_code == 401, after.text
    assert "session" in after.json()["detail"]


async def test_a_new_password_ends_every_session(team: Team, http):
    admin = await team.member(Role.admin)
    user = await team.users.create(Role.analyst)
    first, second = await team.users.login(user.email), await team.users.login(user.email)
    changed = await http.patch(f"/api/v1/users/{user.id}", headers=admin.headers,
                               json={"password": "a-new-correct-horse-battery"})
    assert changed.status_code == 200, changed.text
    for tokens in (first, second):
        after = await http.get("/api/v1/users/me", headers=bearer(tokens["access_token"]))
        assert after.status_code == 401, after.text
    # The refresh tokens are gone too, and the new password signs in.
    spent = await http.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert spent.status_code == 401
    login = await http.post("/api/v1/auth/token", data={
        "username": user.email, "password": "a-new-correct-horse-battery"})
    assert login.status_code == 200, login.text
    me = await http.get("/api/v1/users/me", headers=bearer(login.json()["access_token"]))
    assert me.status_code == 200


async def test_another_sessions_sign_out_leaves_this_one(team: Team, http):
    user = await team.users.create(Role.viewer)
    kept, ended = await team.users.login(user.email), await team.users.login(user.email)
    out = await http.post("/api/v1/auth/logout", json={"refresh_token": ended["refresh_token"]})
    assert out.status_code == 204
    me = await http.get("/api/v1/users/me", headers=bearer(kept["access_token"]))
    assert me.status_code == 200
