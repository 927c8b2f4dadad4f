"""FastAPI dependencies: the request context, DB session, authentication and authorization."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.routing import APIRoute
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection

from cluster.security import InvalidToken
from deployments.api.context import ApiContext
from deployments.api.permissions import access_for
from deployments.api.principals import Principal
from deployments.api.problems import ApiError, unauthorized
from deployments.api.ratelimit import limit_principal


async def get_context(request: Request) -> ApiContext:
    ctx: ApiContext = request.app.state.ctx
    return ctx


ContextDep = Annotated[ApiContext, Depends(get_context)]


async def get_session(ctx: ContextDep) -> AsyncIterator[AsyncSession]:
    async with ctx.sessions() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]


def _credential(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, value = header.partition(" ")
        value = value.strip()
        if scheme.lower() != "bearer" or not value or " " in value:
            raise unauthorized("Malformed Authorization header; expected 'Bearer <token>'")
        return value
    api_key = request.headers.get("x-api-key")
    if api_key is not None:
        api_key = api_key.strip()
        if not api_key:
            raise unauthorized("Empty X-API-Key header")
        return api_key
    return None


async def authorize(connection: HTTPConnection) -> None:
    """Runs on every route: authenticate, then consult the permission table.
    (WebSocket routes authenticate in their handler: browsers cannot send headers.)"""
    route = connection.scope.get("route")
    if not isinstance(route, APIRoute) or not isinstance(connection, Request):
        return
    request = connection
    access = access_for(route)
    if access.public:
        return
    credential = _credential(request)
    if credential is None:
        raise unauthorized()
    ctx: ApiContext = request.app.state.ctx
    try:
        principal = await ctx.authenticator.authenticate(credential)
    except InvalidToken:
        raise unauthorized("Invalid or expired credentials") from None
    request.state.principal = principal
    request.state.principal_id = str(principal.user_id)
    if not access.allows(principal.role):
        raise ApiError(403, f"Role '{principal.role}' may not perform this operation")
    await limit_principal(ctx, request, principal)


async def get_principal(request: Request) -> Principal:
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is None:  # a public route asked for a principal: a programming error
        raise RuntimeError("route needs a principal but is public in the permission table")
    return principal


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None
