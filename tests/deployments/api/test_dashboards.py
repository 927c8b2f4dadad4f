"""Saved dashboards: charts validated against their dataset, optimistic locking (a stale
edit is a 409 carrying the current copy), roles."""

from __future__ import annotations

import asyncio

from cluster.models import Role
from tests.conftest import bearer
from tests.pipelines.conftest import upload

CSV = b"day,city,sales\n2024-01-01,Oslo,3\n2024-01-01,Rome,5\n2024-01-02,Oslo,4\n"


async def test_dashboard_lifecycle_and_conflicts(client, users):
    analyst = bearer(await users.token_for(Role.analyst))
    viewer = bearer(await users.token_for(Role.viewer))
    dataset = (await upload(client, analyst, "sales", CSV)).json()
    chart = {"id": "by-city", "title": "Sales by city", "dataset_id": dataset["id"],
             "query": {"group_by": ["city"], "aggregations": [{"op": "sum", "column": "sales"}]},
             "kind": "bar", "x": "city", "y": ["sales_sum"]}

    created = await client.post("/api/v1/dashboards", headers=analyst,
                                json={"name": "Sales", "charts": [chart]})
    assert created.status_code == 201, created.text
    board = created.json()
    assert board["version"] == 1 and board["charts"][0]["query"] == chart["query"]
    listed = (await client.get("/api/v1/dashboards", headers=viewer)).json()
    assert listed["total"] == 1 and listed["items"][0]["id"] == board["id"]
    assert (await client.post("/api/v1/dashboards", headers=viewer,
                              json={"name": "x"})).status_code == 403

    url = f"/api/v1/dashboards/{board['id']}"
    renamed = await client.put(url, headers=analyst,
                               json={"name": "Sales 2024", "charts": [chart], "version": 1})
    assert renamed.status_code == 200 and renamed.json()["version"] == 2
    # An edit made against version 1 (e.g. offline) is a conflict, not an overwrite.
    stale = await client.put(url, headers=analyst,
                             json={"name": "Old edit", "charts": [], "version": 1})
    assert stale.status_code == 409
    assert stale.json()["current"]["name"] == "Sales 2024"
    assert stale.json()["current"]["version"] == 2
    # Two writers racing from the same version: exactly one wins.
    racing = await asyncio.gather(*[
        client.put(url, headers=analyst, json={"name": f"w{i}", "charts": [], "version": 2})
        for i in range(2)])
    assert sorted(r.status_code for r in racing) == [200, 409]

    for bad, loc in [
        ({**chart, "query": {"group_by": ["ghost"], "aggregations": [{"op": "count"}]}},
         ["body", "charts", "0", "query", "group_by", "0"]),
        ({**chart, "dataset_id": "00000000-0000-0000-0000-000000000000"},
         ["body", "charts", "0", "dataset_id"]),
        ({**chart, "query": {"aggregations": [{"op": "median", "column": "sales"}]}},
         ["body", "charts", "0", "query", "aggregations", "0", "op"]),
    ]:
        response = await client.post("/api/v1/dashboards", headers=analyst,
                                     json={"name": "bad", "charts": [bad]})
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["loc"] == loc
    duplicate = await client.post("/api/v1/dashboards", headers=analyst,
                                  json={"name": "dup", "charts": [chart, chart]})
    assert duplicate.json()["errors"][0]["loc"] == ["body", "charts", "1", "id"]

    assert (await client.delete(url, headers=viewer)).status_code == 403
    assert (await client.delete(url, headers=analyst)).status_code == 204
    assert (await client.get(url, headers=analyst)).status_code == 404
