from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from cluster.catalog.datasets import find_dataset
from cluster.models import JobKind, MLModel, ModelVersion
from deployments.api.deps import ContextDep, CurrentPrincipal, SessionDep
from deployments.api.permissions import require_owner
from deployments.api.problems import ApiError
from deployments.api.schemas import (
    AliasUpdate,
    JobPublic,
    Limit,
    ModelDetail,
    ModelPublic,
    ModelsPublic,
    ModelVersionPublic,
    Offset,
    Prediction,
    PredictRequest,
    PredictResponse,
)
from deployments.api.services import datasets, jobs, models
from pipelines.tables import schema_map
from pipelines.training import TrainSpec, check_spec

router = APIRouter(prefix="/models", tags=["models"])

ModelName = Annotated[str, Path(min_length=1, max_length=200)]


def _public(model: MLModel, latest: ModelVersion | None) -> ModelPublic:
    return ModelPublic(id=model.id, name=model.name, description=model.description,
                       owner_id=model.owner_id, aliases=model.aliases,
                       created_at=model.created_at,
                       latest=ModelVersionPublic.model_validate(latest) if latest else None)


@router.post("/train", response_model=JobPublic, status_code=202)
async def train_model(body: TrainSpec, ctx: ContextDep, session: SessionDep,
                      principal: CurrentPrincipal) -> JobPublic:
    """Train a model on a dataset version as a job; it becomes the next version of
    `model` in the registry. Unknown columns or unsuitable types are 422 with the field."""
    require_owner(principal, await models.find_model(session, body.model), "model")
    dataset = await find_dataset(session, body.dataset)
    if dataset is None:
        raise datasets.invalid(["body", "dataset"], f"dataset '{body.dataset}' not found")
    row = await datasets.require_version(session, dataset, body.version)
    problems = check_spec(body, schema_map(row.columns))
    if problems:
        raise ApiError(422, problems[0][1], title="Unprocessable Content",
                                errors=[{"loc": ["body", *map(str, loc)], "msg": msg}
                                        for loc, msg in problems])
    spec = body.model_dump(mode="json")
    spec.update(dataset_id=str(dataset.id), version=row.version)
    job = await jobs.submit_job(ctx=ctx, session=session, principal=principal,
                                kind=JobKind.train, spec=spec)
    return JobPublic.model_validate(job)


@router.get("", response_model=ModelsPublic)
async def list_models(session: SessionDep, limit: Limit = 100, offset: Offset = 0
                      ) -> ModelsPublic:
    rows, total = await models.list_models(session, limit, offset)
    return ModelsPublic(items=[_public(m, v) for m, v in rows], total=total)


@router.get("/{name}", response_model=ModelDetail)
async def read_model(name: ModelName, session: SessionDep) -> ModelDetail:
    model = await models.get_model(session, name)
    versions = await models.versions_of(session, model)
    base = _public(model, versions[0] if versions else None)
    return ModelDetail(**base.model_dump(),
                       versions=[ModelVersionPublic.model_validate(v) for v in versions])


@router.post("/{name}/aliases/{alias}", response_model=ModelPublic)
async def set_alias(
    name: ModelName,
    alias: Annotated[str, Path(pattern=models.ALIAS_PATTERN)],
    body: AliasUpdate,
    session: SessionDep,
    ctx: ContextDep,
    principal: CurrentPrincipal,
) -> ModelPublic:
    """Point an alias (`staging`, `production`, ...) at a version (the model's owner or
    an admin)."""
    model = await models.get_model(session, name)
    require_owner(principal, model, "model")
    model = await models.set_alias(session, model, alias, body.version)
    await ctx.cache.invalidate_tag(models.model_tag(model.name))
    return _public(model, await models.latest(session, model))


@router.post("/{name}/predict", response_model=PredictResponse)
async def predict(
    name: ModelName,
    body: PredictRequest,
    ctx: ContextDep,
    version: Annotated[int | None, Query(ge=1)] = None,
    alias: Annotated[str | None, Query(pattern=models.ALIAS_PATTERN)] = None,
) -> PredictResponse:
    """Predictions for `records` (objects with the model's feature names). The version is
    `?version=`, else `?alias=`, else the `production` alias, else the latest."""
    target = await models.resolve_target(ctx, name, version, alias)
    predictions, cached = await models.predict(ctx=ctx, target=target, records=body.records)
    return PredictResponse(model=target.name, version=target.version, cached=cached,
                           predictions=[Prediction(**p) for p in predictions])
