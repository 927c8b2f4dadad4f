"""Multi-node, for real: a second Ray node (a `ray start` of its own) joins the shared
session; a pipeline's tasks run on both nodes; the worker node is killed mid-run and the
job still completes with the right output."""

from __future__ import annotations

import asyncio
import io
import time
from datetime import datetime

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cluster.migrate import upgrade
from cluster.models import Role
from tests.conftest import Users, bearer
from tests.pipelines.conftest import start_pipeline, upload, wait_job
from tests.ray_nodes import worker_node
from tests.ray_session import state_address

pytestmark = pytest.mark.usefixtures("ray_session")

ROWS = 3_000_000  # three source files (1M rows each): read tasks for both nodes


@pytest.fixture(scope="module")
def database_url(postgres_url: str) -> str:
    upgrade(postgres_url)
    return postgres_url


def _source() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    return pd.DataFrame({"k": rng.integers(0, 500, ROWS), "x": rng.integers(0, 1000, ROWS),
                         "s": rng.choice(["a", "bb", "ccc"], ROWS)})


def _runner_job_id(actor_id: str) -> str:
    """The Ray job the warm runner's tasks belong to (the job that created the actor)."""
    from ray.util.state import get_actor

    actor = get_actor(actor_id, address=state_address())
    assert actor is not None, f"runner actor {actor_id} not found"
    return str(actor.job_id)


def _task_nodes(ray_job_id: str, since_ms: int) -> dict[str, set[str]]:
    """Node id -> names of the tasks of `ray_job_id` created since `since_ms` (the Ray
    state API)."""
    from ray.util.state import list_tasks

    nodes: dict[str, set[str]] = {}
    for task in list_tasks(address=state_address(), filters=[("job_id", "=", ray_job_id)],
                           limit=10_000,
                           detail=True, raise_on_missing_output=False):
        if task.node_id and (task.creation_time_ms or 0) >= since_ms:
            nodes.setdefault(task.node_id, set()).add(task.name)
    return nodes


async def test_pipeline_completes_when_a_worker_node_dies_mid_run(
        ray_client, ray_settings, db, tmp_path):
    import ray

    headers = bearer(await Users(db, ray_client).token_for(Role.analyst))
    frame = _source()
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), buffer)
    created = await upload(ray_client, headers, "mn_events", buffer.getvalue(),
                           filename="events.parquet")
    assert created.status_code == 201, created.text
    spec = {"source": {"dataset": "mn_events"},
            "steps": [{"op": "filter", "expr": "x % 7 != 0"},
                      {"op": "derive", "column": "y", "expr": "x * 2 + length(s)"},
                      {"op": "aggregate", "group_by": ["k"],
                       "aggregations": [{"op": "sum", "column": "y"}, {"op": "count"}]},
                      {"op": "sort", "by": [{"column": "k"}]}],
            "sink": {"dataset": "mn_totals"}, "plan": "distributed"}
    head = ray.get_runtime_context().get_node_id()

    with worker_node(tmp_path, num_cpus=2) as node:
        job_id = await start_pipeline(ray_client, headers, "mn-pipe", spec)
        job = await wait_job(ray_client, headers, job_id, until={"running", "succeeded",
                                                                 "failed", "cancelled"})
        # The run is an attempt in a warm runner actor: its Ray Data tasks belong to the
        # runner's Ray job; only those created since the attempt started are this run's.
        attempt = job["attempts"][-1]
        since_ms = int(datetime.fromisoformat(attempt["started_at"]).timestamp() * 1000)
        driver = await asyncio.to_thread(_runner_job_id, attempt["actor_id"])
        # Kill the worker node once it has run some of the pipeline's batches (not just
        # Parquet metadata reads).
        deadline = time.monotonic() + 120
        while not any("MapBatches" in name for name in (await asyncio.to_thread(
                _task_nodes, driver, since_ms)).get(node.node_id, ())):
            assert time.monotonic() < deadline, "no batch of the job ran on the worker node"
            await asyncio.sleep(0.1)
        at_kill = (await ray_client.get(f"/api/v1/jobs/{job_id}", headers=headers)).json()
        await asyncio.to_thread(node.kill)
    assert at_kill["status"] == "running", "the job finished before the node was removed"

    job = await wait_job(ray_client, headers, job_id, timeout_s=300)
    assert job["status"] == "succeeded", job
    nodes = await asyncio.to_thread(_task_nodes, driver, since_ms)
    assert {head, node.node_id} <= set(nodes), nodes

    kept = frame[frame.x % 7 != 0].assign(y=lambda f: f.x * 2 + f.s.str.len())
    expected = kept.groupby("k").agg(y_sum=("y", "sum"), count=("y", "size")).reset_index()
    out = (await ray_client.get("/api/v1/datasets", headers=headers,
                                params={"search": "mn_totals"})).json()["items"][0]
    preview = (await ray_client.get(f"/api/v1/datasets/{out['id']}/preview", headers=headers,
                                    params={"limit": 1000})).json()
    assert [c["name"] for c in preview["columns"]] == ["k", "y_sum", "count"]
    assert [tuple(r) for r in preview["rows"]] == list(expected.itertuples(index=False,
                                                                            name=None))
