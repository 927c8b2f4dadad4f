from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Request, Response
from fastapi.security import OAuth2PasswordRequestForm

from cluster.models import User
from deployments.api.deps import ContextDep, SessionDep, client_ip
from deployments.api.problems import ApiError, unauthorized
from deployments.api.ratelimit import limit_login
from deployments.api.schemas import RefreshRequest, Token
from deployments.api.services import audit, tokens, users

router = APIRouter(prefix="/auth", tags=["auth"])

MAX_USERNAME_CHARS = 320  # the longest valid email address
REFRESH_COOKIE = "helio_refresh"
REFRESH_COOKIE_PATH = "/api/v1/auth"


async def _token_response(response: Response, ctx: ContextDep, session: SessionDep, user: User,
                          refresh_token: str) -> Token:
    response.set_cookie(REFRESH_COOKIE, refresh_token, max_age=ctx.settings.refresh_token_ttl_s,
                        path=REFRESH_COOKIE_PATH, httponly=True, secure=True, samesite="strict")
    response.headers["Cache-Control"] = "no-store"
    family = await tokens.family_of(session=session, token=refresh_token)
    # The access token names its session, so long-lived WebSockets end with a sign-out.
    access = ctx.signer.issue_access(subject=user.id, role=user.role,
                                     session_id=family.family_id if family else None)
    return Token(access_token=access,
                 refresh_token=refresh_token, expires_in=ctx.signer.access_ttl_s)


def _presented_refresh(request: Request, body: RefreshRequest | None) -> str:
    token = (body.refresh_token if body else None) or request.cookies.get(REFRESH_COOKIE)
    if not token:
        raise unauthorized("No refresh token in the body or the session cookie")
    return token


@router.post("/token", response_model=Token,
             responses={401: {"description": "Bad credentials"},
                        429: {"description": "Too many attempts"}})
async def login(
    request: Request,
    response: Response,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    ctx: ContextDep,
    session: SessionDep,
) -> Token:
    """OAuth2 password flow: `username` is the email. Attempts are rate limited per account
    and per client address."""
    if len(form.username) > MAX_USERNAME_CHARS:
        raise ApiError(422, f"username is longer than {MAX_USERNAME_CHARS} characters",
                       title="Unprocessable Content",
                       errors=[{"loc": ["body", "username"],
                                "msg": f"at most {MAX_USERNAME_CHARS} characters"}])
    await limit_login(ctx, request, form.username, client_ip(request))
    user = await users.authenticate(session=session, email=form.username, password=form.password)
    rid = request.state.request_id
    if user is None:
        audit.record(session, action="auth.login", actor_id=None, actor_email=form.username[:320],
                     success=False, ip=client_ip(request), request_id=rid)
        await session.commit()
        raise unauthorized("Incorrect email or password")
    refresh = await tokens.issue_refresh(session=session, user_id=user.id,
                                         ttl_s=ctx.settings.refresh_token_ttl_s)
    audit.record(session, action="auth.login", actor_id=user.id, actor_email=user.email,
                 ip=client_ip(request), request_id=rid)
    await session.commit()
    return await _token_response(response, ctx, session, user, refresh)


@router.post("/refresh", response_model=Token, responses={401: {"description": "Token invalid"}})
async def refresh(
    request: Request,
    response: Response,
    ctx: ContextDep,
    session: SessionDep,
    body: Annotated[RefreshRequest | None, Body()] = None,
) -> Token:
    """Spend a refresh token for a new pair; a reused token revokes its family."""
    result = await tokens.rotate_refresh(session=session, token=_presented_refresh(request, body),
                                         ttl_s=ctx.settings.refresh_token_ttl_s)
    if result.reused:
        audit.record(session, action="auth.refresh_reuse", actor_id=None, actor_email=None,
                     success=False, ip=client_ip(request), request_id=request.state.request_id)
    await session.commit()
    if result.user is None or result.refresh_token is None:
        raise unauthorized("Refresh token invalid, expired or already used")
    return await _token_response(response, ctx, session, result.user, result.refresh_token)


@router.post("/logout", status_code=204, responses={401: {"description": "Token invalid"}})
async def logout(
    request: Request,
    session: SessionDep,
    ctx: ContextDep,
    body: Annotated[RefreshRequest | None, Body()] = None,
) -> Response:
    """End the session that the refresh token belongs to (its whole family)."""
    row = await tokens.family_of(session=session, token=_presented_refresh(request, body))
    if row is None:
        raise unauthorized("Unknown refresh token")
    await tokens.revoke_family(session=session, family_id=row.family_id)
    audit.record(session, action="auth.logout", actor_id=row.user_id, actor_email=None,
                 ip=client_ip(request), request_id=request.state.request_id)
    await session.commit()
    # Access tokens of this session stop working on every replica (WebSockets included).
    await ctx.authenticator.forget_session(row.family_id)
    response = Response(status_code=204)
    response.delete_cookie(REFRESH_COOKIE, path=REFRESH_COOKIE_PATH, httponly=True, secure=True,
                           samesite="strict")
    return response


