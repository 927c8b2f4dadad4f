from __future__ import annotations

import asyncio

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from deployments.api.deps import ContextDep
from deployments.api.schemas import Health, PlatformInfo, Readiness

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health)
async def liveness() -> Health:
    return Health(status="ok")


@router.get("/platform", response_model=PlatformInfo)
async def platform(ctx: ContextDep) -> PlatformInfo:
    """What the dashboard shows about the deployment (links, version)."""
    settings = ctx.settings
    return PlatformInfo(version="1.0.0", ingress=settings.haproxy,
                        ray_dashboard_url=settings.ray_dashboard_url
                        or settings.resolved_jobs_address)


@router.get("/ready", response_model=Readiness,
            responses={503: {"model": Readiness, "description": "A dependency is unreachable"}})
async def readiness(ctx: ContextDep) -> JSONResponse:
    """Ready when the database, Redis (if configured), the cache and rate-limiter actors
    and Ray answer. `helio up` waits for this, so the named actors exist once it returns."""
    checks: dict[str, str] = {}
    try:
        async with ctx.engine.connect() as conn:
            await asyncio.wait_for(conn.execute(text("SELECT 1")), timeout=2.0)
        checks["database"] = "ok"
    except Exception as exc:  # any failure means "not ready", reported by class name only
        checks["database"] = f"unreachable ({type(exc).__name__})"
    if ctx.redis is not None:
        try:
            await asyncio.wait_for(ctx.redis.ping(), timeout=2.0)
            checks["redis"] = "ok"
        except Exception as exc:
            checks["redis"] = f"unreachable ({type(exc).__name__})"
    for name, probe in (("cache", ctx.cache.backend.stats),
                        ("rate_limiter", ctx.limiter.backend.ping)):
        try:
            await asyncio.wait_for(probe(), timeout=5.0)
            checks[name] = "ok"
        except Exception as exc:
            checks[name] = f"unreachable ({type(exc).__name__})"
    checks["ray"] = await asyncio.to_thread(_ray_status)
    ready = all(v == "ok" for v in checks.values())
    body = Readiness(status="ready" if ready else "not_ready", checks=checks)
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503)


def _ray_status() -> str:
    import ray

    if not ray.is_initialized():
        return "not connected"
    try:
        ray.cluster_resources()  # type: ignore[no-untyped-call]
    except Exception as exc:
        return f"unreachable ({type(exc).__name__})"
    return "ok"
