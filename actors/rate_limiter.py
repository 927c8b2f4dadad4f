"""Cluster-wide rate limiting: token buckets, leased in blocks to ingress replicas.

- `TokenBucket`: the pure logic (burst `capacity`, refill `rate` tokens/s).
- `RateLimiterActor`: the named, restartable global authority. It hands out *leases*
  (blocks of tokens) and takes back what a replica did not use. With Redis configured the
  buckets live in Redis and each operation is one atomic Lua script, so limits survive an
  actor restart and hold across replicas and across Ray clusters sharing the Redis.
- `ReplicaLimiter`: what an ingress replica holds. Requests are admitted from local leases
  (no actor call per request); when a lease runs dry the replica asks for the next block.
  Tokens are taken from the global bucket before they are spent, so the global limit is
  never exceeded; the lease size bounds how unevenly tokens can sit in replicas.
"""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import structlog

from actors import names
from actors._handles import NamedActor
from actors._metrics import counter, gauge
from actors._redis import KEY_PREFIX, connect

FailureMode = Literal["open", "local", "closed"]


@dataclass
class TokenBucket:
    rate: float  # tokens per second
    capacity: float  # burst
    tokens: float
    updated: float

    @classmethod
    def full(cls, rate: float, capacity: float, now: float) -> TokenBucket:
        return cls(rate=rate, capacity=capacity, tokens=capacity, updated=now)

    def _refill(self, now: float) -> None:
        if now > self.updated:
            self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
            self.updated = now

    def take(self, want: int, now: float) -> int:
        """Take up to `want` whole tokens; return how many were granted."""
        self._refill(now)
        granted = min(want, math.floor(self.tokens + 1e-9))
        self.tokens -= granted
        return max(0, granted)

    def give_back(self, tokens: int, now: float) -> None:
        self._refill(now)
        self.tokens = min(self.capacity, self.tokens + tokens)

    def retry_after(self, now: float) -> float:
        """Seconds until one whole token is available (0 if one is)."""
        self._refill(now)
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate

    def reset_after(self, now: float) -> float:
        """Seconds until the bucket is full again."""
        self._refill(now)
        return (self.capacity - self.tokens) / self.rate

    def idle_full(self, now: float) -> bool:
        """Whether the bucket has refilled completely: dropping it loses nothing (a new
        bucket starts full)."""
        return self.tokens + (now - self.updated) * self.rate >= self.capacity


def _now() -> float:
    """The limiter's clock (one place, so tests can move it without touching `time`)."""
    return time.monotonic()


# How often stores and replicas drop buckets that have refilled (idle keys, such as the
# usernames of failed logins, would otherwise hold memory forever).
SWEEP_INTERVAL_S = 5.0


def sweep_buckets(buckets: dict[str, TokenBucket], now: float) -> int:
    idle = [key for key, bucket in buckets.items() if bucket.idle_full(now)]
    for key in idle:
        del buckets[key]
    return len(idle)


@dataclass(frozen=True)
class Grant:
    granted: int
    remaining: float  # tokens left in the global bucket after this grant
    retry_after: float
    reset_after: float


# KEYS[1] = bucket; ARGV = tokens, rate, capacity. Redis' own clock keeps several Ray
# clusters sharing one Redis consistent. The preamble refills the bucket up to `now`.
_REFILL_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local n = tonumber(ARGV[1]); local rate = tonumber(ARGV[2]); local cap = tonumber(ARGV[3])
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(b[1]); local ts = tonumber(b[2])
local existed = tokens ~= nil
if not existed then tokens = cap; ts = now end
if now > ts then tokens = math.min(cap, tokens + (now - ts) * rate); ts = now end
"""

_LEASE_LUA = _REFILL_LUA + """
local want = n
local granted = math.min(want, math.floor(tokens + 1e-9))
if granted < 0 then granted = 0 end
tokens = tokens - granted
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(ts))
redis.call('PEXPIRE', KEYS[1], math.ceil((cap / rate) * 1000) + 60000)
local retry = 0
if tokens < 1 then retry = (1 - tokens) / rate end
return {granted, tostring(tokens), tostring(retry), tostring((cap - tokens) / rate)}
"""

_RELEASE_LUA = _REFILL_LUA + """
if not existed then return 0 end
tokens = math.min(cap, tokens + n)
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(ts))
return 1
"""


class BucketStore:
    """Buckets in Redis (atomic scripts) with the actor's memory as fallback."""

    def __init__(self, redis_url: str | None, key_prefix: str = KEY_PREFIX) -> None:
        self._prefix = key_prefix + "rl:"
        self._memory: dict[str, TokenBucket] = {}
        self._redis = connect(redis_url) if redis_url else None
        self._lease = self._redis.register_script(_LEASE_LUA) if self._redis else None
        self._release = self._redis.register_script(_RELEASE_LUA) if self._redis else None
        self.fallbacks = 0
        self.log = structlog.get_logger("helio.rate_limiter")
        self._swept = _now()

    async def lease(self, key: str, want: int, rate: float, capacity: float) -> Grant:
        # Redis expires its own idle buckets (PEXPIRE in the script); memory is swept.
        now = _now()
        if now - self._swept >= SWEEP_INTERVAL_S:
            self._swept = now
            sweep_buckets(self._memory, now)
        if self._lease is not None:
            try:
                granted, tokens, retry, reset = await self._lease(
                    keys=[self._prefix + key], args=[want, rate, capacity])
                return Grant(int(granted), float(tokens), float(retry), float(reset))
            except Exception as exc:  # Redis down or slow: degrade to this actor's memory
                self._note_fallback(exc)
        now = _now()
        bucket = self._memory.get(key)
        if bucket is None or bucket.rate != rate or bucket.capacity != capacity:
            bucket = self._memory[key] = TokenBucket.full(rate, capacity, now)
        granted = bucket.take(want, now)
        return Grant(granted, bucket.tokens, bucket.retry_after(now), bucket.reset_after(now))

    async def release(self, key: str, tokens: int, rate: float, capacity: float) -> None:
        if tokens <= 0:
            return
        if self._release is not None:
            try:
                await self._release(keys=[self._prefix + key], args=[tokens, rate, capacity])
                return
            except Exception as exc:
                self._note_fallback(exc)
        bucket = self._memory.get(key)
        if bucket is not None:
            bucket.give_back(tokens, _now())

    def _note_fallback(self, exc: Exception) -> None:
        self.fallbacks += 1
        self.log.warning("rate_limiter_redis_unavailable", error=type(exc).__name__)

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()


class RateLimiterActor:
    """The cluster-wide authority; a thin wrapper over BucketStore."""

    def __init__(self, redis_url: str | None = None, key_prefix: str = KEY_PREFIX) -> None:
        self._store = BucketStore(redis_url, key_prefix)
        self._metrics = _actor_metrics()

    async def lease(self, key: str, want: int, rate: float, capacity: float) -> Grant:
        grant = await self._store.lease(key, want, rate, capacity)
        self._metrics["leases"].inc()
        self._metrics["fallbacks"].set(self._store.fallbacks)
        return grant

    async def release(self, key: str, tokens: int, rate: float, capacity: float) -> None:
        await self._store.release(key, tokens, rate, capacity)

    async def stats(self) -> dict[str, Any]:
        return {"redis_fallbacks": self._store.fallbacks,
                "memory_buckets": len(self._store._memory)}


def _actor_metrics() -> dict[str, Any]:
    return {
        "leases": counter("helio_rate_limit_leases_total",
                          "Token leases granted to ingress replicas"),
        "fallbacks": gauge("helio_rate_limit_redis_fallbacks",
                           "Operations served from actor memory because Redis was unavailable"),
    }


class LimiterBackend(Protocol):
    async def lease(self, key: str, want: int, rate: float, capacity: float) -> Grant: ...
    async def release(self, key: str, tokens: int, rate: float, capacity: float) -> None: ...
    async def ping(self) -> dict[str, Any]: ...


class ActorLimiterBackend:
    """The named RateLimiterActor, called from a replica."""

    def __init__(self, redis_url: str | None, timeout_s: float = 2.0,
                 namespace: str = names.NAMESPACE) -> None:
        self._actor = NamedActor(lambda: get_or_create_rate_limiter(redis_url, namespace),
                                 timeout_s)
        self._call = self._actor.call

    async def lease(self, key: str, want: int, rate: float, capacity: float) -> Grant:
        return await self._call("lease", key, want, rate, capacity)  # type: ignore[no-any-return]

    async def release(self, key: str, tokens: int, rate: float, capacity: float) -> None:
        await self._call("release", key, tokens, rate, capacity)

    async def ping(self) -> dict[str, Any]:
        """Creates the actor if it does not exist yet (readiness, `helio up`)."""
        return await self._call("stats")  # type: ignore[no-any-return]


class LocalLimiterBackend:
    """In-process buckets, for an API running outside Ray (e.g. plain uvicorn)."""

    def __init__(self, redis_url: str | None = None) -> None:
        self._store = BucketStore(redis_url)

    async def lease(self, key: str, want: int, rate: float, capacity: float) -> Grant:
        return await self._store.lease(key, want, rate, capacity)

    async def release(self, key: str, tokens: int, rate: float, capacity: float) -> None:
        await self._store.release(key, tokens, rate, capacity)

    async def ping(self) -> dict[str, Any]:
        return {"redis_fallbacks": self._store.fallbacks}

    async def close(self) -> None:
        await self._store.close()


def get_or_create_rate_limiter(redis_url: str | None, namespace: str = names.NAMESPACE) -> Any:
    import ray

    return (
        ray.remote(RateLimiterActor)
        .options(**names.actor_options(names.RATE_LIMITER, namespace, max_concurrency=1000))
        .remote(redis_url, f"{KEY_PREFIX}{namespace}:")
    )


@dataclass
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset_after: float
    retry_after: float
    degraded: bool = False


@dataclass
class _Lease:
    tokens: int = 0
    expires: float = 0.0
    denied_until: float = 0.0
    global_remaining: float = 0.0
    reset_after: float = 0.0
    rate: float = 1.0
    capacity: float = 1.0
    size: int = 1
    prefetching: bool = False
    used: float = 0.0
    refill: asyncio.Lock = field(default_factory=asyncio.Lock)

    def idle(self, now: float) -> bool:
        """Unused for longer than its bucket takes to refill: the global bucket is full
        again, so whatever this lease still holds no longer matters."""
        if self.prefetching or self.refill.locked():
            return False
        return now - max(self.used, self.expires, self.denied_until) >= \
            self.capacity / self.rate


class ReplicaLimiter:
    """Replica-local admission from leased blocks of the global buckets."""

    def __init__(
        self,
        backend: LimiterBackend,
        *,
        lease_size: int = 20,
        lease_ttl_s: float = 1.0,
        on_failure: dict[str, FailureMode] | None = None,
    ) -> None:
        self.backend = backend
        self._lease_size = lease_size
        self._lease_ttl = lease_ttl_s
        self._on_failure = on_failure or {}
        self._leases: dict[str, _Lease] = {}
        self._local: dict[str, TokenBucket] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.log = structlog.get_logger("helio.rate_limiter")
        self.counters = {"allowed": 0, "rejected": 0, "leases": 0, "fallbacks": 0}
        self._swept = _now()

    def sweep(self, now: float) -> None:
        """Drop leases and local buckets of keys gone idle."""
        self._swept = now
        for key in [k for k, lease in self._leases.items() if lease.idle(now)]:
            del self._leases[key]
        sweep_buckets(self._local, now)

    @property
    def size(self) -> int:
        return len(self._leases) + len(self._local)

    def lease_size_for(self, rate: float, capacity: float) -> int:
        """Tokens per lease: about a quarter of a lease period's traffic at the plan's rate,
        at most a tenth of the burst (small buckets lease one token at a time, so a replica
        cannot hoard them) and at most the configured maximum."""
        by_rate = int(rate * self._lease_ttl / 4)
        return max(1, min(self._lease_size, int(capacity // 10), max(1, by_rate)))

    async def check(self, key: str, *, rate: float, capacity: int, route_class: str) -> Decision:
        now = _now()
        if now - self._swept >= SWEEP_INTERVAL_S:
            self.sweep(now)
        lease = self._leases.get(key)
        if lease is None:
            lease = self._leases[key] = _Lease(rate=rate, capacity=capacity)
        lease.used = now
        if lease.tokens > 0 and lease.expires > now:
            if lease.tokens * 4 <= lease.size and not lease.prefetching and lease.size > 1:
                # Low water: fetch the next block in the background, so requests rarely
                # wait for an actor round trip (about 1 ms here, more under load).
                lease.prefetching = True
                self._tasks.add(asyncio.get_running_loop().create_task(
                    self._prefetch(key, lease, rate, capacity)))
            return self._admit(lease, capacity, now)
        if lease.denied_until > now:
            return self._reject(lease, capacity, now)
        async with lease.refill:  # one refill per key at a time (single flight)
            now = _now()
            if lease.tokens > 0 and lease.expires > now:
                return self._admit(lease, capacity, now)
            if lease.denied_until > now:
                return self._reject(lease, capacity, now)
            unused = lease.tokens
            lease.tokens = 0
            lease.rate, lease.capacity = rate, capacity
            lease.size = self.lease_size_for(rate, capacity)
            try:
                if unused:
                    await self.backend.release(key, unused, rate, capacity)
                grant = await self.backend.lease(key, lease.size, rate, capacity)
            except Exception as exc:
                return self._degraded(key, exc, rate=rate, capacity=capacity,
                                      route_class=route_class)
            self.counters["leases"] += 1
            now = _now()
            lease.global_remaining = grant.remaining
            lease.reset_after = grant.reset_after
            if grant.granted > 0:
                lease.tokens = grant.granted
                lease.expires = now + self._lease_ttl
                return self._admit(lease, capacity, now)
            lease.denied_until = now + grant.retry_after
            return self._reject(lease, capacity, now)

    async def _prefetch(self, key: str, lease: _Lease, rate: float, capacity: int) -> None:
        try:
            grant = await self.backend.lease(key, lease.size, rate, capacity)
            self.counters["leases"] += 1
            lease.tokens += grant.granted
            lease.global_remaining = grant.remaining
            lease.reset_after = grant.reset_after
            if grant.granted:
                lease.expires = _now() + self._lease_ttl
        except Exception as exc:  # the blocking path will handle the failure mode
            self.log.debug("lease_prefetch_failed", error=type(exc).__name__)
        finally:
            lease.prefetching = False
            self._tasks.discard(asyncio.current_task())  # type: ignore[arg-type,unused-ignore]

    def _admit(self, lease: _Lease, capacity: int, now: float) -> Decision:
        lease.tokens -= 1
        self.counters["allowed"] += 1
        remaining = int(max(0.0, lease.global_remaining) + lease.tokens)
        return Decision(True, capacity, min(capacity, remaining), lease.reset_after, 0.0)

    def _reject(self, lease: _Lease, capacity: int, now: float) -> Decision:
        self.counters["rejected"] += 1
        retry = max(0.0, lease.denied_until - now)
        return Decision(False, capacity, 0, max(retry, lease.reset_after), retry)

    def _degraded(self, key: str, exc: Exception, *, rate: float, capacity: int,
                  route_class: str) -> Decision:
        self.counters["fallbacks"] += 1
        mode = self._on_failure.get(route_class, "open")
        self.log.warning("rate_limiter_unavailable", error=type(exc).__name__, mode=mode,
                         route_class=route_class)
        if mode == "open":
            return Decision(True, capacity, capacity, 0.0, 0.0, degraded=True)
        if mode == "closed":
            return Decision(False, capacity, 0, 1.0, 1.0, degraded=True)
        now = _now()
        bucket = self._local.get(key)
        if bucket is None:
            bucket = self._local[key] = TokenBucket.full(rate, capacity, now)
        if bucket.take(1, now):
            self.counters["allowed"] += 1
            return Decision(True, capacity, int(bucket.tokens), bucket.reset_after(now), 0.0,
                            degraded=True)
        self.counters["rejected"] += 1
        retry = bucket.retry_after(now)
        return Decision(False, capacity, 0, bucket.reset_after(now), retry, degraded=True)

    async def close(self) -> None:
        """Give every unused leased token back to the global buckets."""
        for task in list(self._tasks):
            task.cancel()
        for key, lease in list(self._leases.items()):
            if lease.tokens > 0:
                try:
                    await self.backend.release(key, lease.tokens, lease.rate,
                                                lease.capacity)
                except Exception as exc:  # shutting down: best effort
                    self.log.debug("lease_return_failed", error=type(exc).__name__)
                lease.tokens = 0
