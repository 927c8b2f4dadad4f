"""The metadata database as a long-lived actor holds it: engine and sessions made on first
use (never at import), disposed when the actor stops."""

from __future__ import annotations

from typing import Any


class LazyDatabase:
    def __init__(self, url: str) -> None:
        self.url = url
        self._engine: Any = None
        self._sessions: Any = None

    def sessions(self) -> Any:
        if self._sessions is None:
            from cluster.db import create_engine, create_session_factory

            self._engine = create_engine(self.url)
            self._sessions = create_session_factory(self._engine)
        return self._sessions

    async def dispose(self) -> None:
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = self._sessions = None
