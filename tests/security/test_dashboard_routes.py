"""Attacks on the routes the dashboard issue added: pipeline edits (retargeting the sink
into someone else's dataset, editing a pipeline one does not own), the builder's live
check (viewers, someone else's sink, YAML object tags), the upload inspector
(anonymous and viewer use, a path-traversing file name, leftovers on disk) and dataset
downloads (anonymous use). Through the real API on Serve and PostgreSQL."""

from __future__ import annotations

import io

import pytest

from cluster.models import Role
from tests.security.conftest import Team, unique, upload

pytestmark = [pytest.mark.ray, pytest.mark.postgres]

CSV = b"zip,city\n01067,Dresden\n10115,Berlin\n"


async def test_an_edit_cannot_retarget_the_sink_into_anothers_dataset(stack, team: Team, http):
    mallory = await team.member(Role.analyst)
    victim = await team.member(Role.analyst)
    theirs = await upload(http, victim.headers, unique("victim"))
    mine = await upload(http, mallory.headers, unique("mine"))
    created = await http.post("/api/v1/pipelines", headers=mallory.headers, json={
        "name": unique("p"), "spec": {"source": {"dataset": mine["id"]},
                                      "sink": {"dataset": unique("out")}}})
    assert created.status_code == 201, created.text
    pipeline = created.json()
    retarget = await http.put(f"/api/v1/pipelines/{pipeline['id']}", headers=mallory.headers,
                              json={"name": pipeline["name"], "version": 1, "spec": {
                                  "source": {"dataset": mine["id"]},
                                  "sink": {"dataset": theirs["name"]}}})
    assert retarget.status_code == 403, retarget.text
    history = (await http.get(f"/api/v1/pipelines/{pipeline['id']}/versions",
                              headers=mallory.headers)).json()["items"]
    assert [v["version"] for v in history] == [1]  # nothing was recorded


async def test_validate_is_for_writers_and_checks_the_sink_owner(stack, team: Team, http):
    """The builder's live check answers what a save would: a viewer cannot use it, and it
    tells no one that they may publish into someone else's dataset."""
    victim = await team.member(Role.analyst)
    theirs = await upload(http, victim.headers, unique("victim"))
    spec = {"source": {"dataset": theirs["id"]}, "sink": {"dataset": theirs["name"]}}
    assert (await http.post("/api/v1/pipelines/validate", json={"spec": spec})).status_code == 401
    viewer = await team.member(Role.viewer)
    assert (await http.post("/api/v1/pipelines/validate", headers=viewer.headers,
                            json={"spec": spec})).status_code == 403
    mallory = await team.member(Role.analyst)
    into_theirs = await http.post("/api/v1/pipelines/validate", headers=mallory.headers,
                                  json={"spec": spec})
    assert into_theirs.status_code == 403, into_theirs.text
    # A spec that is YAML with tags meant to build objects is refused, not run.
    tagged = await http.post("/api/v1/pipelines/validate", headers=mallory.headers, json={
        "spec_yaml": "!!python/object/apply:os.system ['touch /tmp/helio-pwned']"})
    assert tagged.status_code == 422
    assert "invalid YAML" in tagged.json()["errors"][0]["msg"]


async def test_the_inspector_is_for_writers_and_keeps_nothing(stack, team: Team, http):
    files = {"file": ("../../../../tmp/evil.csv", io.BytesIO(CSV))}
    anonymous = await http.post("/api/v1/datasets/inspect", files=files)
    assert anonymous.status_code == 401
    viewer = await team.member(Role.viewer)
    files = {"file": ("../../../../tmp/evil.csv", io.BytesIO(CSV))}
    assert (await http.post("/api/v1/datasets/inspect", headers=viewer.headers,
                            files=files)).status_code == 403
    analyst = await team.member(Role.analyst)
    before = {p for p in stack.data_root.rglob("*")}
    files = {"file": ("../../../../tmp/evil.csv", io.BytesIO(CSV))}
    inspected = await http.post("/api/v1/datasets/inspect", headers=analyst.headers,
                                files=files)
    assert inspected.status_code == 200, inspected.text
    after = {p for p in stack.data_root.rglob("*")}
    # The scratch directory is gone; nothing new is left behind (empty parent dirs aside).
    assert all(p.is_dir() and not any(p.iterdir()) for p in after - before)
    assert not any(p.name.startswith("evil") for p in after)


async def test_downloads_need_a_principal(stack, team: Team, http):
    analyst = await team.member(Role.analyst)
    dataset = await upload(http, analyst.headers, unique("dl"), CSV)
    url = f"/api/v1/datasets/{dataset['id']}/download"
    assert (await http.get(url)).status_code == 401
    viewer = await team.member(Role.viewer)
    response = await http.get(url, headers=viewer.headers)
    assert response.status_code == 200 and response.text.splitlines()[0] == '"zip","city"'
