"""Usage analytics: requests per principal (user, or user + API key) and hour, counted in
the replica and added to `usage_hourly` every few seconds (never a write per request)."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import structlog
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from actors._tasks import cancel_and_wait
from cluster.models import UsageHourly

log = structlog.get_logger("helio.usage")
Key = tuple[int, str, str]  # (hour as epoch seconds, user id, channel)


class UsageMeter:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], interval_s: float = 10.0
                 ) -> None:
        self._sessions = sessions
        self._interval = interval_s
        self._counts: dict[Key, list[float]] = {}
        self._task: asyncio.Task[None] | None = None

    def observe(self, principal: Any, status: int, latency_ms: float) -> None:
        hour = int(time.time()) // 3600 * 3600
        key_id = str(principal.api_key.id) if principal.api_key is not None else None
        entry = self._counts.setdefault((hour, str(principal.user_id), key_id or "jwt"),
                                        [0, 0, 0, 0.0])
        entry[0] += 1
        entry[1] += 1 if status >= 500 else 0
        entry[2] += 1 if status == 429 else 0
        entry[3] += latency_ms

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            await self.flush()

    async def flush(self) -> None:
        counts, self._counts = self._counts, {}
        for key, values in counts.items():
            try:
                await self._add(key, values)
            except Exception as exc:  # keep the counts for the next flush
                log.warning("usage_flush_failed", error=type(exc).__name__)
                entry = self._counts.setdefault(key, [0, 0, 0, 0.0])
                for i, value in enumerate(values):
                    entry[i] += value

    async def _add(self, key: Key, values: list[float]) -> None:
        hour = datetime.fromtimestamp(key[0], UTC)
        user_id = uuid.UUID(key[1])
        where = (UsageHourly.hour == hour, UsageHourly.user_id == user_id,
                 UsageHourly.channel == key[2])
        for _ in range(3):
            async with self._sessions() as session:
                result = await session.execute(
                    update(UsageHourly).where(*where).values(
                        requests=UsageHourly.requests + int(values[0]),
                        errors=UsageHourly.errors + int(values[1]),
                        rate_limited=UsageHourly.rate_limited + int(values[2]),
                        latency_ms_sum=UsageHourly.latency_ms_sum + float(values[3])))
                if getattr(result, "rowcount", 0) == 1:
                    await session.commit()
                    return
                session.add(UsageHourly(
                    hour=hour, user_id=user_id, channel=key[2],
                    api_key_id=None if key[2] == "jwt" else uuid.UUID(key[2]),
                    requests=int(values[0]), errors=int(values[1]),
                    rate_limited=int(values[2]), latency_ms_sum=float(values[3])))
                try:
                    await session.commit()
                    return
                except IntegrityError:
                    continue  # another replica inserted this hour's row first: update it

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None
        await self.flush()
