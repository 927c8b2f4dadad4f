"""The dashboard's API client is generated from frontend/openapi.json: it must be the
document the API serves now (regenerate with `make codegen`)."""

from __future__ import annotations

import json
from pathlib import Path

from cluster.settings import Settings
from deployments.api.main import create_api

SNAPSHOT = Path(__file__).resolve().parents[3] / "frontend" / "openapi.json"


def test_frontend_openapi_snapshot_is_current(tmp_path):
    app = create_api(Settings(home=tmp_path, jwt_secret="x" * 64), use_actors=False)
    current = json.loads(json.dumps(app.openapi(), sort_keys=True))
    assert json.loads(SNAPSHOT.read_text()) == current, (
        "frontend/openapi.json is stale: run `make codegen` and commit the result")
