"""Owner x object x action: every write to an object goes through one ownership policy
(owner or admin), through the real API on Serve and PostgreSQL. Extends the role x route
matrix (tests/deployments/api/test_permissions.py), which covers which roles may call a
route at all."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from cluster.models import Job, MLModel, ModelVersion, Role
from tests.security.conftest import Member, Team, unique, upload

pytestmark = [pytest.mark.ray, pytest.mark.postgres]

Headers = dict[str, str]


@dataclass
class World:
    http: httpx.AsyncClient
    sessions: Any
    owner: Member

    async def dataset(self) -> dict[str, Any]:
        return await upload(self.http, self.owner.headers, unique("own"))

    async def pipeline(self) -> dict[str, Any]:
        source = await self.dataset()
        created = await self.http.post("/api/v1/pipelines", headers=self.owner.headers, json={
            "name": unique("p"), "spec": {"source": {"dataset": source["id"]},
                                          "sink": {"dataset": unique("out")}}})
        assert created.status_code == 201, created.text
        result: dict[str, Any] = created.json()
        return result

    async def model(self) -> str:
        """A registered model of the owner's with one version (rows straight in the DB:
        the policy, not training, is under test)."""
        name = unique("m")
        async with self.sessions() as session:
            model = MLModel(name=name, owner_id=uuid.UUID(self.owner.id), aliases={})
            session.add(model)
            await session.flush()
            session.add(ModelVersion(model_id=model.id, version=1, status="ready",
                                     task="regression", algorithm="linear", target="amount",
                                     features=[{"name": "x", "type": "float"}],
                                     artifact_path="/nonexistent"))
            await session.commit()
        return name

    async def dashboard(self) -> dict[str, Any]:
        created = await self.http.post("/api/v1/dashboards", headers=self.owner.headers,
                                       json={"name": unique("d"), "charts": []})
        assert created.status_code == 201, created.text
        result: dict[str, Any] = created.json()
        return result

    async def job(self) -> str:
        """A running job of the owner's (a row; no driver: cancel only touches the row)."""
        async with self.sessions() as session:
            job = Job(kind="query", owner_id=uuid.UUID(self.owner.id), status="running",
                      progress=0.0, spec={"secret_query": "owner's spec"})
            session.add(job)
            await session.commit()
            return str(job.id)

    async def api_key(self) -> str:
        created = await self.http.post("/api/v1/api-keys", headers=self.owner.headers,
                                       json={"name": unique("k"), "role": "app"})
        assert created.status_code == 201, created.text
        return str(created.json()["id"])


Action = Callable[[World, Headers], Awaitable[httpx.Response]]


async def delete_dataset(w: World, h: Headers) -> httpx.Response:
    return await w.http.delete(f"/api/v1/datasets/{(await w.dataset())['id']}", headers=h)


async def profile_dataset(w: World, h: Headers) -> httpx.Response:
    return await w.http.post(f"/api/v1/datasets/{(await w.dataset())['id']}/profile", headers=h)


async def publish_into_dataset(w: World, h: Headers) -> httpx.Response:
    """A pipeline whose sink is the owner's dataset: a new version of it when run."""
    target = await w.dataset()
    return await w.http.post("/api/v1/pipelines", headers=h, json={
        "name": unique("sink"), "spec": {"source": {"dataset": target["id"]},
                                         "sink": {"dataset": target["name"]}}})


async def run_pipeline(w: World, h: Headers) -> httpx.Response:
    return await w.http.post(f"/api/v1/pipelines/{(await w.pipeline())['id']}/runs", headers=h)


async def edit_pipeline(w: World, h: Headers) -> httpx.Response:
    pipeline = await w.pipeline()
    return await w.http.put(f"/api/v1/pipelines/{pipeline['id']}", headers=h, json={
        "name": unique("taken"), "spec": pipeline["spec"], "version": pipeline["version"]})


async def delete_pipeline(w: World, h: Headers) -> httpx.Response:
    return await w.http.delete(f"/api/v1/pipelines/{(await w.pipeline())['id']}", headers=h)


async def move_alias(w: World, h: Headers) -> httpx.Response:
    return await w.http.post(f"/api/v1/models/{await w.model()}/aliases/production",
                             headers=h, json={"version": 1})


async def train_into_model(w: World, h: Headers) -> httpx.Response:
    name = await w.model()
    data = await upload(w.http, w.owner.headers, unique("train"),
                        b"x,amount\n" + b"".join(f"{i},{i * 2}\n".encode() for i in range(40)))
    return await w.http.post("/api/v1/models/train", headers=h, json={
        "model": name, "dataset": data["id"], "target": "amount", "features": ["x"],
        "task": "regression", "algorithm": "linear"})


async def edit_dashboard(w: World, h: Headers) -> httpx.Response:
    board = await w.dashboard()
    return await w.http.put(f"/api/v1/dashboards/{board['id']}", headers=h,
                            json={"name": "taken over", "charts": [], "version": 1})


async def delete_dashboard(w: World, h: Headers) -> httpx.Response:
    return await w.http.delete(f"/api/v1/dashboards/{(await w.dashboard())['id']}", headers=h)


async def cancel_job(w: World, h: Headers) -> httpx.Response:
    return await w.http.post(f"/api/v1/jobs/{await w.job()}/cancel", headers=h)


async def read_job_logs(w: World, h: Headers) -> httpx.Response:
    return await w.http.get(f"/api/v1/jobs/{await w.job()}/logs", headers=h)


async def revoke_key(w: World, h: Headers) -> httpx.Response:
    return await w.http.delete(f"/api/v1/api-keys/{await w.api_key()}", headers=h)


ACTIONS: dict[str, Action] = {
    "dataset.delete": delete_dataset,
    "dataset.profile": profile_dataset,
    "dataset.publish_via_sink": publish_into_dataset,
    "pipeline.run": run_pipeline,
    "pipeline.update": edit_pipeline,
    "pipeline.delete": delete_pipeline,
    "model.set_alias": move_alias,
    "model.train_version": train_into_model,
    "dashboard.update": edit_dashboard,
    "dashboard.delete": delete_dashboard,
    "job.cancel": cancel_job,
    "job.logs": read_job_logs,
    "api_key.revoke": revoke_key,
}
ALLOWED = {200, 201, 202, 204}
# Someone else's key is not even shown to exist.
DENIED = {"api_key.revoke": {403, 404}}


async def test_owner_object_action_matrix(stack, team: Team, http, sessions):
    owner = await team.member(Role.analyst)
    admin = await team.member(Role.admin)
    actors: dict[str, Headers] = {
        "owner": owner.headers,
        "admin": admin.headers,
        "other_analyst": (await team.member(Role.analyst)).headers,
        "viewer": (await team.member(Role.viewer)).headers,
        "app_key": await team.app_key(admin),
    }
    world = World(http=http, sessions=sessions, owner=owner)
    outcomes: dict[tuple[str, str], int] = {}
    started: list[str] = []
    for action, call in ACTIONS.items():
        for actor, headers in actors.items():
            response = await call(world, headers)
            outcomes[action, actor] = response.status_code
            if response.status_code == 202:
                started.append(response.json()["id"])
    for job_id in started:  # the allowed runs started real jobs: stop them
        await http.post(f"/api/v1/jobs/{job_id}/cancel", headers=admin.headers)
    wrong = {}
    for (action, actor), status in outcomes.items():
        expected = ALLOWED if actor in ("owner", "admin") else DENIED.get(action, {403})
        if status not in expected:
            wrong[action, actor] = status
    assert not wrong, wrong
    assert len(outcomes) == len(ACTIONS) * len(actors)


async def test_other_users_see_a_jobs_status_but_not_its_spec(stack, team: Team, http,
                                                              sessions):
    owner = await team.member(Role.analyst)
    world = World(http=http, sessions=sessions, owner=owner)
    job_id = await world.job()
    for role in (Role.viewer, Role.analyst):
        other = await team.member(role)
        seen = (await http.get(f"/api/v1/jobs/{job_id}", headers=other.headers)).json()
        assert seen["status"] == "running" and seen["spec"] == {} and seen["result"] is None
        listed = (await http.get("/api/v1/jobs", headers=other.headers)).json()["items"]
        assert all(j["spec"] == {} for j in listed if j["owner_id"] != other.id)
    mine = (await http.get(f"/api/v1/jobs/{job_id}", headers=owner.headers)).json()
    assert mine["spec"] == {"secret_query": "owner's spec"}


async def test_viewers_may_not_start_query_jobs(stack, team: Team, http):
    owner = await team.member(Role.analyst)
    viewer = await team.member(Role.viewer)
    data = await upload(http, owner.headers, unique("q"))
    query = {"aggregations": [{"op": "count"}]}
    denied = await http.post(f"/api/v1/datasets/{data['id']}/query/jobs",
                             headers=viewer.headers, json=query)
    assert denied.status_code == 403
    # Interactive queries stay open to every role.
    answered = await http.post(f"/api/v1/datasets/{data['id']}/query", headers=viewer.headers,
                               json=query)
    assert answered.status_code == 200, answered.text


async def test_a_demoted_admins_admin_key_acts_with_the_owners_role(stack, team: Team, http):
    admin = await team.member(Role.admin)
    boss = await team.member(Role.admin)
    key = await team.app_key(admin, role="admin")
    assert (await http.get("/api/v1/users", headers=key)).status_code == 200
    demoted = await http.patch(f"/api/v1/users/{admin.id}", headers=boss.headers,
                               json={"role": "analyst"})
    assert demoted.status_code == 200, demoted.text
    assert (await http.get("/api/v1/users", headers=key)).status_code == 403
    me = (await http.get("/api/v1/users/me", headers=key)).json()
    assert me["role"] == "analyst"
