"""TabularPredictor autoscaling on the shared Ray session: under sustained load the replica
count rises above one, and falls back once the load stops (short delays for the test)."""

from __future__ import annotations

import asyncio
import time
import uuid

import numpy as np
import pandas as pd
import pytest

from deployments.tabular import TabularPredictor, model_id
from pipelines import registry
from pipelines.training import TrainSpec, train

pytestmark = pytest.mark.usefixtures("serve_http_port")


def _running(app: str) -> int:
    from ray import serve

    status = serve.status().applications[app].deployments["TabularPredictor"]
    return int(status.replica_states.get("RUNNING", 0))


async def test_replicas_scale_up_under_load_and_back_down(tmp_path):
    from ray import serve

    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"x": rng.normal(size=200), "y": rng.normal(size=200)})
    frame["label"] = np.where(frame.x + frame.y > 0, "a", "b")
    spec = TrainSpec(model="auto", dataset="d", target="label", features=["x", "y"],
                     task="classification", algorithm="random_forest")
    model, info = train(spec, frame, {"x": "float", "y": "float", "label": "string"})
    registry.save(model, registry.artifact_path(tmp_path, "auto", 1))

    app = f"autoscale-{uuid.uuid4().hex[:6]}"
    deployment = TabularPredictor.options(autoscaling_config={
        "min_replicas": 1, "max_replicas": 2, "initial_replicas": 1,
        "target_ongoing_requests": 1, "upscale_delay_s": 0.5, "downscale_delay_s": 2,
        "look_back_period_s": 11})
    handle = serve.run(deployment.bind({"data_root": str(tmp_path), "home": str(tmp_path)}),
                       name=app, route_prefix=f"/{app}")
    try:
        target = handle.options(multiplexed_model_id=model_id("auto", 1))
        request = {"features": info["features"],
                   "records": frame[["x", "y"]].head(50).to_dict("records")}
        assert len(await target.predict.remote(request)) == 50
        assert _running(app) == 1

        stop = time.monotonic() + 60
        peak = 1

        async def load() -> None:
            while time.monotonic() < stop:
                await target.predict.remote(request)

        workers = [asyncio.create_task(load()) for _ in range(16)]
        while time.monotonic() < stop and peak < 2:
            await asyncio.sleep(0.5)
            peak = max(peak, _running(app))
        stop = time.monotonic()  # end the load
        await asyncio.gather(*workers)
        assert peak == 2, "no second replica under sustained load"

        deadline = time.monotonic() + 60
        replicas = _running(app)
        while replicas > 1 and time.monotonic() < deadline:  # polling Serve's status
            await asyncio.sleep(0.5)
            replicas = _running(app)
        assert replicas == 1, "did not scale back down after the load stopped"
    finally:
        serve.delete(app)
