"""`helio run pipeline|train`: the RayJob entrypoints record a job and drive it in-process
(against the shared Ray session), visible through the API like any other job."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cluster.jobs import driver_env
from cluster.migrate import upgrade
from cluster.models import Role
from tests.conftest import Users, bearer
from tests.pipelines.conftest import upload

pytestmark = pytest.mark.usefixtures("ray_session")
HELIO = Path(sys.executable).parent / "helio"


@pytest.fixture(scope="module")
def database_url(postgres_url: str) -> str:
    upgrade(postgres_url)
    return postgres_url


async def _helio(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(subprocess.run, [str(HELIO), *args], env=env,
                                   capture_output=True, text=True, timeout=300, check=False)


async def test_run_pipeline_and_train_from_the_cli(ray_client, ray_settings, db, tmp_path):
    import ray

    headers = bearer(await Users(db, ray_client).token_for(Role.analyst))
    rows = "\n".join(f"{i},{'a' if i % 3 else 'b'},{i * 1.5}" for i in range(60))
    assert (await upload(ray_client, headers, "cli_src", f"id,kind,x\n{rows}\n".encode())
            ).status_code == 201
    created = await ray_client.post("/api/v1/pipelines", headers=headers, json={
        "name": "cli-pipe", "spec": {"source": {"dataset": "cli_src"},
                                     "steps": [{"op": "filter", "expr": "x > 30"}],
                                     "sink": {"dataset": "cli_out"}}})
    assert created.status_code == 201, created.text
    env = {**os.environ, **driver_env(ray_settings),
           "RAY_ADDRESS": ray.get_runtime_context().gcs_address}

    ran = await _helio(env, "run", "pipeline", "cli-pipe")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    jobs = (await ray_client.get("/api/v1/jobs", headers=headers)).json()["items"]
    assert [(j["kind"], j["status"]) for j in jobs] == [("pipeline", "succeeded")]
    out = (await ray_client.get("/api/v1/datasets", headers=headers,
                                params={"search": "cli_out"})).json()["items"][0]
    assert out["latest"]["num_rows"] == 39  # x = 1.5 * i > 30 for i in 21..59

    spec = tmp_path / "train.json"
    spec.write_text(json.dumps({"model": "cli-model", "dataset": "cli_src", "target": "kind",
                                "features": ["x"], "task": "classification",
                                "algorithm": "logistic"}))
    trained = await _helio(env, "run", "train", str(spec))
    assert trained.returncode == 0, trained.stdout + trained.stderr
    model = (await ray_client.get("/api/v1/models/cli-model", headers=headers)).json()
    assert model["versions"][0]["version"] == 1

    missing = await _helio(env, "run", "pipeline", "nope")
    assert missing.returncode == 2 and "no pipeline named" in missing.stdout
    spec.write_text('{"model": "m"}')
    bad = await _helio(env, "run", "train", str(spec))
    assert bad.returncode == 2 and "invalid training spec" in bad.stdout
