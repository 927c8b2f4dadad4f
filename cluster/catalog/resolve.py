"""One resolver for pipeline specs: the datasets and models a spec names, looked up in the
catalog, and the schema the spec sees before its first step and after each one. The API
(saving, validating, starting a run) and the job runner (running it) both call this, so a
spec that passes the API check is resolved the same way when it runs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from cluster.catalog.datasets import find_dataset, get_version
from cluster.catalog.models import VersionNotFound, find_model, find_version, version_info
from cluster.models import Dataset, DatasetVersion
from pipelines import spec as s

ModelKey = tuple[str, int | None, str | None]


def schema_map(columns: list[dict[str, Any]]) -> dict[str, str]:
    return {c["name"]: c["type"] for c in columns}


@dataclass
class ResolvedSpec:
    spec: s.PipelineSpec
    source: tuple[Dataset, DatasetVersion]
    joins: dict[tuple[str, int | None], tuple[Dataset, DatasetVersion]] = field(
        default_factory=dict)
    models: dict[ModelKey, dict[str, Any]] = field(default_factory=dict)
    schemas: list[dict[str, str]] = field(default_factory=list)


async def dataset_version(session: AsyncSession, ref: str, version: int | None,
                          loc: s.Loc) -> tuple[Dataset, DatasetVersion]:
    """A dataset (id or name) at `version` (default: its latest); SpecError at `loc`."""
    dataset = await find_dataset(session, ref)
    if dataset is None:
        raise s.SpecError(loc, f"dataset '{ref}' not found")
    row = await get_version(session, dataset.id, version)
    if row is None:
        raise s.SpecError(loc, f"dataset '{ref}' has no version {version or ''}".strip())
    return dataset, row


async def model_version(session: AsyncSession, key: ModelKey, loc: s.Loc) -> dict[str, Any]:
    name, version, alias = key
    try:
        model = await find_model(session, name)
        row = await find_version(session, model, version, alias)
    except VersionNotFound as exc:
        raise s.SpecError(loc, f"{exc} not found") from None
    return version_info(row, model.name)


async def resolve_spec(session: AsyncSession, spec: s.PipelineSpec) -> ResolvedSpec:
    """Look up every input and model of `spec` and type-check its steps (SpecError names
    the field at fault, relative to the spec)."""
    resolved = ResolvedSpec(spec=spec, source=await dataset_version(
        session, spec.source.dataset, spec.source.version, ("source", "dataset")))
    for i, step in enumerate(spec.steps):
        if isinstance(step, s.Join) and (step.dataset, step.version) not in resolved.joins:
            resolved.joins[(step.dataset, step.version)] = await dataset_version(
                session, step.dataset, step.version, ("steps", i, "dataset"))
        elif isinstance(step, s.Predict):
            key = (step.model, step.version, step.alias)
            if key not in resolved.models:
                resolved.models[key] = await model_version(session, key, ("steps", i, "model"))
    resolved.schemas = s.validate_steps(
        spec.steps, schema_map(resolved.source[1].columns),
        lambda ref, v, loc: schema_map(resolved.joins[(ref, v)][1].columns),
        models=lambda p, loc: resolved.models[(p.model, p.version, p.alias)])
    return resolved
