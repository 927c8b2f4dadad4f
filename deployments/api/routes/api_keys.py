from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response

from deployments.api.deps import ContextDep, CurrentPrincipal, SessionDep, client_ip
from deployments.api.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyPublic,
    ApiKeysPublic,
    Limit,
    Offset,
)
from deployments.api.services import api_keys, audit

router = APIRouter(prefix="/api-keys", tags=["api_keys"])


@router.post("", response_model=ApiKeyCreated, status_code=201)
async def create_api_key(
    request: Request, body: ApiKeyCreate, session: SessionDep, principal: CurrentPrincipal
) -> ApiKeyCreated:
    """Create a key for the caller; the secret in `key` is shown only in this response."""
    key, secret = await api_keys.create_api_key(session=session, owner=principal, name=body.name,
                                                role=body.role)
    audit.record(session, action="api_key.create", actor_id=principal.user_id,
                 actor_email=principal.email, target=str(key.id), ip=client_ip(request),
                 request_id=request.state.request_id,
                 detail={"name": key.name, "prefix": key.prefix, "role": key.role})
    await session.commit()
    return ApiKeyCreated(**ApiKeyPublic.model_validate(key).model_dump(), key=secret)


@router.get("", response_model=ApiKeysPublic)
async def list_api_keys(
    session: SessionDep, principal: CurrentPrincipal, limit: Limit = 100, offset: Offset = 0
) -> ApiKeysPublic:
    """Admins see every key; others see their own."""
    rows, total = await api_keys.list_api_keys(session=session, principal=principal, limit=limit,
                                               offset=offset)
    return ApiKeysPublic(items=[ApiKeyPublic.model_validate(k) for k in rows], total=total)


@router.delete("/{key_id}", status_code=204)
async def revoke_api_key(
    request: Request,
    key_id: uuid.UUID,
    session: SessionDep,
    principal: CurrentPrincipal,
    ctx: ContextDep,
) -> Response:
    key = await api_keys.revoke_api_key(session=session, principal=principal, key_id=key_id)
    audit.record(session, action="api_key.revoke", actor_id=principal.user_id,
                 actor_email=principal.email, target=str(key.id), ip=client_ip(request),
                 request_id=request.state.request_id, detail={"prefix": key.prefix})
    await session.commit()
    await ctx.authenticator.forget_keys()
    return Response(status_code=204)
