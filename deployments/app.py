"""The Helio Serve application: `build_app(args)` is the import path in serve_config.yaml."""

from __future__ import annotations

import gc
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, Field
from ray import serve
from ray.serve import Application
from ray.serve.handle import DeploymentHandle

from cluster.settings import load_settings
from deployments.api.main import create_api
from deployments.tabular import HandlePredictor, TabularPredictor
from deployments.text import HandleEncoder, TextEncoder


class AppArgs(BaseModel):
    """Arguments of the Helio application (the `args:` block of the Serve config)."""

    model_config = ConfigDict(extra="forbid")

    settings: dict[str, Any] = Field(
        default_factory=dict,
        description="Overrides for HELIO_* settings on every replica; secrets belong in the "
        "environment, not here.",
    )


@serve.deployment(name="ApiIngress", max_ongoing_requests=256,
                  ray_actor_options={"num_cpus": 0.25})
@serve.ingress()
class ApiIngress:
    """FastAPI ingress; the app is built on each replica from that replica's settings."""

    def __init__(self, settings_overrides: dict[str, Any],
                 tabular: DeploymentHandle[Any] | None = None,
                 text: DeploymentHandle[Any] | None = None) -> None:
        self._settings = load_settings(**settings_overrides)
        self._predictor = HandlePredictor(tabular) if tabular is not None else None
        self._encoder = HandleEncoder(text) if text is not None else None

    def __serve_build_asgi_app__(self) -> FastAPI:
        app = create_api(self._settings, behind_serve=True, use_actors=True,
                         predictor=self._predictor, encoder=self._encoder)
        # Objects built at start-up live as long as the replica: keep them out of the
        # cyclic GC's generations, so full collections under load stay short.
        gc.collect()
        gc.freeze()
        return app


def build_app(args: dict[str, Any] | AppArgs) -> Application:
    parsed = args if isinstance(args, AppArgs) else AppArgs.model_validate(args)
    tabular = TabularPredictor.bind(parsed.settings)  # type: ignore[attr-defined]
    text = TextEncoder.bind(parsed.settings)  # type: ignore[attr-defined]
    app: Application = ApiIngress.bind(parsed.settings, tabular, text)  # type: ignore[attr-defined]
    return app
