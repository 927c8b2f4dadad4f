from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field, model_validator

from cluster.models import Role
from deployments.api.deps import ContextDep, CurrentPrincipal, SessionDep, client_ip
from deployments.api.services import audit
from deployments.api.services.rate_limits import PLANS_TAG, effective_plans, replace_plans

router = APIRouter(prefix="/rate-limits", tags=["rate_limits"])


class RateLimitPlanItem(BaseModel):
    role: Role
    route_class: Literal["read", "write"]
    requests_per_minute: Annotated[int, Field(ge=1, le=10_000_000)]
    burst: Annotated[int, Field(ge=1, le=1_000_000)]


class RateLimitPlans(BaseModel):
    items: list[RateLimitPlanItem]

    @model_validator(mode="after")
    def _unique(self) -> RateLimitPlans:
        seen = [(i.role, i.route_class) for i in self.items]
        if len(seen) != len(set(seen)):
            raise ValueError("each (role, route_class) may appear once")
        return self


def _as_items(plans: dict[str, list[int]]) -> RateLimitPlans:
    items = []
    for name, (rpm, burst) in sorted(plans.items()):
        role, klass = name.split(":")
        items.append(RateLimitPlanItem.model_validate(
            {"role": role, "route_class": klass, "requests_per_minute": rpm, "burst": burst}))
    return RateLimitPlans(items=items)


@router.get("", response_model=RateLimitPlans)
async def read_rate_limits(session: SessionDep) -> RateLimitPlans:
    """Effective plans: the defaults, overridden by stored rows."""
    return _as_items(await effective_plans(session))


@router.put("", response_model=RateLimitPlans)
async def replace_rate_limits(
    request: Request,
    body: RateLimitPlans,
    session: SessionDep,
    principal: CurrentPrincipal,
    ctx: ContextDep,
) -> RateLimitPlans:
    """Replace the stored overrides (roles/classes not listed fall back to the defaults).
    Every replica picks the change up within a cache poll interval."""
    await replace_plans(session, [i.model_dump(mode="json") for i in body.items])
    audit.record(session, action="rate_limits.replace", actor_id=principal.user_id,
                 actor_email=principal.email, ip=client_ip(request),
                 request_id=request.state.request_id,
                 detail={"items": [i.model_dump(mode="json") for i in body.items]})
    await session.commit()
    await ctx.cache.invalidate_tag(PLANS_TAG)
    return _as_items(await effective_plans(session))
