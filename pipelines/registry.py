"""Model artifacts: skops files under the data root, loaded with a fixed list of trusted
types. Nothing is ever unpickled; an artifact naming any other type is refused."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

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
