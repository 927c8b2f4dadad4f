"""Models end to end on real Ray + Serve + PostgreSQL: train jobs, registry, aliases,
multiplexed predictions over HTTP with an API key, validation, cache, broken artifacts."""

from __future__ import annotations

import asyncio
import io

import httpx
import numpy as np
import pandas as pd
import pytest

from cluster.migrate import upgrade
from cluster.models import Role
from pipelines import registry
from pipelines.training import prepare_frame
from tests.conftest import Users, bearer
from tests.pipelines.conftest import start_pipeline, upload, wait_job

pytestmark = pytest.mark.usefixtures("ray_session")


@pytest.fixture(scope="module")
def database_url(postgres_url: str) -> str:
    upgrade(postgres_url)
    return postgres_url


def _customers(n: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(8)
    age = rng.integers(18, 80, n)
    plan = rng.choice(["basic", "pro", "team"], n)
    logit = 0.06 * (age - 45) + np.where(plan == "basic", 1.2, -0.8)
    churned = np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "yes", "no")
    spend = 2.5 * age + np.where(plan == "team", 40, 0) + rng.normal(0, 4, n)
    return pd.DataFrame({"age": age, "plan": plan, "churned": churned, "spend": spend})


async def _train(http, headers, **body) -> dict:
    response = await http.post("/api/v1/models/train", headers=headers, json=body)
    assert response.status_code == 202, response.text
    job = await wait_job(http, headers, response.json()["id"], timeout_s=240)
    assert job["status"] == "succeeded", job
    return job


async def test_train_promote_and_predict_over_http(served, served_data, stack_sessions):
    frame = _customers()
    data_root = served_data
    async with httpx.AsyncClient(base_url=served, timeout=120) as http:
        users = Users(stack_sessions, http)
        analyst = bearer(await users.token_for(Role.analyst))
        csv = io.BytesIO()
        frame.to_csv(csv, index=False)
        assert (await upload(http, analyst, "customers", csv.getvalue())).status_code == 201

        bad = await http.post("/api/v1/models/train", headers=analyst, json={
            "model": "churn", "dataset": "customers", "target": "nope",
            "features": ["age", "ghost"], "task": "classification", "algorithm": "logistic"})
        assert bad.status_code == 422
        assert {tuple(e["loc"]) for e in bad.json()["errors"]} == {
            ("body", "target"), ("body", "features", "1")}

        churn = await _train(http, analyst, model="churn", dataset="customers",
                             target="churned", features=["age", "plan"],
                             task="classification", algorithm="logistic",
                             grid={"C": [0.01, 1.0]}, cv_folds=3)
        assert churn["result"]["version"] == 1 and churn["result"]["metrics"]["accuracy"] > 0.6
        spend = await _train(http, analyst, model="spend", dataset="customers",
                             target="spend", features=["age", "plan"], task="regression",
                             algorithm="random_forest")
        detail = (await http.get("/api/v1/models/churn", headers=analyst)).json()
        version = detail["versions"][0]
        assert version["params"] == {"C": 1.0} and len(version["metrics"]["cv"]) == 2
        assert version["lineage"]["dataset_version"] == 1
        assert [f["name"] for f in version["features"]] == ["age", "plan"]

        promoted = await http.post("/api/v1/models/churn/aliases/production", headers=analyst,
                                   json={"version": 1})
        assert promoted.status_code == 200 and promoted.json()["aliases"] == {"production": 1}
        missing = await http.post("/api/v1/models/churn/aliases/staging", headers=analyst,
                                  json={"version": 9})
        assert missing.status_code == 422

        admin = bearer(await users.token_for(Role.admin))
        key = (await http.post("/api/v1/api-keys", headers=admin,
                               json={"name": "app", "role": "app"})).json()["key"]
        app = {"X-API-Key": key}
        records = frame[["age", "plan"]].head(25).to_dict("records")
        churn_pred = await http.post("/api/v1/models/churn/predict", headers=app,
                                     json={"records": records})
        assert churn_pred.status_code == 200, churn_pred.text
        body = churn_pred.json()
        assert body["version"] == 1 and body["cached"] is False
        local = registry.load(registry.artifact_path(data_root, "churn", 1))
        features = version["features"]
        assert [p["prediction"] for p in body["predictions"]] == list(
            local.predict(prepare_frame(frame.head(25), features)))
        proba = local.predict_proba(prepare_frame(frame.head(25), features))
        assert body["predictions"][0]["probabilities"]["yes"] == pytest.approx(proba[0][1])
        again = (await http.post("/api/v1/models/churn/predict", headers=app,
                                 json={"records": records})).json()
        assert again["cached"] is True and again["predictions"] == body["predictions"]

        # Two models from the one TabularPredictor replica (multiplexed by name:version).
        spend_pred = await http.post("/api/v1/models/spend/predict", headers=app,
                                     json={"records": records})
        assert spend_pred.status_code == 200
        spend_local = registry.load(registry.artifact_path(data_root, "spend", 1))
        assert [p["prediction"] for p in spend_pred.json()["predictions"]] == pytest.approx(
            list(spend_local.predict(prepare_frame(frame.head(25), features))))
        from ray import serve

        app_name = served.rsplit("/", 1)[-1]
        replicas = serve.status().applications[app_name].deployments["TabularPredictor"]
        assert replicas.replica_states.get("RUNNING") == 1
        concurrent = await asyncio.gather(*[
            http.post(f"/api/v1/models/{m}/predict", headers=app,
                      json={"records": [{"age": 30 + i, "plan": "pro"}]})
            for i in range(20) for m in ("churn", "spend")])
        assert all(r.status_code == 200 for r in concurrent)

        for records_, loc in [
            ([{"age": 30}], ["body", "records", "0", "plan"]),
            ([{"age": 30, "plan": "pro", "zip": "x"}], ["body", "records", "0", "zip"]),
            ([{"age": "old", "plan": "pro"}], ["body", "records", "0", "age"]),
            ([{"age": 30, "plan": True}], ["body", "records", "0", "plan"]),
        ]:
            response = await http.post("/api/v1/models/churn/predict", headers=app,
                                       json={"records": records_})
            assert response.status_code == 422, response.text
            assert response.json()["errors"][0]["loc"] == loc
        nan = await http.post("/api/v1/models/churn/predict",
                              headers={**app, "Content-Type": "application/json"},
                              content=b'{"records": [{"age": NaN, "plan": "pro"}]}')
        assert nan.status_code == 422
        assert (await http.post("/api/v1/models/churn/predict", headers=app,
                                json={"records": []})).status_code == 422
        assert (await http.post("/api/v1/models/ghost/predict", headers=app,
                                json={"records": records})).status_code == 404
        assert (await http.post("/api/v1/models/churn/predict?version=7", headers=app,
                                json={"records": records})).status_code == 404

        # A version whose artifact is corrupt: 409 (never a 5xx) and marked broken.
        await _train(http, analyst, model="churn", dataset="customers", target="churned",
                     features=["age", "plan"], task="classification", algorithm="logistic")
        await asyncio.to_thread(registry.artifact_path(data_root, "churn", 2).write_bytes,
                                b"garbage")
        broken = await http.post("/api/v1/models/churn/predict?version=2", headers=app,
                                 json={"records": records[:1]})
        assert broken.status_code == 409, broken.text
        versions = (await http.get("/api/v1/models/churn", headers=analyst)).json()["versions"]
        assert versions[0]["status"] == "broken" and "corrupt" in versions[0]["error"]
        still = await http.post("/api/v1/models/churn/predict", headers=app,
                                json={"records": records[:1]})
        assert still.status_code == 200 and still.json()["version"] == 1  # production alias
        del spend

        # Batch predictions as a pipeline step (Ray Data actor pool) equal the model's own.
        spec = {"source": {"dataset": "customers"},
                "steps": [{"op": "predict", "model": "churn", "alias": "production",
                           "probability": True},
                          {"op": "predict", "model": "spend", "output": "spend_hat"}],
                "sink": {"dataset": "scored"}}
        for steps, loc in [
            ([{"op": "predict", "model": "ghost"}], ["spec", "steps", "0", "model"]),
            ([{"op": "select", "columns": ["age"]}, {"op": "predict", "model": "churn"}],
             ["spec", "steps", "1", "model"]),
            ([{"op": "predict", "model": "churn", "output": "plan"}],
             ["spec", "steps", "0", "output"]),
            ([{"op": "predict", "model": "spend", "probability": True}],
             ["spec", "steps", "0", "probability"]),
        ]:
            bad_spec = await http.post("/api/v1/pipelines", headers=analyst, json={
                "name": "bad", "spec": {**spec, "steps": steps}})
            assert bad_spec.status_code == 422, bad_spec.text
            assert bad_spec.json()["errors"][0]["loc"] == ["body", *loc]
        job = await wait_job(http, analyst, await start_pipeline(http, analyst, "score", spec),
                             timeout_s=240)
        assert job["status"] == "succeeded", job
        scored = (await http.get("/api/v1/datasets", headers=analyst,
                                 params={"search": "scored"})).json()["items"][0]
        assert [c["name"] for c in scored["latest"]["columns"]][-3:] == [
            "prediction", "prediction_probability", "spend_hat"]
        table = await asyncio.to_thread(
            lambda: pd.read_parquet(data_root / "datasets" / scored["id"] / "v1"))
        table = table.sort_values(["age", "plan", "spend"]).reset_index(drop=True)
        x = prepare_frame(table, features)
        assert table["prediction"].tolist() == list(local.predict(x))
        np.testing.assert_allclose(table["prediction_probability"],
                                   local.predict_proba(x).max(axis=1))
        np.testing.assert_allclose(table["spend_hat"], spend_local.predict(x))
