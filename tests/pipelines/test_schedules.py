"""Schedules on real Ray and PostgreSQL: an interval schedule firing on time, the missed
and concurrency policies, pause/resume, validation, and the scheduler actor killed (by
pid) without a run firing twice."""

from __future__ import annotations

import asyncio
import itertools
import os
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from ray.exceptions import RayActorError
from sqlalchemy import select, update

from cluster.catalog import schedules as catalog_schedules
from cluster.migrate import upgrade
from cluster.models import Job, Role, Schedule, utcnow
from tests.conftest import Users, bearer
from tests.pipelines.conftest import upload, wait_job
from tests.waiting import async_wait_for

pytestmark = pytest.mark.usefixtures("ray_session")


@pytest.fixture(scope="module")
def database_url(postgres_url: str) -> str:
    upgrade(postgres_url)
    return postgres_url


@pytest.fixture
async def analyst(db, ray_client) -> dict[str, str]:
    return bearer(await Users(db, ray_client).token_for(Role.analyst))


async def _dataset(client: httpx.AsyncClient, headers: dict[str, str], name: str) -> str:
    response = await upload(client, headers, name, b"k,v\n" + b"1,2\n3,4\n" * 200)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def _runs(client: httpx.AsyncClient, headers: dict[str, str], schedule_id: str
                ) -> list[dict[str, Any]]:
    body = (await client.get("/api/v1/jobs", headers=headers,
                             params={"schedule_id": schedule_id, "limit": 500})).json()
    return sorted(body["items"], key=lambda j: j["scheduled_for"])


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value)


async def _wait_runs(client: httpx.AsyncClient, headers: dict[str, str], schedule_id: str,
                     at_least: int) -> list[dict[str, Any]]:
    return await async_wait_for(lambda: _runs(client, headers, schedule_id),
                                lambda runs: len(runs) >= at_least, timeout_s=60,
                                what=f"{at_least} runs of schedule {schedule_id}",
                                interval_s=0.5)


def _scheduler(settings: Any) -> Any:
    import ray

    from actors import names

    return ray.get_actor(names.SCHEDULER, namespace=settings.actor_namespace)


async def _ticks_pass(settings: Any, ticks: int) -> None:
    """Wait until the scheduler has begun `ticks` more ticks (one a second): every tick
    before the last has then run to its end, with whatever it fired."""
    scheduler = _scheduler(settings)
    start = (await scheduler.state.remote())["ticks"]
    await async_wait_for(scheduler.state.remote, lambda s: s["ticks"] >= start + ticks,
                         timeout_s=30, what=f"{ticks} scheduler ticks", interval_s=0.2)


async def test_interval_schedule_fires_on_time_and_pauses(ray_client, analyst, ray_settings):
    dataset = await _dataset(ray_client, analyst, "ticks")
    # The runner pool starts with the first job (its imports take seconds on 2 busy
    # cores): start it first, so "on time" measures the scheduler and the queue.
    warm = await ray_client.post(f"/api/v1/datasets/{dataset}/profile", headers=analyst)
    assert (await wait_job(ray_client, analyst, warm.json()["id"]))["status"] == "succeeded"
    created = await ray_client.post("/api/v1/schedules", headers=analyst, json={
        "name": "profile-ticks", "kind": "profile", "target": {"dataset": "ticks"},
        "interval_s": 3, "concurrency_policy": "allow"})
    assert created.status_code == 201, created.text
    schedule = created.json()
    assert schedule["target"] == {"dataset_id": dataset}
    upcoming = [_at(t) for t in schedule["upcoming"]]
    assert len(upcoming) == 5 and all(
        (b - a) == timedelta(seconds=3) for a, b in itertools.pairwise(upcoming))
    runs = await _wait_runs(ray_client, analyst, schedule["id"], 3)
    done = [await wait_job(ray_client, analyst, r["id"]) for r in runs[:3]]
    assert all(j["status"] == "succeeded" and j["kind"] == "profile" for j in done)
    due = [_at(j["scheduled_for"]) for j in done]
    assert due[0] == upcoming[0] and due == upcoming[:3]  # every due time, once, in order
    for job in done:  # on time: queued within the scheduler's tick, started right after
        assert _at(job["created_at"]) - _at(job["scheduled_for"]) < timedelta(seconds=2.5)
        assert _at(job["started_at"]) - _at(job["scheduled_for"]) < timedelta(seconds=4)

    paused = await ray_client.patch(f"/api/v1/schedules/{schedule['id']}", headers=analyst,
                                    json={"paused": True})
    assert paused.status_code == 200 and paused.json()["upcoming"] == []
    await _ticks_pass(ray_settings, 2)  # a run the tick was firing as it paused lands
    count = len(await _runs(ray_client, analyst, schedule["id"]))
    await _ticks_pass(ray_settings, 5)  # more than one 3 s interval of ticks
    assert len(await _runs(ray_client, analyst, schedule["id"])) == count
    resumed = await ray_client.patch(f"/api/v1/schedules/{schedule['id']}", headers=analyst,
                                     json={"paused": False})
    assert _at(resumed.json()["next_run_at"]) > _at(paused.json()["updated_at"]
                                                    if "updated_at" in paused.json()
                                                    else resumed.json()["created_at"])
    assert (await ray_client.delete(f"/api/v1/schedules/{schedule['id']}",
                                    headers=analyst)).status_code == 204


async def test_missed_runs_are_skipped_or_run_once(ray_client, analyst, db, ray_settings):
    await _dataset(ray_client, analyst, "missed")
    ids = {}
    for policy in ("skip", "run_once"):
        created = await ray_client.post("/api/v1/schedules", headers=analyst, json={
            "name": f"missed-{policy}", "kind": "profile", "target": {"dataset": "missed"},
            "cron": "* * * * *", "missed_policy": policy})
        assert created.status_code == 201, created.text
        ids[policy] = created.json()["id"]
    # As if the scheduler had been down for ten minutes: ten due times missed.
    async with db() as session:
        await session.execute(update(Schedule).values(
            next_run_at=utcnow().replace(second=0, microsecond=0) - timedelta(minutes=10)))
        await session.commit()
    await _wait_runs(ray_client, analyst, ids["run_once"], 1)
    await _ticks_pass(ray_settings, 2)  # the ticks after the one that fired fire nothing
    assert len(await _runs(ray_client, analyst, ids["run_once"])) == 1
    assert await _runs(ray_client, analyst, ids["skip"]) == []
    async with db() as session:
        for schedule in await session.scalars(select(Schedule)):
            assert schedule.next_run_at > utcnow()  # both moved on to the next minute


async def test_forbid_skips_while_a_run_is_active_and_replace_cancels_it(ray_client,
                                                                         analyst, db):
    await _dataset(ray_client, analyst, "busy")
    for policy in ("forbid", "replace"):
        created = await ray_client.post("/api/v1/schedules", headers=analyst, json={
            "name": f"busy-{policy}", "kind": "profile", "target": {"dataset": "busy"},
            "interval_s": 1, "concurrency_policy": policy})
        assert created.status_code == 201
    # Hold every run queued (a limit of 0), so each run stays active until the next one.
    admin = bearer(await Users(db, ray_client).token_for(Role.admin))
    me = (await ray_client.get("/api/v1/users/me", headers=analyst)).json()
    assert (await ray_client.put("/api/v1/job-limits", headers=admin, json={"limits": [
        {"scope": "user", "key": me["id"], "max_running": 0}]})).status_code == 200
    schedules = (await ray_client.get("/api/v1/schedules", headers=analyst)).json()["items"]
    by_name = {s["name"]: s["id"] for s in schedules}
    # Wait for three replace fires (once a second when the machine is quiet; a busy CI
    # machine has been seen to fire twice in five seconds), then check forbid fired once.
    await _wait_runs(ray_client, analyst, by_name["busy-replace"], 3)
    forbid = await _runs(ray_client, analyst, by_name["busy-forbid"])
    replace = await _runs(ray_client, analyst, by_name["busy-replace"])
    assert len(forbid) == 1 and forbid[0]["status"] == "queued"  # later runs were skipped
    assert len(replace) >= 3
    assert [j["status"] for j in replace[:-1]] == ["cancelled"] * (len(replace) - 1)
    assert replace[-1]["status"] in ("queued", "cancelled")
    assert "replaced by the schedule's run" in replace[0]["error"]


async def test_schedule_validation_and_ownership(ray_client, analyst, db):
    await _dataset(ray_client, analyst, "mine")
    other = bearer(await Users(db, ray_client).token_for(Role.analyst))
    viewer = bearer(await Users(db, ray_client).token_for(Role.viewer))
    base = {"name": "s", "kind": "profile", "target": {"dataset": "mine"}}
    cases = [
        ({**base, "cron": "every day"}, ["body", "cron"]),
        ({**base, "cron": "0 2 * * *", "timezone": "Mars/Olympus"}, ["body", "timezone"]),
        ({**base, "cron": "0 2 * * *", "interval_s": 60}, ["body", "cron"]),
        ({**base}, ["body", "cron"]),
        ({**base, "interval_s": 60, "target": {}}, ["body", "target", "dataset"]),
        ({**base, "interval_s": 60, "target": {"dataset": "nope"}},
         ["body", "target", "dataset"]),
        ({**base, "interval_s": 60, "kind": "query",
          "target": {"dataset": "mine", "query": {"filter": "nope > 1"}}},
         ["body", "target", "query", "filter"]),
        ({**base, "interval_s": 60, "kind": "pipeline", "target": {"pipeline_id": "x"}},
         ["body", "target", "pipeline_id"]),
        ({**base, "interval_s": 0}, ["body", "interval_s"]),
    ]
    for body, loc in cases:
        response = await ray_client.post("/api/v1/schedules", headers=analyst, json=body)
        assert response.status_code == 422, (body, response.text)
        assert response.json()["errors"][0]["loc"] == loc, (body, response.json())
    # Profiling someone else's dataset on a schedule is a write to it: 403, as now.
    assert (await ray_client.post("/api/v1/schedules", headers=other, json={
        **base, "interval_s": 60})).status_code == 403
    assert (await ray_client.post("/api/v1/schedules", headers=viewer, json={
        **base, "interval_s": 60})).status_code == 403
    mine = await ray_client.post("/api/v1/schedules", headers=analyst,
                                 json={**base, "cron": "30 2 * * *", "timezone": "Asia/Tokyo"})
    assert mine.status_code == 201
    due = _at(mine.json()["next_run_at"])
    assert (due.hour, due.minute) == (17, 30)  # 02:30 in Tokyo is 17:30 UTC
    assert (await ray_client.post("/api/v1/schedules", headers=analyst,
                                  json={**base, "interval_s": 5})).status_code == 409
    sid = mine.json()["id"]
    assert (await ray_client.patch(f"/api/v1/schedules/{sid}", headers=other,
                                   json={"paused": True})).status_code == 403
    assert (await ray_client.delete(f"/api/v1/schedules/{sid}",
                                    headers=other)).status_code == 403
    assert (await ray_client.get(f"/api/v1/schedules/{sid}", headers=viewer)).status_code == 200


async def test_scheduler_killed_by_pid_fires_each_run_once(ray_client, analyst, db,
                                                           ray_settings):
    await _dataset(ray_client, analyst, "steady")
    created = await ray_client.post("/api/v1/schedules", headers=analyst, json={
        "name": "steady", "kind": "profile", "target": {"dataset": "steady"},
        "interval_s": 1, "concurrency_policy": "allow"})
    assert created.status_code == 201
    sid = created.json()["id"]
    await _wait_runs(ray_client, analyst, sid, 2)
    scheduler = _scheduler(ray_settings)
    for _ in range(2):
        state = await scheduler.state.remote()
        os.kill(state["pid"], 9)

        # Ray restarts it, and its loop starts with it: nothing has to tell it to go on.
        await async_wait_for(
            lambda: asyncio.wait_for(scheduler.state.remote(), 30),
            lambda now, before=state["pid"]: now["pid"] != before and now["ticks"] >= 2,
            timeout_s=60, what="the scheduler to restart and tick", interval_s=0.5,
            retry_on=(RayActorError, TimeoutError))  # still down, or being restarted
    await _wait_runs(ray_client, analyst, sid, 5)
    # Two schedulers racing on the same due time: one fires, the other finds it moved on.
    async with db() as session:
        schedule = await session.get(Schedule, __import__("uuid").UUID(sid))
        assert schedule is not None
        now = utcnow()
    results = []
    for _ in range(2):
        async with db() as session:
            row = await session.get(Schedule, schedule.id)
            assert row is not None
            row.next_run_at = schedule.next_run_at  # both saw this due time
            results.append(row)
    outcomes = []
    for row in results:
        async with db() as session:
            outcomes.append((await catalog_schedules.fire(session, ray_settings, row,
                                                          now))[0])
    assert sorted(outcomes) in (["fired", "lost"], ["lost", "lost"]), outcomes
    async with db() as session:
        due_times = [j.scheduled_for for j in await session.scalars(
            select(Job).where(Job.schedule_id == schedule.id))]
    assert len(due_times) == len(set(due_times)) >= 5
    steps = sorted(due_times)
    assert all((b - a).total_seconds() >= 1 for a, b in itertools.pairwise(steps))
