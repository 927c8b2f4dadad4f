"""Rate-limit plans (requests per minute and burst per role and route class)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from cluster.models import RateLimitPlan, Role

PLANS_CACHE_KEY = "rate-limit-plans"
PLANS_TAG = "rate-limits"
ROUTE_CLASSES = ("read", "write")

# (requests per minute, burst) when no row overrides them.
DEFAULT_PLANS: dict[tuple[Role, str], tuple[int, int]] = {
    (Role.admin, "read"): (6000, 300), (Role.admin, "write"): (1200, 100),
    (Role.analyst, "read"): (3000, 150), (Role.analyst, "write"): (600, 60),
    (Role.viewer, "read"): (1200, 60), (Role.viewer, "write"): (120, 20),
    (Role.app, "read"): (6000, 300), (Role.app, "write"): (3000, 150),
}


def route_class(method: str) -> str:
    return "read" if method in ("GET", "HEAD", "OPTIONS") else "write"


async def effective_plans(session: AsyncSession) -> dict[str, list[int]]:
    """`{"role:class": [requests_per_minute, burst]}` (JSON-serialisable, for the cache)."""
    plans = {f"{role.value}:{klass}": [rpm, burst]
             for (role, klass), (rpm, burst) in DEFAULT_PLANS.items()}
    for row in await session.scalars(select(RateLimitPlan)):
        plans[f"{row.role}:{row.route_class}"] = [row.requests_per_minute, row.burst]
    return plans


async def replace_plans(session: AsyncSession, items: list[dict[str, Any]]) -> None:
    await session.execute(delete(RateLimitPlan))
    for item in items:
        session.add(RateLimitPlan(role=item["role"], route_class=item["route_class"],
                                  requests_per_minute=item["requests_per_minute"],
                                  burst=item["burst"]))
