from __future__ import annotations

import asyncio
import uuid
from typing import Any

import numpy as np
from fastapi import APIRouter
from sqlalchemy import func, select

from cluster.catalog.datasets import find_dataset
from cluster.models import JobKind, TextIndex
from deployments.api.deps import ContextDep, CurrentPrincipal, SessionDep
from deployments.api.problems import ApiError, not_found
from deployments.api.schemas import (
    Classification,
    ClassifyRequest,
    ClassifyResponse,
    EmbedRequest,
    EmbedResponse,
    IndexCreate,
    IndexCreated,
    IndexesPublic,
    IndexPublic,
    JobPublic,
    Limit,
    Offset,
    SearchHit,
    SearchRequest,
    SearchResponse,
    SimilarityRequest,
    SimilarityResponse,
)
from deployments.api.services import datasets, jobs, models
from deployments.api.services.nlp import embed, load_index
from pipelines.tables import schema_map

router = APIRouter(prefix="/nlp", tags=["nlp"])
# Sharpness of the softmax over label similarities (cosines are close together).
CLASSIFY_TEMPERATURE = 0.05


@router.post("/embed", response_model=EmbedResponse)
async def embed_texts(body: EmbedRequest, ctx: ContextDep) -> EmbedResponse:
    """L2-normalised sentence embeddings (mean pooling) from the configured local model."""
    vectors = await embed(ctx, body.texts)
    return EmbedResponse(model=ctx.settings.nlp_model_dir or "all-MiniLM-L6-v2",
                         dim=len(vectors[0]), embeddings=vectors)


@router.post("/similarity", response_model=SimilarityResponse)
async def similarity(body: SimilarityRequest, ctx: ContextDep) -> SimilarityResponse:
    vectors = np.asarray(await embed(ctx, [*body.a, *body.b]), dtype=np.float32)
    a, b = vectors[:len(body.a)], vectors[len(body.a):]
    return SimilarityResponse(scores=(a @ b.T).round(6).tolist())


@router.post("/classify", response_model=ClassifyResponse)
async def classify(body: ClassifyRequest, ctx: ContextDep) -> ClassifyResponse:
    """Zero-shot (`labels`): each text gets the label whose description is most similar
    to it. With `model`: a trained text classifier from the registry (`version`, else
    `alias`, else `production`, else the latest)."""
    if body.model is not None:
        return await _classify_with_model(body, ctx)
    assert body.labels is not None
    vectors = np.asarray(await embed(ctx, [*body.texts, *body.labels]), dtype=np.float32)
    texts, labels = vectors[:len(body.texts)], vectors[len(body.texts):]
    sims = texts @ labels.T
    weights = np.exp((sims - sims.max(axis=1, keepdims=True)) / CLASSIFY_TEMPERATURE)
    probs = weights / weights.sum(axis=1, keepdims=True)
    results = [Classification(
        label=body.labels[int(row.argmax())],
        scores={lab: round(float(p), 6) for lab, p in zip(body.labels, prow, strict=True)},
        similarities={lab: round(float(s), 6) for lab, s in zip(body.labels, row, strict=True)})
        for row, prow in zip(sims, probs, strict=True)]
    return ClassifyResponse(results=results)


async def _classify_with_model(body: ClassifyRequest, ctx: ContextDep) -> ClassifyResponse:
    assert body.model is not None
    target = await models.resolve_target(ctx, body.model, body.version, body.alias)
    if target.task != "text_classification":
        raise datasets.invalid(["body", "model"], f"model '{target.name}' version "
                               f"{target.version} is a {target.task} model, not a text "
                               "classifier")
    feature = target.features[0]["name"]
    predictions, _ = await models.predict(ctx=ctx, target=target,
                                          records=[{feature: t} for t in body.texts])
    return ClassifyResponse(model=target.name, version=target.version, results=[
        Classification(label=str(p["prediction"]), scores=p.get("probabilities") or {})
        for p in predictions])


@router.post("/indexes", response_model=IndexCreated, status_code=202)
async def create_index(body: IndexCreate, ctx: ContextDep, session: SessionDep,
                       principal: CurrentPrincipal) -> IndexCreated:
    """Embed a dataset version's text column (a job: Ray Data with an actor pool)."""
    dataset = await find_dataset(session, body.dataset)
    if dataset is None:
        raise datasets.invalid(["body", "dataset"], f"dataset '{body.dataset}' not found")
    row = await datasets.require_version(session, dataset, body.version)
    schema = schema_map(row.columns)
    if body.column not in schema:
        raise datasets.invalid(["body", "column"], f"unknown column '{body.column}'")
    if schema[body.column] != "string":
        raise datasets.invalid(["body", "column"],
                               f"column '{body.column}' is {schema[body.column]}, not text")
    index_id = uuid.uuid4()
    index = TextIndex(id=index_id, dataset_id=dataset.id, version=row.version,
                      column=body.column, status="building", owner_id=principal.user_id,
                      path=str(ctx.data_root.root / "indexes" / str(index_id)))
    session.add(index)
    await session.commit()
    job = await jobs.submit_job(ctx=ctx, session=session, principal=principal,
                                kind=JobKind.text_index,
                                spec={"index_id": str(index_id), "dataset_id": str(dataset.id),
                                      "version": row.version, "column": body.column})
    index.job_id = job.id
    await session.commit()
    await session.refresh(index)
    return IndexCreated(index=IndexPublic.model_validate(index), job=JobPublic.model_validate(job))


@router.get("/indexes", response_model=IndexesPublic)
async def list_indexes(session: SessionDep, limit: Limit = 100, offset: Offset = 0
                       ) -> IndexesPublic:
    total = await session.scalar(select(func.count()).select_from(TextIndex))
    rows = await session.execute(select(TextIndex).order_by(TextIndex.created_at.desc())
                                 .limit(limit).offset(offset))
    return IndexesPublic(items=[IndexPublic.model_validate(i) for i in rows.scalars()],
                         total=int(total or 0))


@router.get("/indexes/{index_id}", response_model=IndexPublic)
async def read_index(index_id: uuid.UUID, session: SessionDep) -> IndexPublic:
    index = await session.get(TextIndex, index_id)
    if index is None:
        raise not_found("Index")
    return IndexPublic.model_validate(index)


@router.post("/indexes/{index_id}/search", response_model=SearchResponse)
async def search_index(index_id: uuid.UUID, body: SearchRequest, ctx: ContextDep,
                       session: SessionDep) -> SearchResponse:
    """Top-k rows by cosine similarity of their text to `query`."""
    index = await session.get(TextIndex, index_id)
    if index is None:
        raise not_found("Index")
    if index.status != "ready":
        raise ApiError(409, f"Index is {index.status}; search it once its job succeeded")
    path = index.path
    await session.close()
    matrix, rows = await load_index(ctx, index_id, path)
    query = np.asarray((await embed(ctx, [body.query]))[0], dtype=np.float32)
    scores = matrix @ query
    k = min(body.k, len(scores))
    top = np.argpartition(-scores, k - 1)[:k] if k else np.array([], dtype=int)
    top = top[np.argsort(-scores[top])]

    def hit(i: int) -> SearchHit:
        record: dict[str, Any] = rows[int(i)]
        return SearchHit(score=round(float(scores[i]), 6), row=record)

    return SearchResponse(index_id=index_id, results=await asyncio.to_thread(
        lambda: [hit(i) for i in top]))
