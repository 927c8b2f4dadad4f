"""The full role x route matrix, generated from the permission table and the app's routes."""

from __future__ import annotations

import re
import uuid

import pytest

from cluster.models import Role
from cluster.settings import Settings
from deployments.api.main import create_api
from deployments.api.permissions import (
    PERMISSIONS,
    MountedRoute,
    access_for,
    mounted_routes,
    mounted_websockets,
    operation_id,
)
from tests.conftest import bearer


def _routes(app) -> list[MountedRoute]:
    routes = mounted_routes(app)
    assert len(routes) >= 15
    return routes


def test_every_route_is_in_the_table_and_every_entry_is_a_route(tmp_path):
    app = create_api(Settings(home=tmp_path, jwt_secret="z" * 64), use_actors=False)
    ids = {operation_id(r.route) for r in _routes(app)}
    ids |= {operation_id(ws) for ws in mounted_websockets(app)}
    assert ids == set(PERMISSIONS), (ids ^ set(PERMISSIONS))


def test_a_route_missing_from_the_table_is_refused(tmp_path):
    from fastapi import APIRouter

    app = create_api(Settings(home=tmp_path, jwt_secret="z" * 64), use_actors=False)
    router = APIRouter(tags=["rogue"])

    @router.get("/rogue")
    async def sneak() -> dict[str, str]:
        return {}

    app.include_router(router)
    rogue = next(r for r in mounted_routes(app) if r.path == "/rogue")
    with pytest.raises(LookupError, match="rogue-sneak"):
        access_for(rogue.route)


async def test_role_route_matrix(app, client, users):
    admin_h = bearer(await users.token_for(Role.admin))
    headers = {role: bearer(await users.token_for(role)) for role in
               (Role.admin, Role.analyst, Role.viewer)}
    app_key = (await client.post("/api/v1/api-keys", headers=admin_h,
                                 json={"name": "matrix", "role": "app"})).json()["key"]
    headers[Role.app] = {"X-API-Key": app_key}
    # Without the sign-ins' refresh cookies: `POST /auth/logout` must not end the sessions
    # whose tokens the matrix goes on using (a sign-out ends its access tokens).
    client.cookies.clear()

    checked = 0
    for route in _routes(app):
        access = access_for(route.route)
        path = re.sub(r"\{[^}]+\}", str(uuid.uuid4()), route.path)
        for method in route.methods:
            anon = await client.request(method, path, json={})
            if access.public:
                # Public routes may still answer 401 themselves (a bad refresh token), never 403.
                assert anon.status_code != 403, (method, path)
                if anon.status_code == 401:
                    assert anon.json()["detail"] != "Not authenticated", (method, path)
            else:
                assert anon.status_code == 401, (method, path, anon.status_code)
            for role, h in headers.items():
                response = await client.request(method, path, headers=h, json={})
                if access.public:
                    assert response.status_code != 403, (role, method, path)
                elif access.allows(role):
                    assert response.status_code not in (401, 403), (role, method, path,
                                                                   response.text)
                else:
                    assert response.status_code == 403, (role, method, path, response.status_code)
                    assert response.json()["status"] == 403
                checked += 1
    assert checked == 4 * sum(len(r.methods) for r in _routes(app))
