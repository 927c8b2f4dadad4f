"""Rate limiter layer of the request path (after authentication, before the router)."""

from __future__ import annotations

import math

from fastapi import Request

from actors.rate_limiter import Decision
from cluster.security import digest
from deployments.api.context import ApiContext
from deployments.api.principals import Principal
from deployments.api.problems import ApiError
from deployments.api.services.rate_limits import (
    PLANS_CACHE_KEY,
    PLANS_TAG,
    effective_plans,
    route_class,
)


async def current_plans(ctx: ApiContext) -> dict[str, list[int]]:
    async def load() -> dict[str, list[int]]:
        async with ctx.sessions() as session:
            return await effective_plans(session)

    plans: dict[str, list[int]] = await ctx.cache.cached(PLANS_CACHE_KEY, 300.0, (PLANS_TAG,),
                                                         load)
    return plans


def headers_for(decision: Decision) -> dict[str, str]:
    headers = {
        "RateLimit-Limit": str(decision.limit),
        "RateLimit-Remaining": str(max(0, decision.remaining)),
        "RateLimit-Reset": str(max(0, math.ceil(decision.reset_after))),
    }
    if not decision.allowed:
        headers["Retry-After"] = str(max(1, math.ceil(decision.retry_after)))
    return headers


async def enforce(ctx: ApiContext, request: Request, *, key: str, per_minute: int, burst: int,
                  klass: str) -> None:
    decision = await ctx.limiter.check(key, rate=per_minute / 60.0, capacity=burst,
                                       route_class=klass)
    request.state.rate_limit = decision
    if not decision.allowed:
        raise ApiError(429, f"Rate limit exceeded; retry in {math.ceil(decision.retry_after)} s",
                       headers=headers_for(decision))


async def limit_principal(ctx: ApiContext, request: Request, principal: Principal) -> None:
    if not ctx.settings.rate_limit_enabled:
        return
    klass = route_class(request.method)
    per_minute, burst = (await current_plans(ctx))[f"{principal.role.value}:{klass}"]
    subject = (f"key:{principal.api_key.id}" if principal.api_key is not None
               else f"user:{principal.user_id}")
    await enforce(ctx, request, key=f"{subject}:{klass}", per_minute=per_minute, burst=burst,
                  klass=klass)


async def limit_login(ctx: ApiContext, request: Request, email: str, ip: str | None) -> None:
    """Password guessing: a budget per account and a looser one per client address."""
    if not ctx.settings.rate_limit_enabled:
        return
    s = ctx.settings
    await enforce(ctx, request, key=f"auth:ip:{ip or 'unknown'}",
                  per_minute=s.login_per_ip_per_minute, burst=s.login_per_ip_burst, klass="auth")
    # A digest: the key's size does not depend on what an anonymous client sends.
    await enforce(ctx, request, key=f"auth:account:{digest(email.strip().lower())[:32]}",
                  per_minute=s.login_per_account_per_minute, burst=s.login_per_account_burst,
                  klass="auth")
