from __future__ import annotations

import asyncio
import contextlib
from typing import Annotated

from fastapi import APIRouter, Query, WebSocket, WebSocketDisconnect

from cluster.security import InvalidToken
from deployments.api.context import ApiContext
from deployments.api.permissions import PERMISSIONS

router = APIRouter(tags=["events"])
PING_INTERVAL_S = 20.0
# WebSocket close codes (RFC 6455 private range): 4401 unauthenticated, 4403 forbidden.
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403


@router.websocket("/events")
async def subscribe(
    websocket: WebSocket,
    token: Annotated[str | None, Query(max_length=4096,
                                       description="Access token or API key (browsers cannot "
                                                   "set headers on WebSockets)")] = None,
) -> None:
    """Live events as JSON messages: `{"type": "job", "job": {...}}` for job status and
    progress, `{"type": "dataset_version", "dataset": {...}}` for new versions, and
    `{"type": "metrics", "metrics": {...}}` once a second (requests/s, p50/p99 latency,
    error rate, cache hit rate, rate-limited requests, running jobs, Serve replicas per
    deployment, cluster CPU and memory)."""
    ctx: ApiContext = websocket.app.state.ctx
    header = websocket.headers.get("authorization", "")
    credential = token or websocket.headers.get("x-api-key") or (
        header.partition(" ")[2].strip() if header.lower().startswith("bearer ") else None)
    if not credential:
        await websocket.close(code=CLOSE_UNAUTHENTICATED, reason="Not authenticated")
        return
    try:
        principal = await ctx.authenticator.authenticate(credential)
    except InvalidToken:
        await websocket.close(code=CLOSE_UNAUTHENTICATED, reason="Invalid or expired credentials")
        return
    if not PERMISSIONS["events-subscribe"].allows(principal.role):
        await websocket.close(code=CLOSE_FORBIDDEN, reason="Role may not subscribe to events")
        return
    await websocket.accept()
    queue = ctx.events.subscribe()
    receiver = asyncio.create_task(_drain(websocket))
    try:
        await websocket.send_json({"type": "hello", "role": principal.role.value})
        while not receiver.done():
            try:
                event = await asyncio.wait_for(queue.get(), PING_INTERVAL_S)
            except TimeoutError:
                event = {"type": "ping"}
            await websocket.send_json(event)
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        ctx.events.unsubscribe(queue)
        receiver.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await receiver


async def _drain(websocket: WebSocket) -> None:
    """Read (and ignore) client messages, so a disconnect is noticed promptly."""
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
