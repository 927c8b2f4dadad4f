"""The model registry's rows: models, their versions and aliases (the artifacts themselves
are read and written by pipelines/registry.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cluster.models import MLModel, ModelVersion

DEFAULT_ALIAS = "production"


class VersionNotFound(LookupError):
    """The named model, alias or version does not exist; the message says which."""


async def find_version(session: AsyncSession, model: MLModel, version: int | None,
                       alias: str | None) -> ModelVersion:
    """`version`, else `alias`, else the `production` alias, else the latest version."""
    number = version
    if number is None and alias is not None:
        if alias not in model.aliases:
            raise VersionNotFound(f"Alias '{alias}' of model '{model.name}'")
        number = int(model.aliases[alias])
    if number is None and DEFAULT_ALIAS in model.aliases:
        number = int(model.aliases[DEFAULT_ALIAS])
    query = select(ModelVersion).where(ModelVersion.model_id == model.id)
    query = query.where(ModelVersion.version == number) if number is not None else \
        query.order_by(ModelVersion.version.desc()).limit(1)
    row = (await session.execute(query)).scalar_one_or_none()
    if row is None:
        raise VersionNotFound(f"Version {number} of model '{model.name}'" if number
                              else f"A version of model '{model.name}'")
    return row


async def find_model(session: AsyncSession, name: str) -> MLModel:
    model = (await session.execute(select(MLModel).where(MLModel.name == name))
             ).scalar_one_or_none()
    if model is None:
        raise VersionNotFound(f"Model '{name}'")
    return model


def version_info(row: ModelVersion, name: str) -> dict[str, Any]:
    """What a pipeline's predict step needs to know about a version."""
    return {"name": name, "version": row.version, "task": row.task, "status": row.status,
            "features": row.features, "classes": row.classes}
