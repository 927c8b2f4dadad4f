"""Error tracking: an unhandled exception is stored (request id, route, user, stack) off
the request path; a failure to store it is logged, never raised."""

from __future__ import annotations

import asyncio
import traceback
from collections.abc import MutableMapping
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cluster.models import ErrorEvent

log = structlog.get_logger("helio.errors")
MAX_STACK = 20_000


class ErrorTracker:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._pending: set[asyncio.Task[None]] = set()

    def record(self, exc: BaseException, *, request_id: str,
               scope: MutableMapping[str, Any]) -> None:
        state = scope.get("state", {})
        principal = state.get("principal")
        route = getattr(scope.get("route"), "path", None)
        event = ErrorEvent(
            request_id=request_id, method=str(scope.get("method", ""))[:16],
            path=str(scope.get("path", ""))[:2000], route=route,
            user_id=getattr(principal, "user_id", None) if principal else None,
            error_type=type(exc).__qualname__[:200], message=str(exc)[:4000],
            stack="".join(traceback.format_exception(exc))[-MAX_STACK:])
        task = asyncio.get_running_loop().create_task(self._store(event))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _store(self, event: ErrorEvent) -> None:
        try:
            async with self._sessions() as session:
                session.add(event)
                await session.commit()
        except Exception as exc:
            log.warning("error_event_not_stored", error=type(exc).__name__,
                        request_id=event.request_id)

    async def drain(self) -> None:
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)
