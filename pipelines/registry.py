"""Model artifacts: skops files under the data root, loaded with a fixed list of trusted
types. Nothing is ever unpickled; an artifact naming any other type is refused."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from cluster.models import MLModel, ModelVersion

DEFAULT_ALIAS = "production"

# Beyond skops' own defaults (scikit-learn estimators, numpy, scipy): the types Helio's
# training writes. Reviewed: plain containers of arrays, no code.
TRUSTED_TYPES = (
    "numpy.dtype",
    "sklearn.tree._tree.Tree",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
)


class UntrustedArtifact(ValueError):
    """The artifact names types outside TRUSTED_TYPES (it was not written by Helio)."""


class BrokenArtifact(ValueError):
    """The artifact is missing or unreadable."""


def artifact_path(data_root: str | Path, name: str, version: int) -> Path:
    return Path(data_root) / "models" / name / f"v{version}" / "model.skops"


def save(model: Any, path: Path) -> int:
    """Write atomically (temp file + rename); returns the size in bytes."""
    import skops.io as sio

    data = sio.dumps(model)
    untrusted = set(sio.get_untrusted_types(data=data)) - set(TRUSTED_TYPES)
    if untrusted:
        raise UntrustedArtifact(f"refusing to store types {sorted(untrusted)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".model-")
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)
    return len(data)


def load(path: Path) -> Any:
    import skops.io as sio

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BrokenArtifact(f"model artifact {path.name} is missing or unreadable "
                             f"({type(exc).__name__})") from None
    try:
        untrusted = set(sio.get_untrusted_types(data=data)) - set(TRUSTED_TYPES)
    except Exception as exc:
        raise BrokenArtifact(f"model artifact is corrupt ({type(exc).__name__})") from None
    if untrusted:
        raise UntrustedArtifact(f"model artifact contains untrusted types {sorted(untrusted)}")
    try:
        return sio.loads(data, trusted=list(TRUSTED_TYPES))
    except Exception as exc:
        raise BrokenArtifact(f"model artifact is corrupt ({type(exc).__name__})") from None


class VersionNotFound(LookupError):
    """The named model, alias or version does not exist; the message says which."""


async def find_version(session: AsyncSession, model: MLModel, version: int | None,
                       alias: str | None) -> ModelVersion:
    """`version`, else `alias`, else the `production` alias, else the latest version."""
    from sqlalchemy import select

    from cluster.models import ModelVersion

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
    from sqlalchemy import select

    from cluster.models import MLModel

    model = (await session.execute(select(MLModel).where(MLModel.name == name))
             ).scalar_one_or_none()
    if model is None:
        raise VersionNotFound(f"Model '{name}'")
    return model


def version_info(row: ModelVersion, name: str) -> dict[str, Any]:
    """What a pipeline's predict step needs to know about a version."""
    return {"name": name, "version": row.version, "task": row.task, "status": row.status,
            "features": row.features, "classes": row.classes}
