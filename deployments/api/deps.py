"""FastAPI dependencies: the request context, DB session, authentication and authorization."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network
from typing import Annotated

from fastapi import Depends, Request
from fastapi.routing import APIRoute
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import Headers
from starlette.requests import HTTPConnection
from starlette.routing import compile_path
from starlette.types import Scope

from cluster.security import InvalidToken
from deployments.api.context import ApiContext
from deployments.api.middleware import route_path
from deployments.api.permissions import MountedRoute, access_for
from deployments.api.principals import Principal, SessionEnded
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


def _credential(headers: Headers) -> str | None:
    header = headers.get("authorization")
    if header is not None:
        scheme, _, value = header.partition(" ")
        value = value.strip()
        if scheme.lower() != "bearer" or not value or " " in value:
            raise unauthorized("Malformed Authorization header; expected 'Bearer <token>'")
        return value
    api_key = headers.get("x-api-key")
    if api_key is not None:
        api_key = api_key.strip()
        if not api_key:
            raise unauthorized("Empty X-API-Key header")
        return api_key
    return None


async def _authenticate(ctx: ApiContext, headers: Headers) -> Principal:
    credential = _credential(headers)
    if credential is None:
        raise unauthorized()
    try:
        return await ctx.authenticator.authenticate(credential)
    except SessionEnded:
        raise unauthorized("The session of this token has ended (signed out, or a new "
                           "password); sign in again") from None
    except InvalidToken:
        raise unauthorized("Invalid or expired credentials") from None


def early_authentication(routes: list[MountedRoute], prefix: str
                         ) -> Callable[[Scope], Awaitable[None]]:
    """For the gateway: authenticate and authorize a request that carries a body before
    any of it is read (FastAPI parses bodies before it runs dependencies), so an anonymous
    or unauthorized upload is refused after its headers instead of being spooled."""
    table = [(route.methods, compile_path(route.path)[0], access_for(route.route))
             for route in routes]
    public_paths = {route.path for route, (_, _, access) in zip(routes, table, strict=True)
                    if access.public}

    async def gate(scope: Scope) -> None:
        path = route_path(scope)
        if not path.startswith(prefix + "/") or path in public_paths:
            return
        method = str(scope.get("method"))
        access = next((a for methods, regex, a in table
                       if method in methods and regex.match(path)), None)
        if access is not None and access.public:
            return
        ctx: ApiContext = scope["app"].state.ctx
        principal = await _authenticate(ctx, Headers(scope=scope))
        state = scope.setdefault("state", {})
        state["principal"] = principal
        state["principal_id"] = str(principal.user_id)
        if access is not None and not access.allows(principal.role):
            raise ApiError(403, f"Role '{principal.role}' may not perform this operation")

    return gate


async def authorize(connection: HTTPConnection) -> None:
    """Runs on every route: authenticate (unless the gateway already did), then consult
    the permission table. (WebSocket routes authenticate in their handler: browsers
    cannot send headers.)"""
    route = connection.scope.get("route")
    if not isinstance(route, APIRoute) or not isinstance(connection, Request):
        return
    request = connection
    access = access_for(route)
    if access.public:
        return
    ctx: ApiContext = request.app.state.ctx
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is None:
        principal = await _authenticate(ctx, request.headers)
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


@functools.cache
def _networks(entries: tuple[str, ...]) -> tuple[IPv4Network | IPv6Network, ...]:
    return tuple(ip_network(e, strict=False) for e in entries)


def _trusted(address: str, networks: tuple[IPv4Network | IPv6Network, ...]) -> bool:
    try:
        ip = ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in networks)


def client_ip(request: Request) -> str | None:
    """The client's address: the peer's, unless the peer is a trusted proxy
    (HELIO_TRUSTED_PROXIES); then X-Forwarded-For is read from the right, and the first
    hop that is not a trusted proxy is the client. Headers from anyone else are ignored."""
    peer = request.client.host if request.client else None
    ctx: ApiContext = request.app.state.ctx
    networks = _networks(tuple(ctx.settings.trusted_proxies))
    if peer is None or not networks or not _trusted(peer, networks):
        return peer
    hops = [h.strip() for value in request.headers.getlist("x-forwarded-for")
            for h in value.split(",") if h.strip()]
    for hop in reversed(hops):
        try:
            address = str(ip_address(hop))
        except ValueError:  # garbage in the chain: nothing left of it can be believed
            return peer
        if not _trusted(address, networks):
            return address
    return peer
