"""Attacks on the routes the jobs subsystem added: schedules (viewers and anonymous
callers, scheduling someone else's pipeline, dataset or model, pausing or deleting
someone else's schedule, malformed timing), the admin's job limits, and a job's logs and
attempts (read by someone who is not its owner). Through the real API on Serve and
PostgreSQL, with the warm runner running the jobs."""

from __future__ import annotations

import pytest

from cluster.models import Role
from tests.security.conftest import Team, unique, upload, wait_job

pytestmark = [pytest.mark.ray, pytest.mark.postgres]


async def _pipeline(http, member, source: dict) -> dict:
    created = await http.post("/api/v1/pipelines", headers=member.headers, json={
        "name": unique("p"), "spec": {"source": {"dataset": source["id"]},
                                      "sink": {"dataset": unique("out")}}})
    assert created.status_code == 201, created.text
    return dict(created.json())


def _nightly(kind: str, target: dict) -> dict:
    return {"name": unique("s"), "kind": kind, "target": target, "cron": "0 2 * * *"}


async def test_schedules_are_for_writers_and_only_of_ones_own_objects(stack, team: Team,
                                                                      http):
    victim = await team.member(Role.analyst)
    theirs = await upload(http, victim.headers, unique("victim"))
    their_pipeline = await _pipeline(http, victim, theirs)
    body = _nightly("pipeline", {"pipeline_id": their_pipeline["id"]})

    assert (await http.post("/api/v1/schedules", json=body)).status_code == 401
    viewer = await team.member(Role.viewer)
    assert (await http.post("/api/v1/schedules", headers=viewer.headers,
                            json=body)).status_code == 403
    mallory = await team.member(Role.analyst)
    # Someone else's pipeline, dataset (profile) or model (training) cannot be scheduled
    # to run as oneself: each would write into the victim's objects.
    for kind, target in (("pipeline", {"pipeline_id": their_pipeline["id"]}),
                         ("profile", {"dataset": theirs["name"]})):
        refused = await http.post("/api/v1/schedules", headers=mallory.headers,
                                  json=_nightly(kind, target))
        assert refused.status_code == 403, (kind, refused.text)
    # A pipeline of one's own whose sink is someone else's dataset is refused too.
    mine = await upload(http, mallory.headers, unique("mine"))
    into_theirs = await http.post("/api/v1/pipelines", headers=mallory.headers, json={
        "name": unique("p"), "spec": {"source": {"dataset": mine["id"]},
                                      "sink": {"dataset": theirs["name"]}}})
    assert into_theirs.status_code == 403, into_theirs.text
    listed = (await http.get("/api/v1/schedules", headers=mallory.headers)).json()
    assert listed["total"] == 0 or all(s["owner_id"] != mallory.id for s in listed["items"])


async def test_someone_elses_schedule_cannot_be_paused_changed_or_deleted(stack,
                                                                          team: Team, http):
    owner = await team.member(Role.analyst)
    source = await upload(http, owner.headers, unique("src"))
    pipeline = await _pipeline(http, owner, source)
    created = await http.post("/api/v1/schedules", headers=owner.headers,
                              json=_nightly("pipeline", {"pipeline_id": pipeline["id"]}))
    assert created.status_code == 201, created.text
    schedule = created.json()
    url = f"/api/v1/schedules/{schedule['id']}"
    mallory = await team.member(Role.analyst)
    for change in ({"paused": True}, {"cron": "* * * * *"}, {"priority": 100}):
        response = await http.patch(url, headers=mallory.headers, json=change)
        assert response.status_code == 403, (change, response.text)
    assert (await http.delete(url, headers=mallory.headers)).status_code == 403
    viewer = await team.member(Role.viewer)
    assert (await http.patch(url, headers=viewer.headers,
                             json={"paused": True})).status_code == 403
    after = (await http.get(url, headers=owner.headers)).json()
    assert after["paused"] is False and after["cron"] == "0 2 * * *"
    assert after["priority"] == schedule["priority"]
    # An admin may (one ownership policy: owner or admin).
    admin = await team.member(Role.admin)
    assert (await http.patch(url, headers=admin.headers,
                             json={"paused": True})).json()["paused"] is True
    assert (await http.delete(url, headers=admin.headers)).status_code == 204


@pytest.mark.parametrize(("change", "field"), [
    ({"cron": "61 * * * *"}, "cron"),
    ({"cron": "0 2 * * *; rm -rf /"}, "cron"),
    ({"cron": None, "interval_s": 0}, "interval_s"),
    ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
    ({"cron": "0 2 * * *", "interval_s": 60}, "cron"),  # one or the other
])
async def test_malformed_timing_is_a_422_naming_the_field(stack, team: Team, http, change,
                                                          field):
    owner = await team.member(Role.analyst)
    source = await upload(http, owner.headers, unique("src"))
    pipeline = await _pipeline(http, owner, source)
    body = {**_nightly("pipeline", {"pipeline_id": pipeline["id"]}), **change}
    response = await http.post("/api/v1/schedules", headers=owner.headers, json=body)
    assert response.status_code == 422, response.text
    locs = [e["loc"] for e in response.json()["errors"]]
    assert any(field in map(str, loc) for loc in locs), locs


async def test_job_limits_are_admin_only_and_validated(stack, team: Team, http):
    analyst = await team.member(Role.analyst)
    assert (await http.get("/api/v1/job-limits", headers=analyst.headers)).status_code == 403
    # A user cannot lift their own limit.
    lift = {"limits": [{"scope": "user", "key": analyst.id, "max_running": 100}]}
    assert (await http.put("/api/v1/job-limits", headers=analyst.headers,
                           json=lift)).status_code == 403
    admin = await team.member(Role.admin)
    before = (await http.get("/api/v1/job-limits", headers=admin.headers)).json()
    for bad, loc in (({"scope": "role", "key": "root", "max_running": 1}, "key"),
                     ({"scope": "user", "key": "not-a-uuid", "max_running": 1}, "key"),
                     ({"scope": "role", "key": "analyst", "max_running": -1}, "max_running")):
        response = await http.put("/api/v1/job-limits", headers=admin.headers,
                                  json={"limits": [bad]})
        assert response.status_code == 422, (bad, response.text)
        assert loc in map(str, response.json()["errors"][0]["loc"]), response.json()
    # Nothing was replaced by the refused updates.
    assert (await http.get("/api/v1/job-limits", headers=admin.headers)).json() == before


async def test_a_jobs_logs_and_attempt_errors_are_its_owners(stack, team: Team, http):
    owner = await team.member(Role.analyst)
    dataset = await upload(http, owner.headers, unique("prof"))
    started = await http.post(f"/api/v1/datasets/{dataset['id']}/profile",
                              headers=owner.headers)
    assert started.status_code == 202, started.text
    job = await wait_job(http, owner.headers, started.json()["id"])
    assert job["status"] == "succeeded", job
    logs = await http.get(f"/api/v1/jobs/{job['id']}/logs", headers=owner.headers)
    assert logs.status_code == 200 and "attempt 1 of" in logs.json()["logs"]

    other = await team.member(Role.analyst)
    assert (await http.get(f"/api/v1/jobs/{job['id']}/logs",
                           headers=other.headers)).status_code == 403
    seen = (await http.get(f"/api/v1/jobs/{job['id']}", headers=other.headers)).json()
    assert seen["spec"] == {} and seen["result"] is None
    assert all("error" not in a and "pid" not in a for a in seen["attempts"]), seen
    # Malformed paging is a 422 naming the parameter, not a 500.
    bad = await http.get(f"/api/v1/jobs/{job['id']}/logs", headers=owner.headers,
                         params={"after": "-7"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["loc"] == ["query", "after"]
    # Someone else's job cannot be cancelled.
    assert (await http.post(f"/api/v1/jobs/{job['id']}/cancel",
                            headers=other.headers)).status_code in (403, 409)
