from __future__ import annotations

import uuid
from typing import Any

import yaml
from fastapi import APIRouter
from pydantic import ValidationError
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from cluster.catalog.datasets import find_dataset
from cluster.catalog.resolve import resolve_spec
from cluster.models import JobKind, Pipeline, PipelineVersion, utcnow
from deployments.api.deps import ContextDep, CurrentPrincipal, SessionDep
from deployments.api.permissions import require_owner
from deployments.api.principals import Principal
from deployments.api.problems import ApiError, not_found
from deployments.api.schemas import (
    JobPublic,
    Limit,
    Offset,
    PipelineCheck,
    PipelineCreate,
    PipelinePublic,
    PipelineSpecBody,
    PipelinesPublic,
    PipelineUpdate,
    PipelineVersionPublic,
    PipelineVersions,
)
from deployments.api.services import datasets, jobs
from pipelines import spec as s

router = APIRouter(prefix="/pipelines", tags=["pipelines"])


def _pydantic_errors(exc: ValidationError, prefix: list[str | int]) -> ApiError:
    errors = [{"loc": [str(p) for p in [*prefix, *e["loc"]]], "msg": e["msg"]}
              for e in exc.errors(include_url=False)]
    return ApiError(422, "The pipeline spec is invalid", title="Unprocessable Content",
                    errors=errors)


async def validate_spec(session: AsyncSession, raw: dict[str, Any],
                        prefix: tuple[str, ...] = ("body", "spec")) -> s.PipelineSpec:
    """Parse the spec and check it against the current schemas of the datasets it names."""
    return (await check_spec(session, raw, prefix))[0]


async def check_spec(session: AsyncSession, raw: dict[str, Any],
                     prefix: tuple[str, ...] = ("body", "spec"),
                     ) -> tuple[s.PipelineSpec, list[dict[str, str]]]:
    """The parsed spec and the schema it sees before its first step and after each one."""
    try:
        spec = s.PipelineSpec.model_validate(raw)
    except ValidationError as exc:
        raise _pydantic_errors(exc, list(prefix)) from None

    try:
        schemas = (await resolve_spec(session, spec)).schemas
    except s.SpecError as exc:
        raise datasets.spec_error(exc, prefix) from None
    return spec, schemas


async def _check_sink(session: AsyncSession, principal: Principal, spec: s.PipelineSpec) -> None:
    """Publishing into an existing dataset is a write to it (the job driver checks again
    when it publishes)."""
    require_owner(principal, await find_dataset(session, spec.sink.dataset), "dataset")


class _NoAliasLoader(yaml.SafeLoader):
    """YAML without aliases: `*name` would let a small body expand into a huge spec (a
    billion-laughs document), which the body limit alone does not bound."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise yaml.composer.ComposerError(
                None, None, "aliases (*name) are not allowed; write the value out",
                event.start_mark)
        return super().compose_node(parent, index)


def _raw_spec(body: PipelineSpecBody) -> dict[str, Any]:
    if body.spec is not None:
        return body.spec
    try:
        raw = yaml.load(body.spec_yaml or "", Loader=_NoAliasLoader)  # noqa: S506 - safe loader
    except yaml.YAMLError as exc:
        raise datasets.invalid(["body", "spec_yaml"], f"invalid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise datasets.invalid(["body", "spec_yaml"], "the YAML must be a mapping")
    return raw


async def _body_spec(session: AsyncSession, principal: Principal,
                     body: PipelineSpecBody) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """The body's spec (JSON or YAML), validated, as stored, and its schemas."""
    spec, schemas = await check_spec(session, _raw_spec(body),
                                     ("body", "spec" if body.spec is not None else "spec_yaml"))
    await _check_sink(session, principal, spec)
    return spec.model_dump(mode="json", by_alias=True, exclude_none=True), schemas


async def _commit_named(session: AsyncSession, name: str) -> None:
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        raise ApiError(409, f"A pipeline named '{name}' already exists") from None


@router.post("", response_model=PipelinePublic, status_code=201)
async def create_pipeline(body: PipelineCreate, session: SessionDep,
                          principal: CurrentPrincipal) -> PipelinePublic:
    """Save a pipeline. `spec` is JSON, or give `spec_yaml` with the same content as YAML.
    It is checked against the current schemas of its datasets (422 names the field)."""
    stored, _ = await _body_spec(session, principal, body)
    pipeline = Pipeline(id=uuid.uuid4(), name=body.name, owner_id=principal.user_id,
                        spec=stored, version=1)
    session.add(pipeline)
    session.add(PipelineVersion(pipeline_id=pipeline.id, version=1, name=body.name,
                                spec=stored, created_by=principal.user_id))
    await _commit_named(session, body.name)
    return PipelinePublic.model_validate(pipeline)


@router.post("/validate", response_model=PipelineCheck)
async def validate_pipeline(body: PipelineSpecBody, session: SessionDep,
                            principal: CurrentPrincipal) -> PipelineCheck:
    """Check a spec without saving it, as the builder does while you type: the same 422
    (naming the field) as a save, or the columns each step sees. Nothing is stored or run;
    publishing into a dataset someone else owns is a 403 here too."""
    stored, schemas = await _body_spec(session, principal, body)
    sink = await find_dataset(session, stored["sink"]["dataset"])
    return PipelineCheck(spec=stored, schemas=schemas, sink_exists=sink is not None)


@router.put("/{pipeline_id}", response_model=PipelinePublic)
async def update_pipeline(pipeline_id: uuid.UUID, body: PipelineUpdate, session: SessionDep,
                          principal: CurrentPrincipal) -> PipelinePublic:
    """Edit a pipeline (owner or admin): a new version with the given name and spec; the
    old one stays in its history. 409 (with `current`) when `version` is not the latest."""
    pipeline = await session.get(Pipeline, pipeline_id)
    if pipeline is None:
        raise not_found("Pipeline")
    require_owner(principal, pipeline, "pipeline")
    stored, _ = await _body_spec(session, principal, body)
    try:
        result = await session.execute(
            update(Pipeline).where(Pipeline.id == pipeline_id,
                                   Pipeline.version == body.version)
            .values(name=body.name, spec=stored, version=body.version + 1,
                    updated_at=utcnow()).execution_options(synchronize_session=False))
    except IntegrityError:
        await session.rollback()
        raise ApiError(409, f"A pipeline named '{body.name}' already exists") from None
    if getattr(result, "rowcount", 0) != 1:
        await session.rollback()
        await session.refresh(pipeline)
        current = PipelinePublic.model_validate(pipeline).model_dump(mode="json")
        raise ApiError(409, f"The pipeline changed since version {body.version} (it is at "
                            f"version {pipeline.version}); reload it and apply the edit again",
                       title="Conflict", extra={"current": current})
    session.add(PipelineVersion(pipeline_id=pipeline_id, version=body.version + 1,
                                name=body.name, spec=stored, created_by=principal.user_id))
    await _commit_named(session, body.name)
    await session.refresh(pipeline)
    return PipelinePublic.model_validate(pipeline)


@router.delete("/{pipeline_id}", status_code=204)
async def delete_pipeline(pipeline_id: uuid.UUID, session: SessionDep,
                          principal: CurrentPrincipal) -> None:
    """Delete a pipeline and its history (owner or admin). Its past runs' jobs and the
    dataset versions they published stay."""
    pipeline = await session.get(Pipeline, pipeline_id)
    if pipeline is None:
        raise not_found("Pipeline")
    require_owner(principal, pipeline, "pipeline")
    await session.execute(delete(PipelineVersion).where(
        PipelineVersion.pipeline_id == pipeline_id))
    await session.delete(pipeline)
    await session.commit()


@router.get("/{pipeline_id}/versions", response_model=PipelineVersions)
async def list_pipeline_versions(pipeline_id: uuid.UUID,
                                 session: SessionDep) -> PipelineVersions:
    """Every saved version of the pipeline, newest first."""
    if await session.get(Pipeline, pipeline_id) is None:
        raise not_found("Pipeline")
    rows = await session.scalars(select(PipelineVersion).where(
        PipelineVersion.pipeline_id == pipeline_id).order_by(PipelineVersion.version.desc()))
    return PipelineVersions(items=[PipelineVersionPublic.model_validate(r) for r in rows])


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
    await session.execute(update(Pipeline).where(Pipeline.id == pipeline.id)
                          .values(last_job_id=job.id)
                          .execution_options(synchronize_session=False))
    await session.commit()
    return JobPublic.model_validate(job)
