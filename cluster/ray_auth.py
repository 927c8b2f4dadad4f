"""Ray token authentication: Helio always runs Ray with `RAY_AUTH_MODE=token`.

The token lives in `$HELIO_HOME/ray_auth_token` (mode 0600) unless the operator
provides `RAY_AUTH_TOKEN` / `RAY_AUTH_TOKEN_PATH` (e.g. from a Kubernetes Secret).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path

RAY_TOKEN_FILE = "ray_auth_token"  # noqa: S105 - a file name


def ensure_ray_token(home: Path) -> Path:
    path = home / RAY_TOKEN_FILE
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path
    with os.fdopen(fd, "w") as fh:
        fh.write(secrets.token_hex(32))
    return path


def ray_auth_env(home: Path, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Environment variables every Ray process and client of Helio's cluster needs."""
    environ = os.environ if environ is None else environ
    env = {"RAY_AUTH_MODE": "token"}
    if environ.get("RAY_AUTH_TOKEN"):
        return env
    env["RAY_AUTH_TOKEN_PATH"] = environ.get("RAY_AUTH_TOKEN_PATH") or str(ensure_ray_token(home))
    return env
