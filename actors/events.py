"""The event hub: job progress and dataset versions, fanned out to WebSocket clients.

Publishers (job drivers, replicas) send events to the named `EventHubActor`; each
ingress replica long-polls it once and fans events out to its own WebSocket
subscribers, so the actor sees one caller per replica, not one per browser.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections import deque
from typing import Any

import structlog

from actors import names
from actors._handles import NamedActor
from actors._tasks import cancel_and_wait

log = structlog.get_logger("helio.events")


class EventLog:
    """A bounded, sequenced log of recent events (pure logic)."""

    def __init__(self, capacity: int = 2000) -> None:
        self.events: deque[tuple[int, dict[str, Any]]] = deque(maxlen=capacity)
        self._seq = itertools.count(1)
        self.last = 0

    def append(self, event: dict[str, Any]) -> int:
        self.last = next(self._seq)
        self.events.append((self.last, event))
        return self.last

    def since(self, after: int) -> list[tuple[int, dict[str, Any]]]:
        if after >= self.last:
            return []
        return [(seq, e) for seq, e in self.events if seq > after]


class EventHubActor:
    """Async actor: `publish` never blocks; `poll` waits up to `timeout_s` for news."""

    def __init__(self) -> None:
        self.log = EventLog()
        self._news = asyncio.Event()

    async def publish(self, event: dict[str, Any]) -> int:
        seq = self.log.append(event)
        self._news.set()
        self._news = asyncio.Event()
        return seq

    async def poll(self, after: int, timeout_s: float) -> tuple[int, list[dict[str, Any]]]:
        """Events after `after` (a client whose `after` is ahead of the log, e.g. after a
        restart of this actor, starts over from 0)."""
        if after > self.log.last:
            after = 0
        if after == self.log.last:
            news = self._news
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(news.wait(), timeout_s)
        found = self.log.since(after)
        return (found[-1][0] if found else after), [e for _, e in found]

    async def last(self) -> int:
        return self.log.last


def get_or_create_event_hub(namespace: str = names.NAMESPACE) -> Any:
    import ray

    return (ray.remote(EventHubActor)
            .options(**names.actor_options(names.EVENTS, namespace, max_concurrency=1000))
            .remote())


def publish_from_driver(event: dict[str, Any], namespace: str) -> None:
    """Fire-and-forget publish from a synchronous process (a job driver)."""
    try:
        get_or_create_event_hub(namespace).publish.remote(event)
    except Exception as exc:
        log.warning("event_publish_failed", error=type(exc).__name__)


class EventStream:
    """Replica side: one poll loop against the hub, fan-out to local subscriber queues."""

    def __init__(self, *, namespace: str | None, poll_timeout_s: float = 10.0) -> None:
        self._namespace = namespace
        self._hub: NamedActor | None = None
        self._local: EventHubActor | None = None
        if namespace is None:
            self._local = EventHubActor()
        else:
            self._hub = NamedActor(lambda: get_or_create_event_hub(namespace),
                                   timeout_s=poll_timeout_s + 5)
        self._poll_timeout_s = poll_timeout_s
        self._subscribers: set[asyncio.Queue[dict[str, Any]]] = set()
        self._task: asyncio.Task[None] | None = None

    async def publish(self, event: dict[str, Any]) -> None:
        try:
            if self._local is not None:
                await self._local.publish(event)
            else:
                assert self._hub is not None
                await self._hub.call("publish", event)
        except Exception as exc:
            log.warning("event_publish_failed", error=type(exc).__name__)

    def subscribe(self) -> asyncio.Queue[dict[str, Any]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=1000)
        self._subscribers.add(queue)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())
        return queue

    def unsubscribe(self, queue: asyncio.Queue[dict[str, Any]]) -> None:
        self._subscribers.discard(queue)

    async def _poll(self, after: int) -> tuple[int, list[dict[str, Any]]]:
        if self._local is not None:
            return await self._local.poll(after, self._poll_timeout_s)
        assert self._hub is not None
        result: tuple[int, list[dict[str, Any]]] = await self._hub.call(
            "poll", after, self._poll_timeout_s)
        return result

    async def _run(self) -> None:
        after = -1
        while self._subscribers:
            try:
                if after < 0:  # start at the present: subscribers get news, not history
                    after = await self._last()
                    continue
                after, events = await self._poll(after)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("event_poll_failed", error=type(exc).__name__)
                await asyncio.sleep(1.0)
                continue
            for event in events:
                for queue in list(self._subscribers):
                    if queue.full():  # a stalled client loses old events, not the replica
                        with contextlib.suppress(asyncio.QueueEmpty):
                            queue.get_nowait()
                    queue.put_nowait(event)

    async def _last(self) -> int:
        if self._local is not None:
            return await self._local.last()
        assert self._hub is not None
        value: int = await self._hub.call("last")
        return value

    async def close(self) -> None:
        await cancel_and_wait(self._task)
