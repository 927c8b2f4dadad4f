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
from tests.pipelines.conftest import upload, wait_job

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


async def test_nlp_endpoints_through_serve(served, db):
    async with httpx.AsyncClient(base_url=served, timeout=120) as http:
        users = Users(db, http)
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
