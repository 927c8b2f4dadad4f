"""Model registry: names, versions, aliases, and validated predictions."""

from __future__ import annotations

import hashlib
import json
import math
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cluster.catalog import models as catalog_models
from cluster.models import MLModel, ModelVersion
from deployments.api.context import ApiContext
from deployments.api.problems import ApiError, not_found
from deployments.api.services.nlp import embed
from pipelines import registry

ALIAS_PATTERN = r"^[a-z][a-z0-9_-]{0,31}$"
PREDICT_CACHE_TTL_S = 300.0
RESOLVE_TTL_S = 5.0


async def get_model(session: AsyncSession, name: str) -> MLModel:
    try:
        return await catalog_models.find_model(session, name)
    except catalog_models.VersionNotFound as exc:
        raise not_found(str(exc)) from None


async def find_model(session: AsyncSession, name: str) -> MLModel | None:
    try:
        return await catalog_models.find_model(session, name)
    except catalog_models.VersionNotFound:
        return None


async def versions_of(session: AsyncSession, model: MLModel) -> list[ModelVersion]:
    rows = await session.execute(select(ModelVersion).where(ModelVersion.model_id == model.id)
                                 .order_by(ModelVersion.version.desc()))
    return list(rows.scalars())


async def latest(session: AsyncSession, model: MLModel) -> ModelVersion | None:
    rows = await session.execute(select(ModelVersion).where(ModelVersion.model_id == model.id)
                                 .order_by(ModelVersion.version.desc()).limit(1))
    return rows.scalar_one_or_none()


async def list_models(session: AsyncSession, limit: int, offset: int
                      ) -> tuple[list[tuple[MLModel, ModelVersion | None]], int]:
    total = await session.scalar(select(func.count()).select_from(MLModel))
    rows = await session.execute(select(MLModel).order_by(MLModel.name).limit(limit)
                                 .offset(offset))
    models = list(rows.scalars())
    return [(m, await latest(session, m)) for m in models], int(total or 0)


async def resolve_version(session: AsyncSession, model: MLModel, version: int | None,
                          alias: str | None) -> ModelVersion:
    """`version`, else `alias`, else the `production` alias, else the latest version."""
    try:
        return await catalog_models.find_version(session, model, version, alias)
    except catalog_models.VersionNotFound as exc:
        raise not_found(str(exc)) from None


async def set_alias(session: AsyncSession, model: MLModel, alias: str, version: int) -> MLModel:
    exists = await session.scalar(select(func.count()).select_from(ModelVersion).where(
        ModelVersion.model_id == model.id, ModelVersion.version == version))
    if not exists:
        raise ApiError(422, f"model '{model.name}' has no version {version}",
                       errors=[{"loc": ["body", "version"], "msg": "no such version"}])
    model.aliases = {**model.aliases, alias: version}
    await session.commit()
    await session.refresh(model)
    return model


_TYPE_NAMES = {"int": "an integer", "float": "a number", "string": "a string",
               "bool": "a boolean", "text": "a non-empty string"}
MAX_TEXT_CHARS = 20_000


def validate_records(records: list[dict[str, Any]], features: list[dict[str, Any]]
                     ) -> list[dict[str, Any]]:
    """Check records against the version's feature schema; 422 names every bad field.
    Missing fields are errors (send null for an unknown value)."""
    errors: list[dict[str, Any]] = []
    names = [f["name"] for f in features]
    known = set(names)
    clean = []
    for i, record in enumerate(records):
        for name in record:
            if name not in known:
                errors.append({"loc": ["body", "records", str(i), name],
                               "msg": f"unknown field; the model takes: {', '.join(names)}"})
        row: dict[str, Any] = {}
        for feature in features:
            name, kind = feature["name"], feature["type"]
            if name not in record:
                errors.append({"loc": ["body", "records", str(i), name],
                               "msg": "field required (send null if unknown)"})
                continue
            value = record[name]
            if kind == "text":
                if not isinstance(value, str) or not value.strip() \
                        or len(value) > MAX_TEXT_CHARS:
                    errors.append({"loc": ["body", "records", str(i), name],
                                   "msg": f"expected a non-empty string of at most "
                                          f"{MAX_TEXT_CHARS} characters"})
                else:
                    row[name] = value
                continue
            if value is None:
                row[name] = None
                continue
            ok = {"int": (isinstance(value, int) and not isinstance(value, bool))
                  or (isinstance(value, float) and value.is_integer()),
                  "float": isinstance(value, int | float) and not isinstance(value, bool),
                  "string": isinstance(value, str | int | float) and not isinstance(value, bool),
                  "bool": isinstance(value, bool)}.get(kind, False)
            if isinstance(value, float) and not math.isfinite(value):
                errors.append({"loc": ["body", "records", str(i), name],
                               "msg": "NaN and infinity are not valid inputs"})
                continue
            if not ok:
                errors.append({"loc": ["body", "records", str(i), name],
                               "msg": f"expected {_TYPE_NAMES.get(kind, kind)}, got "
                                      f"{type(value).__name__}"})
                continue
            row[name] = str(value) if kind == "string" else value
        clean.append(row)
        if len(errors) > 100:
            break
    if errors:
        raise ApiError(422, "Some records do not match the model's features",
                       title="Unprocessable Content", errors=errors[:100])
    return clean


@dataclass(frozen=True)
class Target:
    """The model version a prediction request resolved to (what the hot path needs)."""

    model_id: str
    name: str
    version_id: str
    version: int
    status: str
    error: str | None
    task: str
    features: list[dict[str, Any]]


async def resolve_target(ctx: ApiContext, name: str, version: int | None,
                         alias: str | None) -> Target:
    """`version`, else `alias`, else `production`, else the latest; kept in the replica's
    L1 for a few seconds (alias changes and broken marks invalidate it at once; a newly
    trained version becomes "latest" within RESOLVE_TTL_S)."""
    async def compute() -> dict[str, Any]:
        async with ctx.sessions() as session:
            model = await get_model(session, name)
            row = await resolve_version(session, model, version, alias)
            return {"model_id": str(model.id), "name": model.name, "version_id": str(row.id),
                    "version": row.version, "status": row.status, "error": row.error,
                    "task": row.task, "features": row.features}

    found: dict[str, Any] = await ctx.cache.cached(
        f"model-target:{name}:{version}:{alias}", RESOLVE_TTL_S, (model_tag(name),), compute)
    return Target(**found)


def model_tag(name: str) -> str:
    return f"model-name:{name}"


async def mark_broken(ctx: ApiContext, target: Target, message: str) -> None:
    async with ctx.sessions() as session:
        await session.execute(update(ModelVersion)
                              .where(ModelVersion.id == uuid.UUID(target.version_id))
                              .values(status="broken", error=message[:2000]))
        await session.commit()
    await ctx.cache.invalidate_tag(model_tag(target.name))


async def predict(*, ctx: ApiContext, target: Target, records: list[dict[str, Any]]
                  ) -> tuple[list[dict[str, Any]], bool]:
    if target.status == "broken":
        raise ApiError(409, f"Version {target.version} of model '{target.name}' is broken: "
                            f"{target.error or 'artifact unreadable'}; retrain or pick another")
    clean = validate_records(records, target.features)
    digest = hashlib.sha256(json.dumps(clean, sort_keys=True, separators=(",", ":"))
                            .encode()).hexdigest()
    computed = False

    async def compute() -> list[dict[str, Any]]:
        nonlocal computed
        computed = True
        inputs = clean
        features = target.features
        if features and features[0]["type"] == "text":
            # Text models take the text's embedding from the same encoder they trained on.
            name = features[0]["name"]
            vectors = await embed(ctx, [r[name] for r in clean])
            inputs = [{name: v} for v in vectors]
        result: list[dict[str, Any]] = await ctx.predictor.predict(
            target.name, target.version, features, inputs)
        return result

    try:
        predictions = await ctx.cache.cached(
            f"predict:{target.model_id}:{target.version}:{digest}", PREDICT_CACHE_TTL_S,
            (f"model:{target.model_id}",), compute)
    except (registry.BrokenArtifact, registry.UntrustedArtifact) as exc:
        await mark_broken(ctx, target, str(exc))
        raise ApiError(409, f"Version {target.version} of model '{target.name}' is broken: "
                            f"{exc}; it is now marked broken") from None
    return predictions, not computed
