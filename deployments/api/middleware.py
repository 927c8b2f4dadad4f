"""Gateway middleware: request ids, body size limits, last-resort 500s, access log.

A pure ASGI middleware (no BaseHTTPMiddleware) so it costs little per request.
"""

from __future__ import annotations

import json
import math
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from actors.platform import LiveStats
from deployments.api.errors import ErrorTracker
from deployments.api.metrics import ReplicaMetrics
from deployments.api.problems import PROBLEM_MEDIA_TYPE, ApiError, problem_body
from deployments.api.usage import UsageMeter

REQUEST_ID_HEADER = b"x-request-id"
# On every response: no MIME sniffing, no framing, referrers only to the same origin in
# full. HSTS is added when the request came over HTTPS.
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
    (b"x-frame-options", b"DENY"),
]
HSTS_HEADER = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")
_REQUEST_ID_RE = re.compile(rb"^[A-Za-z0-9._:-]{8,128}$")


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value)
    return None


class GatewayMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        body_limit_for: Callable[[Scope], int],
        access_log: bool,
        behind_serve: bool = False,
        stats: LiveStats | None = None,
        usage: UsageMeter | None = None,
        errors: ErrorTracker | None = None,
        metrics: ReplicaMetrics | None = None,
        route_prefix: str = "",
        authenticate_early: Callable[[Scope], Awaitable[None]] | None = None,
    ) -> None:
        self.app = app
        self.authenticate_early = authenticate_early
        self.stats = stats
        self.usage = usage
        self.errors = errors
        self.metrics = metrics
        # Routers are included under this prefix; their routes' paths are relative to it.
        self.route_prefix = route_prefix
        self.body_limit_for = body_limit_for
        self.access_log = access_log
        # Serve's own middleware already picked the request id (client's or generated), put it
        # in the request headers and adds it to the response: reuse it, do not add a second.
        self.behind_serve = behind_serve
        self.log = structlog.get_logger("helio.http")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        given = _header(scope, REQUEST_ID_HEADER)
        if given and (self.behind_serve or _REQUEST_ID_RE.match(given)):
            request_id = given.decode("latin-1")[:128]
        else:
            request_id = uuid.uuid4().hex
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        if scope["type"] == "websocket":
            await self.app(scope, receive, send)
            return

        started = time.perf_counter()
        status_holder = [0]
        limit = self.body_limit_for(scope)
        declared = _header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._send_problem(send, request_id, 413,
                                     f"Request body exceeds the limit of {limit} bytes",
                                     add_header=not self.behind_serve)
            return
        if self.authenticate_early is not None and _has_body(scope, declared):
            try:
                await self.authenticate_early(scope)
            except ApiError as exc:
                await self._send_problem(send, request_id, exc.status, exc.detail,
                                         add_header=not self.behind_serve,
                                         headers=exc.headers)
                return

        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # FastAPI re-raises HTTPException from body parsing -> problem handler.
                    raise HTTPException(413, f"Request body exceeds the limit of {limit} bytes")
            return message

        rid_header = (REQUEST_ID_HEADER, request_id.encode("latin-1"))
        add_header = not self.behind_serve

        security = [*SECURITY_HEADERS, HSTS_HEADER] if scope.get("scheme") == "https" \
            else SECURITY_HEADERS

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder[0] = message["status"]
                extra = [*security, rid_header] if add_header else list(security)
                decision = state.get("rate_limit")
                if decision is not None and decision.allowed:
                    extra += rate_limit_headers(decision)
                if extra:
                    message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        try:
            await self.app(scope, limited_receive, send_with_id)
        except Exception as exc:
            self.log.exception("unhandled_exception", request_id=request_id,
                               method=scope.get("method"), path=scope.get("path"))
            if self.errors is not None:
                self.errors.record(exc, request_id=request_id, scope=scope)
            if status_holder[0] == 0:
                status_holder[0] = 500
                await self._send_problem(send, request_id, 500,
                                         "An unexpected error occurred; quote the request id.",
                                         add_header=add_header)
        finally:
            latency_ms = (time.perf_counter() - started) * 1000
            if self.stats is not None:
                self.stats.observe(status_holder[0], latency_ms)
            if self.metrics is not None:
                # The route template (not the raw path) keeps label cardinality bounded.
                template = getattr(scope.get("route"), "path", None)
                route = f"{self.route_prefix}{template}" if template else "unmatched"
                self.metrics.observe_request(route, str(scope.get("method")), status_holder[0],
                                             latency_ms)
            principal = state.get("principal")
            if self.usage is not None and principal is not None:
                self.usage.observe(principal, status_holder[0], latency_ms)
            if self.access_log:
                self.log.info(
                    "request", request_id=request_id, method=scope.get("method"),
                    path=scope.get("path"), status=status_holder[0],
                    principal=state.get("principal_id"), latency_ms=round(latency_ms, 2),
                )

    @staticmethod
    async def _send_problem(
        send: Send, request_id: str, status: int, detail: str, *, add_header: bool,
        headers: dict[str, str] | None = None,
    ) -> None:
        body = json.dumps(problem_body(status, detail, request_id=request_id)).encode()
        response_headers: list[tuple[bytes, bytes]] = [
            (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
            (b"content-length", str(len(body)).encode()),
            # The body was not read: the connection cannot carry another request.
            *([(b"connection", b"close")] if status in (401, 413) else []),
            *SECURITY_HEADERS,
            *((k.lower().encode(), v.encode()) for k, v in (headers or {}).items()),
        ]
        if add_header:
            response_headers.append((REQUEST_ID_HEADER, request_id.encode("latin-1")))
        await send({"type": "http.response.start", "status": status,
                    "headers": response_headers})
        await send({"type": "http.response.body", "body": body})


def rate_limit_headers(decision: Any) -> list[tuple[bytes, bytes]]:
    return [
        (b"ratelimit-limit", str(decision.limit).encode()),
        (b"ratelimit-remaining", str(max(0, decision.remaining)).encode()),
        (b"ratelimit-reset", str(max(0, math.ceil(decision.reset_after))).encode()),
    ]


def _has_body(scope: Scope, declared: bytes | None) -> bool:
    if declared is not None:
        return declared.strip() not in (b"", b"0")
    return _header(scope, b"transfer-encoding") is not None


def route_path(scope: Scope) -> str:
    """The path the router matches: without the mount point (`root_path`), if the server
    left it in."""
    path, root = str(scope.get("path", "")), str(scope.get("root_path", ""))
    return path[len(root):] if root and path.startswith(root) else path


def body_limits(*, default: int, upload: int, upload_routes: set[tuple[str, str]]) -> Callable[
    [Scope], int
]:
    def limit_for(scope: Scope) -> int:
        key: tuple[str, str] = (str(scope.get("method", "")), route_path(scope))
        return upload if key in upload_routes else default

    return limit_for


