from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response

from deployments.api.deps import ContextDep, CurrentPrincipal, SessionDep, client_ip
from deployments.api.schemas import (
    ApiKeyRef,
    Limit,
    Me,
    Offset,
    UserCreate,
    UserPublic,
    UsersPublic,
    UserUpdate,
)
from deployments.api.services import audit, users

router = APIRouter(prefix="/users", tags=["users"])


@router.get("/me", response_model=Me)
async def read_me(principal: CurrentPrincipal) -> Me:
    """The signed-in user, served from the replica's principal cache (no query when warm)."""
    user, key = principal.user, principal.api_key
    return Me(id=user.id, email=user.email, role=principal.role, is_active=user.is_active,
              created_at=user.created_at, auth=principal.via,
              api_key=ApiKeyRef(id=key.id, name=key.name, prefix=key.prefix) if key else None)


@router.get("", response_model=UsersPublic)
async def list_users(session: SessionDep, limit: Limit = 100, offset: Offset = 0) -> UsersPublic:
    rows, total = await users.list_users(session=session, limit=limit, offset=offset)
    return UsersPublic(items=[UserPublic.model_validate(u) for u in rows], total=total)


@router.post("", response_model=UserPublic, status_code=201,
             responses={409: {"description": "Email already in use"}})
async def create_user(
    request: Request, body: UserCreate, session: SessionDep, principal: CurrentPrincipal
) -> UserPublic:
    user = await users.create_user(session=session, user_create=body)
    audit.record(session, action="user.create", actor_id=principal.user_id,
                 actor_email=principal.email, target=str(user.id), ip=client_ip(request),
                 request_id=request.state.request_id,
                 detail={"email": user.email, "role": user.role})
    await session.commit()
    return UserPublic.model_validate(user)


@router.get("/{user_id}", response_model=UserPublic)
async def read_user(user_id: uuid.UUID, session: SessionDep) -> UserPublic:
    return UserPublic.model_validate(await users.get_user(session=session, user_id=user_id))


@router.patch("/{user_id}", response_model=UserPublic,
              responses={409: {"description": "Conflict (email taken, last admin)"}})
async def update_user(
    request: Request,
    user_id: uuid.UUID,
    body: UserUpdate,
    session: SessionDep,
    principal: CurrentPrincipal,
    ctx: ContextDep,
) -> UserPublic:
    user = await users.get_user(session=session, user_id=user_id)
    changed = await users.update_user(session=session, user=user, user_update=body)
    audit.record(session, action="user.update", actor_id=principal.user_id,
                 actor_email=principal.email, target=str(user.id), ip=client_ip(request),
                 request_id=request.state.request_id,
                 detail={"changed": changed, **({"role": user.role} if "role" in changed else {})})
    await session.commit()
    await ctx.authenticator.forget_user(user.id)
    return UserPublic.model_validate(user)


@router.delete("/{user_id}", status_code=204,
               responses={409: {"description": "Last active admin"}})
async def delete_user(
    request: Request,
    user_id: uuid.UUID,
    session: SessionDep,
    principal: CurrentPrincipal,
    ctx: ContextDep,
) -> Response:
    user = await users.get_user(session=session, user_id=user_id)
    email = user.email
    await users.delete_user(session=session, user=user)
    audit.record(session, action="user.delete", actor_id=principal.user_id,
                 actor_email=principal.email, target=str(user_id), ip=client_ip(request),
                 request_id=request.state.request_id, detail={"email": email})
    await session.commit()
    await ctx.authenticator.forget_user(user_id)
    await ctx.authenticator.forget_keys()
    return Response(status_code=204)


