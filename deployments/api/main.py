"""The FastAPI application factory: gateway -> auth -> router -> services -> formatter."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware

from cluster.logging import configure_logging
from cluster.settings import Settings
from deployments.api.context import ApiContext
from deployments.api.deps import authorize, early_authentication
from deployments.api.frontend import SpaFiles, default_frontend_dir
from deployments.api.middleware import GatewayMiddleware, body_limits
from deployments.api.openapi import install_openapi
from deployments.api.permissions import (
    access_for,
    mounted_routes,
    mounted_websockets,
    operation_id,
)
from deployments.api.problems import install_problem_handlers
from deployments.api.routes import (
    api_keys,
    audit,
    auth,
    dashboards,
    datasets,
    errors,
    events,
    health,
    job_limits,
    jobs,
    models,
    nlp,
    pipelines,
    rate_limits,
    schedules,
    usage,
    users,
)

API_PREFIX = "/api/v1"
# Routes whose body is a file upload get `max_upload_bytes` instead of `max_request_bytes`.
UPLOAD_ROUTES: set[tuple[str, str]] = {("POST", f"{API_PREFIX}/datasets"),
                                       ("POST", f"{API_PREFIX}/jobs")}


def create_api(
    settings: Settings,
    ctx: ApiContext | None = None,
    *,
    behind_serve: bool = False,
    use_actors: bool | None = None,
    predictor: Any = None,
    encoder: Any = None,
) -> FastAPI:
    """Build the API. `use_actors` (default: whether Ray is initialised) selects the
    cluster's CacheActor / RateLimiterActor over in-process stores."""
    configure_logging(settings.log_level)
    if use_actors is None:
        import ray

        use_actors = ray.is_initialized()
    context = ctx or ApiContext.build(settings, use_actors=use_actors, predictor=predictor,
                                      encoder=encoder)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        context.start()
        yield
        await context.close()

    app = FastAPI(
        title="Helio API",
        version="1.0.0",
        description="Self-hosted analytics and ML platform on Ray.",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
        generate_unique_id_function=operation_id,
        dependencies=[Depends(authorize)],
        lifespan=lifespan,
    )
    app.state.ctx = context
    install_problem_handlers(app)
    for module in (health, auth, users, api_keys, audit, rate_limits, datasets, pipelines, jobs,
                   schedules, job_limits, models, nlp, dashboards, usage, errors, events):
        app.include_router(module.router, prefix=API_PREFIX)
    for mounted in mounted_routes(app):
        access_for(mounted.route)  # fail fast on a route missing from the table
    for websocket in mounted_websockets(app):
        access_for(websocket)
    install_openapi(app, token_url=f"{API_PREFIX}/auth/token")
    frontend = settings.frontend_dir or default_frontend_dir()
    if (frontend / "index.html").is_file():
        app.router.default = SpaFiles(frontend)
    app.add_middleware(
        GatewayMiddleware,
        body_limit_for=body_limits(default=settings.max_request_bytes,
                                   upload=settings.max_upload_bytes, upload_routes=UPLOAD_ROUTES),
        access_log=settings.access_log,
        stats=context.live.stats,
        usage=context.usage,
        errors=context.errors,
        metrics=context.metrics,
        route_prefix=API_PREFIX,
        behind_serve=behind_serve,
        authenticate_early=early_authentication(mounted_routes(app), API_PREFIX),
    )
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins,
                           allow_credentials=True, allow_methods=["*"],
                           allow_headers=["Authorization", "Content-Type", "X-API-Key",
                                          "X-Request-ID"],
                           expose_headers=["X-Request-ID"])
    return app
