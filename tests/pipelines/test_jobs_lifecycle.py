"""Job lifecycle on real Ray and PostgreSQL: failures, cancel, kill mid-write, out-of-core,
read_sql, profile, WebSocket events through Serve, and `helio submit`."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import text

from cluster.local_ray import process_alive
from cluster.migrate import upgrade
from cluster.models import Role
from tests.conftest import Users, bearer
from tests.pipelines.conftest import start_pipeline, upload, wait_job
from tests.waiting import wait_for

pytestmark = pytest.mark.usefixtures("ray_session")


@pytest.fixture(scope="module")
def database_url(postgres_url: str) -> str:
    """These tests are slow: PostgreSQL only (the upload->query flow covers SQLite)."""
    upgrade(postgres_url)
    return postgres_url


@pytest.fixture
async def analyst(db, ray_client) -> dict[str, str]:
    return bearer(await Users(db, ray_client).token_for(Role.analyst))


async def _versions(client, headers, name) -> list[int]:
    found = (await client.get("/api/v1/datasets", headers=headers,
                              params={"search": name})).json()["items"]
    match = [d for d in found if d["name"] == name]
    if not match:
        return []
    detail = (await client.get(f"/api/v1/datasets/{match[0]['id']}", headers=headers)).json()
    return sorted(v["version"] for v in detail["versions"])


def _big_parquet(path: Path, rows: int) -> bytes:
    rng = np.random.default_rng(3)
    writer = None
    chunk = 1_000_000
    for start in range(0, rows, chunk):
        n = min(chunk, rows - start)
        table = pa.table({"id": np.arange(start, start + n), "k": rng.integers(0, 1000, n),
                          **{f"x{i}": rng.random(n) for i in range(6)}})
        writer = writer or pq.ParquetWriter(path, table.schema, compression="none")
        writer.write_table(table)
    assert writer is not None
    writer.close()
    return path.read_bytes()


async def test_failing_run_keeps_the_previous_version(ray_client, analyst):
    await upload(ray_client, analyst, "src", b"a,b\n1,x\n2,y\n0,z\n")
    ok = await wait_job(ray_client, analyst, await start_pipeline(
        ray_client, analyst, "good", {"source": {"dataset": "src"}, "steps": [],
                                      "sink": {"dataset": "dst"}}))
    assert ok["status"] == "succeeded"
    bad = await wait_job(ray_client, analyst, await start_pipeline(
        ray_client, analyst, "bad", {"source": {"dataset": "src"}, "steps": [
            {"op": "cast", "columns": {"b": "int"}}], "sink": {"dataset": "dst"}}))
    assert bad["status"] == "failed"
    assert "Could not convert" in bad["error"] or "conversion" in bad["error"].lower(), bad
    assert await _versions(ray_client, analyst, "dst") == [1]


async def test_cancel_mid_write_publishes_nothing(ray_client, analyst, tmp_path,
                                                  ray_settings):
    content = _big_parquet(tmp_path / "big.parquet", 3_000_000)
    big = await upload(ray_client, analyst, "big", content, filename="big.parquet")
    assert big.status_code == 201
    spec = {"source": {"dataset": "big"}, "steps": [
        {"op": "derive", "column": "y", "expr": "x0 * x1 + sqrt(x2)"},
        {"op": "dedupe", "columns": ["id"]}], "sink": {"dataset": "big_out"},
        "plan": "distributed"}
    job_id = await start_pipeline(ray_client, analyst, "slow", spec)
    running = await wait_job(ray_client, analyst, job_id, until={"running"})
    cancelled = await ray_client.post(f"/api/v1/jobs/{job_id}/cancel", headers=analyst)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert (await ray_client.post(f"/api/v1/jobs/{job_id}/cancel",
                                  headers=analyst)).status_code == 409
    # The runner notices (at its heartbeat, or the handler at a progress call), lets the
    # handler clean up, and leaves either way: its work may go on inside a library call.
    runner_pid = int(running["attempts"][0]["pid"])
    await asyncio.to_thread(wait_for, lambda: not process_alive(runner_pid), timeout_s=60,
                            what=f"the cancelled job's runner (pid {runner_pid}) to leave")
    assert await _versions(ray_client, analyst, "big_out") == []
    # The cancelled attempt's runner left (it cannot stop a library call halfway) and was
    # started again; the half-written staging files are not a version.
    root = Path(ray_settings.resolved_data_root) / "datasets"
    assert {p.parent.name for p in root.glob("*/v*")} == {big.json()["id"]}  # only the input


async def test_runner_killed_mid_run_retries_and_publishes_once(ray_client, analyst,
                                                                tmp_path):
    """SIGKILL the warm runner (by pid) while it runs a pipeline: the runner restarts,
    fails the attempt it lost as retryable, the job runs again and publishes exactly one
    version; both attempts are on the job."""
    content = _big_parquet(tmp_path / "big.parquet", 2_000_000)
    assert (await upload(ray_client, analyst, "big", content,
                         filename="big.parquet")).status_code == 201
    spec = {"source": {"dataset": "big"}, "steps": [
        {"op": "derive", "column": "y", "expr": "x0 * x1 + sqrt(x2)"},
        {"op": "dedupe", "columns": ["id"]}], "sink": {"dataset": "big_out"},
        "plan": "distributed"}
    job_id = await start_pipeline(ray_client, analyst, "killed", spec)
    running = await wait_job(ray_client, analyst, job_id, until={"running"})
    assert running["attempt"] == 1 and running["runner"].startswith("helio-runner-")
    first = running["attempts"][0]
    assert first["task_id"] and first["actor_id"] and first["node_id"]
    os.kill(int(first["pid"]), 9)
    job = await wait_job(ray_client, analyst, job_id, timeout_s=180)
    assert job["status"] == "succeeded", job
    assert job["attempt"] == 2 and [a["outcome"] for a in job["attempts"]] == [
        "retrying", "succeeded"], job["attempts"]
    assert "stopped" in job["attempts"][0]["error"]
    assert await _versions(ray_client, analyst, "big_out") == [1]
    logs = (await ray_client.get(f"/api/v1/jobs/{job_id}/logs", headers=analyst)).json()
    assert "attempt 1 of 3" in logs["logs"] and "attempt 2 of 3" in logs["logs"]


async def test_out_of_core_pipeline_with_bounded_memory(ray_client, analyst, tmp_path):
    """~640 MB of Arrow data through a 128 MB object store."""
    from tests.ray_session import OBJECT_STORE_BYTES

    rows = 10_000_000
    content = _big_parquet(tmp_path / "huge.parquet", rows)
    in_memory = rows * 8 * 8
    assert in_memory > 4 * OBJECT_STORE_BYTES
    assert (await upload(ray_client, analyst, "huge", content,
                         filename="huge.parquet")).status_code == 201
    job = await wait_job(ray_client, analyst, await start_pipeline(
        ray_client, analyst, "ooc", {"source": {"dataset": "huge"}, "steps": [
            {"op": "filter", "expr": "x0 < 0.5"},
            {"op": "derive", "column": "z", "expr": "x1 + x2"},
            {"op": "aggregate", "group_by": ["k"], "aggregations": [
                {"op": "count"}, {"op": "sum", "column": "z"}]}],
            "sink": {"dataset": "ooc_out"}, "plan": "distributed"}), timeout_s=600)
    assert job["status"] == "succeeded", job
    assert job["result"]["rows_in"] == rows
    assert job["result"]["rows_out"] == 1000
    # The runner (~300 MB of imports: Ray, pyarrow, DuckDB, SQLAlchemy) never holds the
    # data: its memory grows by far less than the data during the run.
    result = job["result"]
    assert result["driver_max_rss_mb"] >= result["driver_rss_start_mb"] > 0, result
    assert result["driver_rss_growth_mb"] * (1 << 20) < 0.3 * in_memory, result
    total = await ray_client.post(f"/api/v1/datasets/{job['result']['dataset_id']}/query",
                                  headers=analyst,
                                  json={"aggregations": [{"op": "sum", "column": "count"}]})
    # Same seed as _big_parquet: count x0 < 0.5 directly.
    table = pq.read_table(tmp_path / "huge.parquet", columns=["x0"])
    expected = int(np.count_nonzero(table.column("x0").to_numpy() < 0.5))
    assert total.json()["rows"] == [[expected]]


async def test_profile_job(ray_client, analyst):
    created = (await upload(ray_client, analyst, "prof",
                            b"n,s\n1,a\n2,a\n3,b\n,c\n10,a\n")).json()
    job = await ray_client.post(f"/api/v1/datasets/{created['id']}/profile", headers=analyst)
    assert job.status_code == 202
    done = await wait_job(ray_client, analyst, job.json()["id"])
    assert done["status"] == "succeeded", done
    detail = (await ray_client.get(f"/api/v1/datasets/{created['id']}", headers=analyst)).json()
    columns = {c["name"]: c for c in detail["profile"]["columns"]}
    assert columns["n"]["nulls"] == 1 and columns["n"]["min"] == 1 and columns["n"]["max"] == 10
    assert columns["n"]["mean"] == pytest.approx(4.0)
    assert sum(b["count"] for b in columns["n"]["histogram"]) == 4
    assert columns["s"]["top_values"][0] == {"value": "a", "count": 3}
    assert detail["latest"]["has_profile"] is True


async def test_read_sql_source(ray_settings, db, postgres_url):
    """`POST /datasets/sql` reads a configured PostgreSQL source with ray.data.read_sql."""
    from cluster.db import create_engine
    from deployments.api.main import create_api

    engine = create_engine(postgres_url)
    async with engine.begin() as conn:
        await conn.execute(text("DROP TABLE IF EXISTS sales_src"))
        await conn.execute(text("CREATE TABLE sales_src (id int, region text, amount numeric)"))
        await conn.execute(text("INSERT INTO sales_src SELECT g, CASE WHEN g % 2 = 0 THEN "
                                "'north' ELSE 'south' END, g * 1.5 FROM generate_series(1, 500) g"))
    await engine.dispose()
    settings = type(ray_settings)(**{**ray_settings.model_dump(),
                                     "sql_sources": {"warehouse": postgres_url}})
    api = create_api(settings, use_actors=True)
    transport = httpx.ASGITransport(app=api, client=("127.0.0.1", 50002))
    async with api.router.lifespan_context(api), httpx.AsyncClient(
            transport=transport, base_url="https://testserver", timeout=60) as client:
        headers = bearer(await Users(db, client).token_for(Role.analyst))
        unknown = await client.post("/api/v1/datasets/sql", headers=headers, json={
            "name": "s", "source": "nope", "query": "SELECT 1"})
        assert unknown.status_code == 422
        assert unknown.json()["errors"][0]["loc"] == ["body", "source"]
        job = await client.post("/api/v1/datasets/sql", headers=headers, json={
            "name": "sales", "source": "warehouse",
            "query": "SELECT region, amount FROM sales_src WHERE id <= 100"})
        assert job.status_code == 202, job.text
        done = await wait_job(client, headers, job.json()["id"])
        assert done["status"] == "succeeded", done
        assert done["result"]["rows_out"] == 100
        result = await client.post(f"/api/v1/datasets/{done['result']['dataset_id']}/query",
                                   headers=headers, json={
                                       "group_by": ["region"], "order_by": [{"column": "region"}],
                                       "aggregations": [{"op": "sum", "column": "amount"}]})
        assert result.json()["rows"] == [["north", 3825.0], ["south", 3750.0]]
        assert "postgresql://" not in json.dumps(done)  # the URL never leaves the cluster


async def test_websocket_delivers_job_progress_through_serve(served, stack_sessions):
    import websockets
    from websockets.exceptions import InvalidStatus

    async with httpx.AsyncClient(base_url=served, timeout=60) as http:
        token = await Users(stack_sessions, http).token_for(Role.analyst)
        headers = bearer(token)
        ws_url = served.replace("http://", "ws://") + "/api/v1/events"
        with pytest.raises(InvalidStatus):
            async with websockets.connect(ws_url):
                pass
        async with websockets.connect(f"{ws_url}?token={token}") as ws:
            assert json.loads(await ws.recv())["type"] == "hello"
            await upload(http, headers, "ws_src", b"a\n" + b"1\n" * 1000)
            job_id = await start_pipeline(http, headers, "ws", {
                "source": {"dataset": "ws_src"}, "steps": [{"op": "dedupe"}],
                "sink": {"dataset": "ws_dst"}})
            seen: list[dict] = []
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                event = json.loads(await asyncio.wait_for(ws.recv(), 60))
                if event.get("type") == "job" and event["job"]["id"] == job_id:
                    seen.append(event["job"])
                    if event["job"]["status"] in ("succeeded", "failed"):
                        break
            # Platform metrics arrive once a second, aggregated over the ingress replicas.
            metrics: list[dict] = []
            while len(metrics) < 3:
                event = json.loads(await asyncio.wait_for(ws.recv(), 10))
                if event.get("type") == "metrics":
                    metrics.append(event["metrics"])
                    await http.get("/api/v1/users/me", headers=headers)
        assert any(m["requests_per_s"] > 0 for m in metrics), metrics
        last = metrics[-1]
        assert last["replicas"]["ApiIngress"] >= 1 and last["cpu_total"] >= 1
        assert last["running_jobs"] == 0 and last["memory_total_bytes"] > 0
        # A window holds latencies only if a replica's one-second push landed in it; the
        # windows that saw requests carry ordered quantiles, and at least one did.
        busy = [m for m in metrics if m["requests_per_s"] > 0]
        assert busy and all(m["p50_ms"] is not None and m["p50_ms"] <= m["p99_ms"]
                            for m in busy), metrics

        # Helio's application metrics reach Ray's Prometheus endpoint after traffic.
        import ray

        port = ray._private.worker.global_worker.node.metrics_export_port
        deadline = time.monotonic() + 90
        text = ""
        while time.monotonic() < deadline:
            await http.get("/api/v1/users/me", headers=headers)
            text = (await http.get(f"http://127.0.0.1:{port}/metrics")).text
            if 'route="/api/v1/users/me"' in text and "helio_jobs_running" in text:
                break
            await asyncio.sleep(2)
        helio = "\n".join(line[:160] for line in text.splitlines() if "helio_" in line)
        assert 'helio_http_requests_total{' in text and 'route="/api/v1/users/me"' in text, \
            f"port {port}: {helio[-3000:]}"
        assert "helio_http_request_duration_ms_bucket" in text
        assert "helio_jobs_running" in text and "helio_rate_limit_allowed_total" in text
        statuses = [e["status"] for e in seen]
        assert statuses[-1] == "succeeded", seen
        assert "running" in statuses and seen[-1].get("progress") == 1.0


async def test_helio_submit_and_helio_schedule(served, stack_sessions, tmp_path):
    async with httpx.AsyncClient(base_url=served, timeout=60) as http:
        # Admins choose a key's role.
        token = await Users(stack_sessions, http).token_for(Role.admin)
        created = await http.post("/api/v1/api-keys", headers=bearer(token),
                                  json={"name": "cli", "role": "analyst"})
        assert created.status_code == 201, created.text
        key = created.json()["key"]
    script = tmp_path / "double.py"
    script.write_text(textwrap.dedent("""
        import sys
        import ray
        ray.init(include_dashboard=False)  # a private Ray in the sandbox; no UI needed
        n = int(sys.argv[2])
        print("doubled:", ray.get(ray.remote(lambda x: x * 2).remote(n)), "args:", sys.argv[1:])
    """))
    helio = Path(sys.executable).parent / "helio"
    result = await asyncio.to_thread(
        subprocess.run, [str(helio), "submit", str(script), "--", "--n", "21"],
        env={**os.environ, "HELIO_API_URL": served, "HELIO_API_KEY": key},
        capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "doubled: 42 args: ['--n', '21']" in result.stdout
    assert "succeeded" in result.stdout

    # `helio schedule`, with the same key: create (next runs printed), list, pause,
    # resume, delete; a malformed cron is refused with the API's message.
    key_auth = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=served, timeout=60) as http:
        assert (await upload(http, key_auth, "cli_src", b"a,b\n1,2\n")).status_code == 201
        assert (await http.post("/api/v1/pipelines", headers=key_auth, json={
            "name": "cli-pipe", "spec": {"source": {"dataset": "cli_src"},
                                         "sink": {"dataset": "cli_out"}}})).status_code == 201

    async def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return await asyncio.to_thread(
            subprocess.run, [str(helio), "schedule", *args],
            env={**os.environ, "HELIO_API_URL": served, "HELIO_API_KEY": key,
                 "COLUMNS": "200"}, capture_output=True, text=True, timeout=120, check=False)

    created = await cli("create", "nightly", "--pipeline", "cli-pipe", "--cron", "0 2 * * *",
                        "--tz", "Europe/Berlin")
    assert created.returncode == 0, created.stdout + created.stderr
    # 02:00 in Berlin is 01:00 UTC in winter, 00:00 in summer.
    assert "next runs:" in created.stdout and re.search(r"T0[01]:00:00", created.stdout)
    listed = await cli("list")
    assert "nightly" in listed.stdout and "0 2 * * * (Europe/Berlin)" in listed.stdout
    assert "active" in listed.stdout
    assert "nightly: paused" in (await cli("pause", "nightly")).stdout
    assert "paused" in (await cli("list")).stdout
    assert "nightly: next run" in (await cli("resume", "nightly")).stdout
    bad = await cli("create", "broken", "--pipeline", "cli-pipe", "--cron", "61 * * * *")
    assert bad.returncode == 1 and "Refused (422)" in bad.stdout, bad.stdout
    assert (await cli("delete", "nightly")).returncode == 0
    assert "nightly" not in (await cli("list")).stdout
