"""Upload -> pipeline -> Ray Job -> new version -> query, through the API on real Ray."""

from __future__ import annotations

import pandas as pd
import pytest

from cluster.models import Role
from tests.conftest import Users, bearer
from tests.pipelines.conftest import upload, wait_job

pytestmark = pytest.mark.usefixtures("ray_session")

CSV = b"""order_id,country,amount,placed_at
1,DE,10.5,2024-01-03 10:00:00
2,FR,20.0,2024-01-03 11:00:00
3,DE,,2024-02-01 09:30:00
4,US,7.25,2024-02-11 12:00:00
4,US,7.25,2024-02-11 12:00:00
5,DE,99.0,2024-03-05 08:00:00
"""


@pytest.fixture
async def analyst(db, ray_client) -> dict[str, str]:
    users = Users(db, ray_client)
    return bearer(await users.token_for(Role.analyst))


async def test_pipeline_run_publishes_a_version_and_query_reads_it(ray_client, analyst):
    created = await upload(ray_client, analyst, "orders", CSV)
    assert created.status_code == 201, created.text
    orders = created.json()
    assert orders["latest"]["num_rows"] == 6
    assert [c["type"] for c in orders["latest"]["columns"]] == ["int", "string", "float",
                                                                  "timestamp"]
    spec = {
        "source": {"dataset": "orders"},
        "steps": [
            {"op": "dedupe"},
            {"op": "fill_null", "values": {"amount": 0.0}},
            {"op": "derive", "column": "month", "expr": "month(placed_at)"},
            {"op": "filter", "expr": "amount >= 0 and country != 'FR'"},
            {"op": "aggregate", "group_by": ["country"],
             "aggregations": [{"op": "count"}, {"op": "sum", "column": "amount", "as": "total"}]},
            {"op": "sort", "by": [{"column": "country"}]},
        ],
        "sink": {"dataset": "revenue"},
    }
    pipeline = await ray_client.post("/api/v1/pipelines", headers=analyst,
                                     json={"name": "revenue", "spec": spec})
    assert pipeline.status_code == 201, pipeline.text
    run = await ray_client.post(f"/api/v1/pipelines/{pipeline.json()['id']}/runs",
                                headers=analyst)
    assert run.status_code == 202, run.text
    job = await wait_job(ray_client, analyst, run.json()["id"])
    assert job["status"] == "succeeded", job
    assert job["progress"] == 1.0
    assert job["result"]["rows_out"] == 2
    # Six rows: one DuckDB statement, which reports the rows of its output only.
    assert job["result"]["plan"] == "local"
    assert [s["rows_out"] for s in job["result"]["steps"]] == [None] * 5 + [2]
    # A warm runner ran it: its actor, Ray task and node are on the attempt.
    assert job["runner"].startswith("helio-runner-") and job["ray_job_id"] is None
    assert job["attempt"] == 1 and job["attempts"][0]["outcome"] == "succeeded"
    assert job["attempts"][0]["task_id"] and job["attempts"][0]["node_id"]

    revenue = (await ray_client.get("/api/v1/datasets", headers=analyst,
                                    params={"search": "revenue"})).json()["items"][0]
    assert revenue["latest"]["version"] == 1
    assert revenue["latest"]["lineage"]["inputs"][0]["dataset_id"] == orders["id"]
    preview = (await ray_client.get(f"/api/v1/datasets/{revenue['id']}/preview",
                                    headers=analyst)).json()
    got = sorted(map(tuple, preview["rows"]))
    assert got == [("DE", 3, 109.5), ("US", 1, 7.25)]

    query = {"group_by": ["country"], "aggregations": [{"op": "mean", "column": "amount"}],
             "order_by": [{"column": "country"}]}
    first = await ray_client.post(f"/api/v1/datasets/{orders['id']}/query", headers=analyst,
                                  json=query)
    assert first.status_code == 200, first.text
    body = first.json()
    frame = pd.read_csv(__import__("io").BytesIO(CSV))
    expected = frame.groupby("country")["amount"].mean()
    assert [r[0] for r in body["rows"]] == list(expected.index)
    assert [r[1] for r in body["rows"]] == pytest.approx(list(expected.values))
    assert body["cached"] is False
    second = (await ray_client.post(f"/api/v1/datasets/{orders['id']}/query", headers=analyst,
                                    json=query)).json()
    assert second["cached"] is True and second["rows"] == body["rows"]

    logs = await ray_client.get(f"/api/v1/jobs/{job['id']}/logs", headers=analyst)
    assert logs.status_code == 200, logs.text
    text = logs.json()["logs"]
    assert "attempt 1 of 3 (pipeline)" in text and "published revenue version 1" in text
    # Stored in order; asking after the last chunk returns nothing new.
    last = logs.json()["last_seq"]
    assert last >= 0
    again = (await ray_client.get(f"/api/v1/jobs/{job['id']}/logs", headers=analyst,
                                  params={"after": last})).json()
    assert again["logs"] == "" and again["last_seq"] == last

    # A long query can run as a job instead; same answer, stored on the job.
    queued = await ray_client.post(f"/api/v1/datasets/{orders['id']}/query/jobs",
                                   headers=analyst, json=query)
    assert queued.status_code == 202, queued.text
    done = await wait_job(ray_client, analyst, queued.json()["id"])
    assert done["status"] == "succeeded", done
    assert done["result"]["rows"] == body["rows"]
    bad = await ray_client.post(f"/api/v1/datasets/{orders['id']}/query/jobs", headers=analyst,
                                json={"filter": "nope > 1"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["loc"] == ["body", "filter"]
