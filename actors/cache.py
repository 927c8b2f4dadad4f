"""Shared cache: an LRU/TTL/tag store in a named actor, Redis as L2, a small L1 per replica.

- `LruTtlStore`: the pure logic (byte budget with LRU eviction, TTLs, tags, stats).
- `CacheActor`: the named, restartable cluster cache. With Redis configured it writes
  through to Redis (TTL mirrored, tags as Redis sets) and reads through on a miss, so a
  restart loses nothing acknowledged. Tag invalidations bump a version counter.
- `ReplicaCache`: the replica-local L1 (short TTL, bounded) in front of the actor, with
  single flight for concurrent misses and tag versions polled from the actor, so an
  invalidation reaches every replica's L1 within one poll interval.

Values are bytes; `ReplicaCache.cached` stores JSON. Nothing is pickled.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

import structlog

from actors import names
from actors._handles import NamedActor
from actors._metrics import counter
from actors._redis import KEY_PREFIX, connect
from actors._tasks import cancel_and_wait


@dataclass
class _Entry:
    value: bytes
    expires: float
    tags: tuple[str, ...]


class LruTtlStore:
    # Expired entries are dropped when read, and by a sweep at most this often (from `set`):
    # keys that are never read again (one-off predictions and queries) would otherwise hold
    # memory until the byte budget evicts them.
    SWEEP_INTERVAL_S = 30.0

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[str, _Entry] = OrderedDict()
        self._tags: dict[str, set[str]] = {}
        self.bytes = 0
        self.hits = self.misses = self.evictions = self.expirations = 0
        self._swept: float | None = None

    def get(self, key: str, now: float) -> tuple[bytes, float] | None:
        """The value and its remaining TTL, or None."""
        entry = self._items.get(key)
        if entry is None:
            self.misses += 1
            return None
        if entry.expires <= now:
            self._drop(key)
            self.expirations += 1
            self.misses += 1
            return None
        self._items.move_to_end(key)
        self.hits += 1
        return entry.value, entry.expires - now

    def set(self, key: str, value: bytes, ttl_s: float, tags: tuple[str, ...], now: float) -> bool:
        """Store unless the value alone exceeds the budget; evict least recently used."""
        if self._swept is None:
            self._swept = now
        elif now - self._swept >= self.SWEEP_INTERVAL_S:
            self.sweep(now)
        size = len(value)
        if size > self.max_bytes or ttl_s <= 0:
            self._drop(key)
            return False
        self._drop(key)
        self._items[key] = _Entry(value, now + ttl_s, tags)
        self.bytes += size
        for tag in tags:
            self._tags.setdefault(tag, set()).add(key)
        while self.bytes > self.max_bytes:
            oldest = next(iter(self._items))
            self._drop(oldest)
            self.evictions += 1
        return True

    def sweep(self, now: float) -> int:
        """Drop every expired entry; how many."""
        self._swept = now
        expired = [key for key, entry in self._items.items() if entry.expires <= now]
        for key in expired:
            self._drop(key)
        self.expirations += len(expired)
        return len(expired)

    def delete(self, key: str) -> bool:
        return self._drop(key)

    def invalidate_tag(self, tag: str) -> int:
        keys = self._tags.pop(tag, set())
        for key in keys:
            self._drop(key)
        return len(keys)

    def _drop(self, key: str) -> bool:
        entry = self._items.pop(key, None)
        if entry is None:
            return False
        self.bytes -= len(entry.value)
        for tag in entry.tags:
            members = self._tags.get(tag)
            if members is not None:
                members.discard(key)
                if not members:
                    del self._tags[tag]
        return True

    def stats(self) -> dict[str, int]:
        return {"hits": self.hits, "misses": self.misses, "evictions": self.evictions,
                "expirations": self.expirations, "bytes": self.bytes, "keys": len(self._items)}


class CacheActor:
    """Named cluster cache; Redis (when configured) is the durable L2."""

    def __init__(self, max_bytes: int = 256 << 20, redis_url: str | None = None,
                 key_prefix: str = KEY_PREFIX) -> None:
        self._store = LruTtlStore(max_bytes)
        self._value = key_prefix + "c:v:"
        self._tag = key_prefix + "c:t:"
        self._tag_versions = key_prefix + "c:tagver"
        self._redis = connect(redis_url) if redis_url else None
        self._versions: dict[str, int] = {}
        self._seq = 0
        self.redis_errors = 0
        self.log = structlog.get_logger("helio.cache")
        self._metrics = _cache_metrics()

    async def get(self, key: str) -> tuple[bytes, float] | None:
        hit = self._store.get(key, time.monotonic())
        if hit is not None:
            self._metrics["hits"].inc()
            return hit
        if self._redis is not None:
            try:
                async with self._redis.pipeline(transaction=False) as pipe:
                    pipe.get(self._value + key)
                    pipe.pttl(self._value + key)
                    value, pttl = await pipe.execute()
            except Exception as exc:
                self._redis_failed(exc)
            else:
                if value is not None and pttl and pttl > 0:
                    self._store.set(key, value, pttl / 1000, (), time.monotonic())
                    self._metrics["hits"].inc()
                    return bytes(value), pttl / 1000
        self._metrics["misses"].inc()
        return None

    async def get_many(self, keys: list[str]) -> dict[str, tuple[bytes, float]]:
        found = {}
        for key in keys:
            hit = await self.get(key)
            if hit is not None:
                found[key] = hit
        return found

    async def set(self, key: str, value: bytes, ttl_s: float, tags: tuple[str, ...] = ()) -> bool:
        evictions = self._store.evictions
        stored = self._store.set(key, value, ttl_s, tuple(tags), time.monotonic())
        if self._store.evictions > evictions:  # Ray counters reject inc(0)
            self._metrics["evictions"].inc(self._store.evictions - evictions)
        if self._redis is not None and ttl_s > 0:
            try:
                async with self._redis.pipeline(transaction=True) as pipe:
                    pipe.set(self._value + key, value, px=max(1, int(ttl_s * 1000)))
                    for tag in tags:
                        pipe.sadd(self._tag + tag, key)
                        pipe.pexpire(self._tag + tag, max(1, int(ttl_s * 1000)), gt=True)
                        pipe.pexpire(self._tag + tag, max(1, int(ttl_s * 1000)), nx=True)
                    await pipe.execute()
                stored = True
            except Exception as exc:
                self._redis_failed(exc)
        return stored

    async def delete(self, key: str) -> bool:
        removed = self._store.delete(key)
        if self._redis is not None:
            try:
                removed = bool(await self._redis.delete(self._value + key)) or removed
            except Exception as exc:
                self._redis_failed(exc)
        return removed

    async def invalidate_tag(self, tag: str) -> int:
        removed = self._store.invalidate_tag(tag)
        self._seq += 1
        self._versions[tag] = self._seq
        if self._redis is not None:
            try:
                members = [m.decode() if isinstance(m, bytes) else str(m)
                           for m in await self._redis.smembers(self._tag + tag)]
                for member in members:  # read-through copies here do not know their tags
                    self._store.delete(member)
                async with self._redis.pipeline(transaction=True) as pipe:
                    for member in members:
                        pipe.delete(self._value + member)
                    pipe.delete(self._tag + tag)
                    pipe.hincrby(self._tag_versions, tag, 1)
                    await pipe.execute()
                removed = max(removed, len(members))
            except Exception as exc:
                self._redis_failed(exc)
        return removed

    async def tag_versions(self, since: int) -> tuple[int, dict[str, int]]:
        """Tags invalidated after sequence number `since` (the L1s poll this)."""
        return self._seq, {t: v for t, v in self._versions.items() if v > since}

    async def stats(self) -> dict[str, int]:
        return {**self._store.stats(), "redis_errors": self.redis_errors}

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()

    def _redis_failed(self, exc: Exception) -> None:
        self.redis_errors += 1
        self._metrics["redis_errors"].inc()
        self.log.warning("cache_redis_unavailable", error=type(exc).__name__)


def _cache_metrics() -> dict[str, Any]:
    return {
        "hits": counter("helio_cache_actor_hits_total", "Cache actor hits"),
        "misses": counter("helio_cache_actor_misses_total", "Cache actor misses"),
        "evictions": counter("helio_cache_evictions_total", "Entries evicted by the byte budget"),
        "redis_errors": counter("helio_cache_redis_errors_total",
                                "Cache operations that could not reach Redis"),
    }


def get_or_create_cache(max_bytes: int, redis_url: str | None,
                        namespace: str = names.NAMESPACE) -> Any:
    import ray

    return (
        ray.remote(CacheActor)
        .options(**names.actor_options(names.CACHE, namespace, max_concurrency=1000))
        .remote(max_bytes, redis_url, f"{KEY_PREFIX}{namespace}:")
    )


class CacheBackend(Protocol):
    async def get(self, key: str) -> tuple[bytes, float] | None: ...
    async def set(self, key: str, value: bytes, ttl_s: float, tags: tuple[str, ...]) -> bool: ...
    async def delete(self, key: str) -> bool: ...
    async def invalidate_tag(self, tag: str) -> int: ...
    async def tag_versions(self, since: int) -> tuple[int, dict[str, int]]: ...
    async def stats(self) -> dict[str, int]: ...


class ActorCacheBackend:
    """The named CacheActor, called from a replica."""

    def __init__(self, max_bytes: int, redis_url: str | None, timeout_s: float = 2.0,
                 namespace: str = names.NAMESPACE) -> None:
        self._actor = NamedActor(lambda: get_or_create_cache(max_bytes, redis_url, namespace),
                                 timeout_s)
        self._call = self._actor.call

    async def get(self, key: str) -> tuple[bytes, float] | None:
        return await self._call("get", key)  # type: ignore[no-any-return]

    async def set(self, key: str, value: bytes, ttl_s: float, tags: tuple[str, ...]) -> bool:
        return await self._call("set", key, value, ttl_s, tags)  # type: ignore[no-any-return]

    async def delete(self, key: str) -> bool:
        return await self._call("delete", key)  # type: ignore[no-any-return]

    async def invalidate_tag(self, tag: str) -> int:
        return await self._call("invalidate_tag", tag)  # type: ignore[no-any-return]

    async def tag_versions(self, since: int) -> tuple[int, dict[str, int]]:
        return await self._call("tag_versions", since)  # type: ignore[no-any-return]

    async def stats(self) -> dict[str, int]:
        """Creates the actor if it does not exist yet (readiness, `helio up`)."""
        return await self._call("stats")  # type: ignore[no-any-return]


class LocalCacheBackend(CacheActor):
    """The same cache in-process, for an API running outside Ray (e.g. plain uvicorn)."""


class ReplicaCache:
    """L1 in an ingress replica: short TTL, bounded, tag-aware, single flight."""

    def __init__(
        self,
        backend: CacheBackend,
        *,
        l1_ttl_s: float = 5.0,
        l1_max_entries: int = 10_000,
        poll_interval_s: float = 0.25,
    ) -> None:
        self.backend = backend
        self._ttl = l1_ttl_s
        self._max = l1_max_entries
        self._poll = poll_interval_s
        self._l1: dict[str, tuple[float, Any, tuple[tuple[str, int], ...]]] = {}
        self._versions: dict[str, int] = {}
        self._seq = 0
        self._inflight: dict[str, asyncio.Future[Any]] = {}
        self._poller: asyncio.Task[None] | None = None
        self.log = structlog.get_logger("helio.cache")
        self.counters = {"l1_hits": 0, "l2_hits": 0, "misses": 0, "computes": 0, "errors": 0}

    def start(self) -> None:
        """Start polling tag versions (needs a running loop; `cached` calls it lazily)."""
        if self._poller is None and self._poll > 0:
            self._poller = asyncio.get_running_loop().create_task(self._poll_versions())

    async def stop(self) -> None:
        await cancel_and_wait(self._poller)
        self._poller = None

    async def _poll_versions(self) -> None:
        swept = time.monotonic()
        while True:
            await asyncio.sleep(self._poll)
            if time.monotonic() - swept >= self._ttl:
                self.sweep()
                swept = time.monotonic()
            try:
                await self.sync_versions()
            except Exception as exc:  # the actor restarts: keep polling
                self.counters["errors"] += 1
                self.log.debug("cache_version_poll_failed", error=type(exc).__name__)

    def sweep(self) -> int:
        """Drop expired L1 entries. Keys that are never asked for again (a new prediction
        input, a new query) would otherwise stay until the L1 is full: memory that grows
        for minutes under steady traffic and then drops (benchmarks/soak.py)."""
        now = time.monotonic()
        expired = [key for key, (expires, _, _) in self._l1.items() if expires < now]
        for key in expired:
            del self._l1[key]
        return len(expired)

    async def sync_versions(self) -> None:
        seq, changed = await self.backend.tag_versions(self._seq)
        if seq < self._seq:  # the actor restarted: its counters began again
            self._l1.clear()
        self._versions.update(changed)
        self._seq = seq

    def _fresh(self, key: str) -> Any:
        hit = self._l1.get(key)
        if hit is None:
            return _MISSING
        expires, value, versions = hit
        if expires < time.monotonic() or any(self._versions.get(t, 0) != v for t, v in versions):
            self._l1.pop(key, None)
            return _MISSING
        return value

    def _remember(self, key: str, value: Any, ttl_s: float, tags: tuple[str, ...]) -> None:
        if ttl_s <= 0:
            return
        if len(self._l1) >= self._max:
            self._l1.clear()
        self._l1[key] = (time.monotonic() + ttl_s,
                         value, tuple((t, self._versions.get(t, 0)) for t in tags))

    async def cached(
        self,
        key: str,
        ttl_s: float,
        tags: tuple[str, ...],
        compute: Callable[[], Awaitable[Any]],
        *,
        l1_ttl_s: float | None = None,
        decode: Callable[[Any], Any] | None = None,
    ) -> Any:
        """The value for `key`: L1, then the cluster cache, then `compute()`.

        `compute` returns something JSON-serialisable (that is what the cluster cache and
        Redis hold); `decode`, if given, turns it into the object the L1 keeps and returns.
        Concurrent misses on one key in this replica compute once. If the cluster cache
        is unreachable the value is computed (and kept in L1): never an error for the caller.
        """
        if self._poller is None:
            self.start()
        value = self._fresh(key)
        if value is not _MISSING:
            self.counters["l1_hits"] += 1
            return value
        pending = self._inflight.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            value = await self._load(key, ttl_s, tags, compute,
                                     self._ttl if l1_ttl_s is None else min(l1_ttl_s, self._ttl),
                                     decode)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()
            raise
        finally:
            self._inflight.pop(key, None)
        future.set_result(value)
        return value

    async def _load(self, key: str, ttl_s: float, tags: tuple[str, ...],
                    compute: Callable[[], Awaitable[Any]], l1_ttl_s: float,
                    decode: Callable[[Any], Any] | None) -> Any:
        try:
            hit = await self.backend.get(key)
        except Exception as exc:
            self.counters["errors"] += 1
            self.log.warning("cache_unavailable", error=type(exc).__name__)
            hit = None
        if hit is not None:
            self.counters["l2_hits"] += 1
            value = json.loads(hit[0])
            value = decode(value) if decode is not None and value is not None else value
            self._remember(key, value, min(hit[1], l1_ttl_s), tags)
            return value
        self.counters["misses"] += 1
        self.counters["computes"] += 1
        value = await compute()
        try:
            await self.backend.set(key, json.dumps(value).encode(), ttl_s, tags)
        except Exception as exc:
            self.counters["errors"] += 1
            self.log.warning("cache_unavailable", error=type(exc).__name__)
        value = decode(value) if decode is not None and value is not None else value
        self._remember(key, value, min(ttl_s, l1_ttl_s), tags)
        return value

    async def invalidate_tag(self, tag: str) -> None:
        """Invalidate everywhere; this replica's L1 at once, the others within a poll."""
        self._versions[tag] = self._versions.get(tag, 0) + 1_000_000_000  # local, immediate
        try:
            await self.backend.invalidate_tag(tag)
            await self.sync_versions()
        except Exception as exc:
            self.counters["errors"] += 1
            self.log.warning("cache_invalidate_failed", tag=tag, error=type(exc).__name__)

    async def delete(self, key: str) -> None:
        self._l1.pop(key, None)
        await self.backend.delete(key)


_MISSING: Any = object()
