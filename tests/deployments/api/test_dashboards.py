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


async def test_dashboard_settings_layout_and_chart_options(client, users):
    analyst = bearer(await users.token_for(Role.analyst))
    dataset = (await upload(client, analyst, "sales", CSV)).json()
    chart = {"id": "m", "title": "Monthly", "dataset_id": dataset["id"], "kind": "line",
             "query": {"group_by": [{"column": "day", "bucket": "month"}],
                       "aggregations": [{"op": "sum", "column": "sales"}],
                       "order_by": [{"column": "day"}]},
             "x": "day_month", "y": ["sales_sum"], "labels": {"sales_sum": "Sales"},
             "formats": {"sales_sum": {"style": "number", "decimals": 1, "unit": "kg"},
                         "day_month": {"style": "month"}},
             "x_title": "Month", "y_title": "Sales (kg)", "sort": "value_desc", "top_n": 5,
             "layout": {"x": 6, "y": 0, "w": 6, "h": 8}}
    settings = {"filters": [{"id": "f1", "dataset_id": dataset["id"], "column": "city",
                             "values": ["Oslo"]}],
                "time_range": {"dataset_id": dataset["id"], "column": "day",
                               "start": "2024-01-01", "end": "2024-02-01"},
                "refresh_s": 60}
    created = await client.post("/api/v1/dashboards", headers=analyst,
                                json={"name": "Ops", "charts": [chart], "settings": settings})
    assert created.status_code == 201, created.text
    board = created.json()
    assert board["settings"] == settings and board["charts"][0]["layout"] == chart["layout"]
    url = f"/api/v1/dashboards/{board['id']}"
    # An update without settings keeps them; with settings replaces them.
    kept = await client.put(url, headers=analyst, json={"name": "Ops", "charts": [chart],
                                                        "version": 1})
    assert kept.json()["settings"] == settings
    cleared = await client.put(url, headers=analyst, json={
        "name": "Ops", "charts": [chart], "version": 2, "settings": {}})
    assert cleared.json()["settings"] == {"filters": [], "time_range": None, "refresh_s": None}
    for bad, loc in [
        ({"filters": [{"id": "f", "dataset_id": dataset["id"], "column": "ghost"}]},
         ["body", "settings", "filters", "0", "column"]),
        ({"time_range": {"dataset_id": dataset["id"], "column": "city"}},
         ["body", "settings", "time_range", "column"]),
        ({"time_range": {"dataset_id": dataset["id"], "column": "day", "start": "soon"}},
         ["body", "settings", "time_range"]),
        ({"refresh_s": 1}, ["body", "settings", "refresh_s"]),
    ]:
        response = await client.put(url, headers=analyst, json={
            "name": "Ops", "charts": [chart], "version": 3, "settings": bad})
        assert response.status_code == 422, (bad, response.text)
        assert response.json()["errors"][0]["loc"] == loc, response.json()
    wide = await client.put(url, headers=analyst, json={
        "name": "Ops", "version": 3, "charts": [{**chart, "layout": {"x": 0, "w": 13}}]})
    assert wide.status_code == 422
    assert wide.json()["errors"][0]["loc"] == ["body", "charts", 0, "layout", "w"] or \
        wide.json()["errors"][0]["loc"] == ["body", "charts", "0", "layout", "w"]
