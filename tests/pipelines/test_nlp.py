"""NLP: embeddings against a direct transformers forward pass, the endpoints through a real
Serve app (TextEncoder deployment), zero-shot, an index built by a Ray Data job, search."""

from __future__ import annotations

import io

import httpx
import numpy as np
import pandas as pd
import pytest

from cluster.migrate import upgrade
from cluster.models import Role
from pipelines.text import SentenceEncoder, resolve_model_dir
from tests.conftest import Users, bearer
from tests.pipelines.conftest import start_pipeline, upload, wait_job

TEXTS = ["The cat sat on the mat.", "Stocks fell sharply on Monday.",
         "A short sentence.", "Ray Serve batches requests to use the CPU well. " * 5]


@pytest.fixture(scope="module")
def database_url(postgres_url: str) -> str:
    upgrade(postgres_url)
    return postgres_url


def _direct(texts: list[str]) -> np.ndarray:
    """Reference: a plain transformers forward pass with mean pooling and L2 norm."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    path = str(resolve_model_dir(None))
    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    model = AutoModel.from_pretrained(path, local_files_only=True).eval()
    out = []
    for text in texts:  # one at a time: no padding involved at all
        tokens = tokenizer(text, return_tensors="pt", truncation=True, max_length=256)
        with torch.no_grad():
            hidden = model(**tokens).last_hidden_state[0]
        vector = hidden.mean(dim=0)
        out.append((vector / vector.norm()).numpy())
    return np.stack(out)


def _topics() -> pd.DataFrame:
    """Short texts about two topics, phrased from templates with varied subjects."""
    sport = ["The {} scored a late goal to win the match.",
             "The {} trained hard before the championship final.",
             "Fans cheered as the {} crossed the finish line first.",
             "The coach praised the {} after the tournament victory."]
    food = ["The {} simmered the sauce with garlic and basil.",
            "Add flour and butter, then the {} bakes the bread.",
            "The {} seasoned the soup with salt and pepper.",
            "Whisk the eggs while the {} heats the frying pan."]
    people = ["team", "player", "athlete", "captain", "chef", "cook", "baker", "student"]
    rows = [(template.format(p), label) for label, templates in (("sport", sport),
                                                                   ("food", food))
            for template in templates for p in people]
    return pd.DataFrame(rows, columns=["text", "topic"])


def test_text_classification_equals_sklearn_on_the_same_embeddings():
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score
    from sklearn.model_selection import train_test_split

    from pipelines.training import TrainSpec, predict_records, train

    frame = _topics()
    encoder = SentenceEncoder(resolve_model_dir(None), threads=2)
    frame["__embedding"] = list(encoder.encode(frame["text"].tolist()))
    spec = TrainSpec(model="topic", dataset="d", target="topic", task="text_classification",
                     algorithm="embeddings_logistic", grid={"C": [0.1, 10.0]}, cv_folds=3)
    model, info = train(spec, frame, {"text": "string", "topic": "string"},
                        encoder={"encoder": "minilm", "dim": 384})
    assert info["features"] == [{"name": "text", "type": "text", "encoder": "minilm",
                                 "dim": 384}]
    x = np.stack(frame["__embedding"])
    x_tr, x_te, y_tr, y_te = train_test_split(x, frame["topic"], test_size=0.2,
                                              random_state=0, stratify=frame["topic"])
    direct = LogisticRegression(max_iter=2000, C=info["params"]["C"]).fit(x_tr, y_tr)
    assert info["metrics"]["accuracy"] == pytest.approx(accuracy_score(y_te,
                                                                       direct.predict(x_te)))
    assert info["metrics"]["accuracy"] >= 0.9 and info["classes"] == ["food", "sport"]
    served = predict_records(model, info["features"], [{"text": v} for v in x[:8]])
    assert [r["prediction"] for r in served] == list(direct.predict(x[:8]))


def test_encoder_equals_a_direct_forward_pass():
    encoder = SentenceEncoder(resolve_model_dir(None), threads=2)
    got = encoder.encode(TEXTS)  # batched, padded
    assert got.shape == (4, 384)
    np.testing.assert_allclose(got, _direct(TEXTS), atol=1e-5)


async def test_missing_model_directory_is_a_clear_503(settings, tmp_path, db):
    from deployments.api.main import create_api

    app = create_api(settings.model_copy(update={"nlp_model_dir": str(tmp_path / "none")}),
                     use_actors=False)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50003))
    async with httpx.AsyncClient(transport=transport, base_url="https://t") as client:
        headers = bearer(await Users(db, client).token_for(Role.analyst))
        response = await client.post("/api/v1/nlp/embed", headers=headers,
                                     json={"texts": ["x"]})
    await app.state.ctx.close()
    assert response.status_code == 503
    assert "HELIO_NLP_MODEL_DIR" in response.json()["detail"]


async def test_nlp_endpoints_through_serve(served, stack_sessions):
    async with httpx.AsyncClient(base_url=served, timeout=120) as http:
        users = Users(stack_sessions, http)
        analyst = bearer(await users.token_for(Role.analyst))

        response = await http.post("/api/v1/nlp/embed", headers=analyst, json={"texts": TEXTS})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["dim"] == 384
        np.testing.assert_allclose(np.array(body["embeddings"]), _direct(TEXTS), atol=1e-5)

        for bad in ({"texts": []}, {"texts": ["   "]}, {"texts": ["x" * 10_001]},
                    {"texts": ["x"] * 257}):
            response = await http.post("/api/v1/nlp/embed", headers=analyst, json=bad)
            assert response.status_code == 422, bad

        sims = (await http.post("/api/v1/nlp/similarity", headers=analyst, json={
            "a": ["A dog runs in the park."],
            "b": ["A puppy is running on the grass.", "The bank raised interest rates."]})
        ).json()["scores"]
        assert sims[0][0] > sims[0][1]

        classified = (await http.post("/api/v1/nlp/classify", headers=analyst, json={
            "texts": ["The striker scored twice in the final minutes of the match.",
                      "The central bank raised interest rates to fight inflation.",
                      "Preheat the oven and whisk the eggs with sugar."],
            "labels": ["sports", "economy and finance", "cooking and recipes"]})).json()
        assert [r["label"] for r in classified["results"]] == [
            "sports", "economy and finance", "cooking and recipes"]
        assert sum(classified["results"][0]["scores"].values()) == pytest.approx(1.0, abs=1e-4)

        reviews = pd.DataFrame({"id": range(6), "text": [
            "The battery lasts all day and charges fast.",
            "Terrible customer service, I waited an hour on the phone.",
            "The screen is bright and sharp.",
            "Shipping was quick and the box was intact.",
            "The soup was cold and bland.",
            None]})
        csv = io.BytesIO()
        reviews.to_csv(csv, index=False)
        assert (await upload(http, analyst, "reviews", csv.getvalue())).status_code == 201
        bad_column = await http.post("/api/v1/nlp/indexes", headers=analyst,
                                     json={"dataset": "reviews", "column": "id"})
        assert bad_column.status_code == 422
        assert bad_column.json()["errors"][0]["loc"] == ["body", "column"]
        created = await http.post("/api/v1/nlp/indexes", headers=analyst,
                                  json={"dataset": "reviews", "column": "text"})
        assert created.status_code == 202, created.text
        index_id = created.json()["index"]["id"]
        early = await http.post(f"/api/v1/nlp/indexes/{index_id}/search", headers=analyst,
                                json={"query": "x"})
        assert early.status_code in (200, 409)
        job = await wait_job(http, analyst, created.json()["job"]["id"], timeout_s=240)
        assert job["status"] == "succeeded", job
        index = (await http.get(f"/api/v1/nlp/indexes/{index_id}", headers=analyst)).json()
        assert index["status"] == "ready" and index["num_rows"] == 6 and index["dim"] == 384

        admin = bearer(await users.token_for(Role.admin))
        key = (await http.post("/api/v1/api-keys", headers=admin,
                               json={"name": "app", "role": "app"})).json()["key"]
        hits = await http.post(f"/api/v1/nlp/indexes/{index_id}/search",
                               headers={"X-API-Key": key},
                               json={"query": "how long does the battery last?", "k": 2})
        assert hits.status_code == 200, hits.text
        results = hits.json()["results"]
        assert results[0]["row"]["id"] == 0 and len(results) == 2
        assert results[0]["score"] > results[1]["score"]
        food = (await http.post(f"/api/v1/nlp/indexes/{index_id}/search", headers=analyst,
                                json={"query": "the food tasted awful", "k": 1})).json()
        assert food["results"][0]["row"]["text"] == "The soup was cold and bland."


async def test_text_models_and_embed_step_through_serve(served, served_data, stack_sessions):
    frame = _topics()
    async with httpx.AsyncClient(base_url=served, timeout=120) as http:
        analyst = bearer(await Users(stack_sessions, http).token_for(Role.analyst))
        csv = io.BytesIO()
        frame.to_csv(csv, index=False)
        assert (await upload(http, analyst, "topics", csv.getvalue())).status_code == 201
        response = await http.post("/api/v1/models/train", headers=analyst, json={
            "model": "topic", "dataset": "topics", "target": "topic",
            "task": "text_classification", "algorithm": "embeddings_logistic"})
        assert response.status_code == 202, response.text
        job = await wait_job(http, analyst, response.json()["id"], timeout_s=240)
        assert job["status"] == "succeeded", job
        assert job["result"]["metrics"]["accuracy"] >= 0.9

        texts = ["The goalkeeper saved a penalty in the final.",
                 "Stir the onions until golden, then add the tomatoes."]
        predicted = await http.post("/api/v1/models/topic/predict", headers=analyst,
                                    json={"records": [{"text": t} for t in texts]})
        assert predicted.status_code == 200, predicted.text
        assert [p["prediction"] for p in predicted.json()["predictions"]] == ["sport", "food"]
        classified = await http.post("/api/v1/nlp/classify", headers=analyst,
                                     json={"texts": texts, "model": "topic"})
        assert classified.status_code == 200, classified.text
        body = classified.json()
        assert body["version"] == 1 and [r["label"] for r in body["results"]] == [
            "sport", "food"]
        assert body["results"][0]["scores"]["sport"] > 0.5
        for bad in ({"texts": texts}, {"texts": texts, "model": "topic", "labels": ["a", "b"]},
                    {"texts": texts, "labels": ["a", "b"], "version": 1}):
            assert (await http.post("/api/v1/nlp/classify", headers=analyst,
                                    json=bad)).status_code == 422
        empty = await http.post("/api/v1/models/topic/predict", headers=analyst,
                                json={"records": [{"text": "  "}]})
        assert empty.status_code == 422
        assert empty.json()["errors"][0]["loc"] == ["body", "records", "0", "text"]

        # embed + predict steps in a pipeline (actor pools on Ray Data).
        spec = {"source": {"dataset": "topics"},
                "steps": [{"op": "limit", "n": 8},
                          {"op": "embed", "column": "text", "output": "vec"},
                          {"op": "predict", "model": "topic", "output": "guess"}],
                "sink": {"dataset": "topics_scored"}}
        bad = await http.post("/api/v1/pipelines", headers=analyst, json={
            "name": "bad", "spec": {**spec, "steps": [{"op": "embed", "column": "topic",
                                                       "output": "text"}]}})
        assert bad.status_code == 422
        assert bad.json()["errors"][0]["loc"] == ["body", "spec", "steps", "0", "output"]
        job = await wait_job(http, analyst, await start_pipeline(http, analyst, "embed", spec),
                             timeout_s=240)
        assert job["status"] == "succeeded", job
        out = (await http.get("/api/v1/datasets", headers=analyst,
                              params={"search": "topics_scored"})).json()["items"][0]
        assert out["latest"]["columns"][-2:] == [{"name": "vec", "type": "vector"},
                                                 {"name": "guess", "type": "string"}]
        table = pd.read_parquet(served_data / "datasets" / out["id"] / "v1")
        np.testing.assert_allclose(np.stack(table["vec"]), _direct(table["text"].tolist()),
                                   atol=1e-5)
        assert (table["guess"] == table["topic"]).mean() >= 0.9
        preview = await http.get(f"/api/v1/datasets/{out['id']}/preview", headers=analyst)
        assert preview.status_code == 200 and len(preview.json()["rows"][0][2]) == 384
