from __future__ import annotations

import uuid
from typing import Any

import yaml
from fastapi import APIRouter
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from cluster.models import JobKind, Pipeline
from deployments.api.deps import ContextDep, CurrentPrincipal, SessionDep
from deployments.api.permissions import require_owner
from deployments.api.principals import Principal
from deployments.api.problems import ApiError, not_found
from deployments.api.schemas import (
    JobPublic,
    Limit,
    Offset,
    PipelineCreate,
    PipelinePublic,
    PipelinesPublic,
)
from deployments.api.services import datasets, jobs
from pipelines import registry
from pipelines import spec as s
from pipelines.tables import schema_map
from pipelines.versions import find_dataset, get_version

router = APIRouter(prefix="/pipelines", tags=["pipelines"])


def _pydantic_errors(exc: ValidationError, prefix: list[str | int]) -> ApiError:
    errors = [{"loc": [str(p) for p in [*prefix, *e["loc"]]], "msg": e["msg"]}
              for e in exc.errors(include_url=False)]
    return ApiError(422, "The pipeline spec is invalid", title="Unprocessable Content",
                    errors=errors)


async def validate_spec(session: AsyncSession, raw: dict[str, Any],
                        prefix: tuple[str, ...] = ("body", "spec")) -> s.PipelineSpec:
    """Parse the spec and check it against the current schemas of the datasets it names."""
    try:
        spec = s.PipelineSpec.model_validate(raw)
    except ValidationError as exc:
        raise _pydantic_errors(exc, list(prefix)) from None

    async def schema_of(ref: str, version: int | None, loc: s.Loc) -> dict[str, str]:
        dataset = await find_dataset(session, ref)
        if dataset is None:
            raise s.SpecError(loc, f"dataset '{ref}' not found")
        row = await get_version(session, dataset.id, version)
        if row is None:
            raise s.SpecError(loc, f"dataset '{ref}' has no version {version or ''}".strip())
        return schema_map(row.columns)

    async def model_of(step: s.Predict, loc: s.Loc) -> dict[str, Any]:
        try:
            model = await registry.find_model(session, step.model)
            row = await registry.find_version(session, model, step.version, step.alias)
        except registry.VersionNotFound as exc:
            raise s.SpecError(loc, f"{exc} not found") from None
        return registry.version_info(row, model.name)

    try:
        source = await schema_of(spec.source.dataset, spec.source.version,
                                 ("source", "dataset"))
        right: dict[tuple[str, int | None], dict[str, str]] = {}
        models: dict[tuple[str, int | None, str | None], dict[str, Any]] = {}
        for i, step in enumerate(spec.steps):
            if isinstance(step, s.Join):
                right[(step.dataset, step.version)] = await schema_of(
                    step.dataset, step.version, ("steps", i, "dataset"))
            elif isinstance(step, s.Predict):
                models[(step.model, step.version, step.alias)] = await model_of(
                    step, ("steps", i, "model"))
        s.validate_steps(spec.steps, source, lambda ref, v, loc: right[(ref, v)],
                         models=lambda p, loc: models[(p.model, p.version, p.alias)])
    except s.SpecError as exc:
        raise datasets.spec_error(exc, prefix) from None
    return spec


async def _check_sink(session: AsyncSession, principal: Principal, spec: s.PipelineSpec) -> None:
    """Publishing into an existing dataset is a write to it (the job driver checks again
    when it publishes)."""
    require_owner(principal, await find_dataset(session, spec.sink.dataset), "dataset")


@router.post("", response_model=PipelinePublic, status_code=201)
async def create_pipeline(body: PipelineCreate, session: SessionDep,
                          principal: CurrentPrincipal) -> PipelinePublic:
    """Save a pipeline. `spec` is JSON, or give `spec_yaml` with the same content as YAML.
    It is checked against the current schemas of its datasets (422 names the field)."""
    raw = body.spec
    if raw is None:
        try:
            raw = yaml.safe_load(body.spec_yaml or "")
        except yaml.YAMLError as exc:
            raise datasets.invalid(["body", "spec_yaml"], f"invalid YAML: {exc}") from None
        if not isinstance(raw, dict):
            raise datasets.invalid(["body", "spec_yaml"], "the YAML must be a mapping")
    spec = await validate_spec(session, raw, ("body", "spec" if body.spec else "spec_yaml"))
    await _check_sink(session, principal, spec)
    pipeline = Pipeline(name=body.name, owner_id=principal.user_id,
                        spec=spec.model_dump(mode="json", by_alias=True, exclude_none=True))
    session.add(pipeline)
    try:
        await session.commit()
    except IntegrityError:
        raise ApiError(409, f"A pipeline named '{body.name}' already exists") from None
    return PipelinePublic.model_validate(pipeline)


@router.get("", response_model=PipelinesPublic)
async def list_pipelines(session: SessionDep, limit: Limit = 100,
                         offset: Offset = 0) -> PipelinesPublic:
    total = await session.scalar(select(func.count()).select_from(Pipeline))
    rows = await session.execute(select(Pipeline).order_by(Pipeline.created_at.desc())
                                 .limit(limit).offset(offset))
    return PipelinesPublic(items=[PipelinePublic.model_validate(p) for p in rows.scalars()],
                           total=int(total or 0))


@router.get("/{pipeline_id}", response_model=PipelinePublic)
async def read_pipeline(pipeline_id: uuid.UUID, session: SessionDep) -> PipelinePublic:
    pipeline = await session.get(Pipeline, pipeline_id)
    if pipeline is None:
        raise not_found("Pipeline")
    return PipelinePublic.model_validate(pipeline)


@router.post("/{pipeline_id}/runs", response_model=JobPublic, status_code=202)
async def run_pipeline(pipeline_id: uuid.UUID, ctx: ContextDep, session: SessionDep,
                       principal: CurrentPrincipal) -> JobPublic:
    """Run the pipeline as a job; its output becomes a new version of the sink dataset
    (published atomically when the job succeeds)."""
    pipeline = await session.get(Pipeline, pipeline_id)
    if pipeline is None:
        raise not_found("Pipeline")
    require_owner(principal, pipeline, "pipeline")
    spec = await validate_spec(session, pipeline.spec, ("spec",))
    await _check_sink(session, principal, spec)
    job = await jobs.submit_job(
        ctx=ctx, session=session, principal=principal, kind=JobKind.pipeline,
        spec={"pipeline": spec.model_dump(mode="json", by_alias=True, exclude_none=True),
              "pipeline_id": str(pipeline.id), "pipeline_name": pipeline.name})
    return JobPublic.model_validate(job)
