from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Annotated, Any

from fastapi import APIRouter, Query, WebSocket, WebSocketDisconnect

from cluster.models import Role
from cluster.security import InvalidToken
from deployments.api.context import ApiContext
from deployments.api.permissions import PERMISSIONS
from deployments.api.principals import Principal, SessionEnded

router = APIRouter(tags=["events"])
PING_INTERVAL_S = 20.0
# WebSocket close codes (RFC 6455 private range): 4401 unauthenticated, 4403 forbidden.
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_TOO_MANY = 4429


@router.websocket("/events")
async def subscribe(
    websocket: WebSocket,
    token: Annotated[str | None, Query(max_length=4096,
                                       description="Access token or API key (browsers cannot "
                                                   "set headers on WebSockets)")] = None,
) -> None:
    """Live events as JSON messages: `{"type": "job", "job": {...}}` for job status and
    progress, `{"type": "dataset_version", "dataset": {...}}` for new versions, and
    `{"type": "job_log", "job_log": {job_id, seq, attempt, text}}` for a job's output
    (sent only to the job's owner and to admins), and
    `{"type": "metrics", "metrics": {...}}` once a second (requests/s, p50/p99 latency,
    error rate, cache hit rate, rate-limited requests, running jobs, Serve replicas per
    deployment, cluster CPU and memory). The credential is checked again at least every
    `HELIO_WS_RECHECK_S` seconds: an expired token, a sign-out, a deactivated user or a
    revoked key closes the socket with 4401, a role that may no longer subscribe with 4403.
    A principal holds at most `HELIO_WS_MAX_PER_PRINCIPAL` sockets per replica (4429)."""
    ctx: ApiContext = websocket.app.state.ctx
    header = websocket.headers.get("authorization", "")
    credential = token or websocket.headers.get("x-api-key") or (
        header.partition(" ")[2].strip() if header.lower().startswith("bearer ") else None)
    if not credential:
        await websocket.close(code=CLOSE_UNAUTHENTICATED, reason="Not authenticated")
        return
    verdict = await _check(ctx, credential)
    if isinstance(verdict, tuple):
        await websocket.close(code=verdict[0], reason=verdict[1])
        return
    principal = verdict
    subject = _subject(principal)
    sockets = ctx.sockets
    if sockets.get(subject, 0) >= ctx.settings.ws_max_per_principal:
        await websocket.accept()  # so the client sees why, not a bare HTTP 403
        await websocket.close(code=CLOSE_TOO_MANY, reason=(
            f"At most {ctx.settings.ws_max_per_principal} event sockets per principal"))
        return
    sockets[subject] = sockets.get(subject, 0) + 1
    try:
        await _stream(ctx, websocket, credential, principal)
    finally:
        sockets[subject] -= 1
        if sockets[subject] <= 0:
            del sockets[subject]


async def _stream(ctx: ApiContext, websocket: WebSocket, credential: str,
                  principal: Principal) -> None:
    await websocket.accept()
    queue = ctx.events.subscribe()
    receiver = asyncio.create_task(_drain(websocket))
    getter: asyncio.Task[dict[str, Any]] | None = None
    recheck_s = ctx.settings.ws_recheck_s
    next_check = time.monotonic() + recheck_s
    next_ping = time.monotonic() + PING_INTERVAL_S
    try:
        await websocket.send_json({"type": "hello", "role": principal.role.value})
        while True:
            now = time.monotonic()
            if now >= next_check:
                verdict = await _check(ctx, credential)
                if isinstance(verdict, tuple):
                    await websocket.close(code=verdict[0], reason=verdict[1])
                    return
                next_check = now + recheck_s
            if now >= next_ping:
                await websocket.send_json({"type": "ping"})
                next_ping = now + PING_INTERVAL_S
            getter = getter or asyncio.create_task(queue.get())
            # Wake for an event, the client leaving, or the next check, whichever is first.
            done, _ = await asyncio.wait(
                {getter, receiver}, timeout=max(0.0, min(next_check, next_ping) - now),
                return_when=asyncio.FIRST_COMPLETED)
            if receiver in done:
                return
            if getter in done:
                event, getter = getter.result(), None
                if "owner_id" in event:  # a job's logs: its owner's and the admins' only
                    if not _sees_owned(principal, event["owner_id"]):
                        continue
                    event = {k: v for k, v in event.items() if k != "owner_id"}
                await websocket.send_json(event)
                next_ping = time.monotonic() + PING_INTERVAL_S
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        ctx.events.unsubscribe(queue)
        for task in (receiver, getter):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task


def _sees_owned(principal: Principal, owner_id: str) -> bool:
    return principal.role == Role.admin or (
        principal.user_id is not None and str(principal.user_id) == owner_id)


def _subject(principal: Principal) -> str:
    if principal.api_key is not None:
        return f"key:{principal.api_key.id}"
    return f"user:{principal.user_id}"


async def _check(ctx: ApiContext, credential: str) -> Principal | tuple[int, str]:
    """The principal behind `credential` now, or the close code and reason."""
    try:
        principal = await ctx.authenticator.authenticate(credential)
    except SessionEnded:
        return CLOSE_UNAUTHENTICATED, "The session was signed out"
    except InvalidToken:
        return CLOSE_UNAUTHENTICATED, "Invalid or expired credentials"
    if not PERMISSIONS["events-subscribe"].allows(principal.role):
        return CLOSE_FORBIDDEN, "Role may not subscribe to events"
    return principal


async def _drain(websocket: WebSocket) -> None:
    """Read (and ignore) client messages, so a disconnect is noticed promptly."""
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
