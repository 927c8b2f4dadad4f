"""Attack: unbounded memory from anonymous clients. Every distinct username sent to
/auth/token made a limiter bucket, in the replica and in the RateLimiterActor, that was
never dropped; the username had no length cap."""

from __future__ import annotations

import asyncio
import gc
import time
import tracemalloc

import pytest

from actors.rate_limiter import SWEEP_INTERVAL_S, LocalLimiterBackend, ReplicaLimiter
from cluster.security import digest

pytestmark = [pytest.mark.postgres]


async def test_an_overlong_username_is_refused_before_anything_is_kept(stack, http):
    response = await http.post("/api/v1/auth/token",
                               data={"username": "a" * 321 + "@x.io", "password": "p"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "username"]


async def test_100k_distinct_usernames_leave_memory_flat(monkeypatch):
    """The replica's limiter and the store behind it (the actor's memory) drop buckets
    once they have refilled. Time is the only thing faked: the clock jumps forward."""
    clock = [time.monotonic()]
    monkeypatch.setattr("actors.rate_limiter._now", lambda: clock[0])
    backend = LocalLimiterBackend()
    limiter = ReplicaLimiter(backend, lease_size=20)
    rate, burst = 5 / 60, 5  # the login plan: 5 a minute per account, refill in 60 s

    async def attempts(start: int, count: int) -> None:
        for i in range(start, start + count):
            key = f"auth:account:{digest(f'user{i}@example.com')[:32]}"
            await limiter.check(key, rate=rate, capacity=burst, route_class="auth")

    tracemalloc.start()
    sizes, peaks = [], []
    for wave in range(10):  # 10 waves of 10k new usernames, a minute apart
        await attempts(wave * 10_000, 10_000)
        peaks.append(limiter.size + len(backend._store._memory))
        clock[0] += 60 + SWEEP_INTERVAL_S
        await attempts(10**9 + wave, 1)  # any request sweeps what went idle
        gc.collect()
        sizes.append(tracemalloc.get_traced_memory()[0])
    tracemalloc.stop()
    assert max(peaks) <= 2 * 10_000 + 2, peaks  # one wave's buckets at most, never 100k
    assert limiter.size <= 2 and len(backend._store._memory) <= 2
    # Flat: the last waves hold no more than the first (allow allocator noise).
    assert sizes[-1] < sizes[1] * 1.2 + 256 * 1024, sizes


@pytest.mark.ray
async def test_the_rate_limiter_actor_drops_idle_buckets(actor_namespace):
    from actors.rate_limiter import get_or_create_rate_limiter

    actor = get_or_create_rate_limiter(None, actor_namespace)
    # Fast plan (refills in 0.1 s) so real time can pass in the test.
    keys = [f"auth:account:{digest(str(i))[:32]}" for i in range(3000)]
    await asyncio.gather(*[actor.lease.remote(k, 1, 50.0, 5.0) for k in keys])
    # (Sweeps may already run while the keys arrive; without them all 3000 would stay.)
    await asyncio.sleep(SWEEP_INTERVAL_S + 0.5)
    await actor.lease.remote("auth:account:next", 1, 50.0, 5.0)  # triggers the sweep
    assert (await actor.stats.remote())["memory_buckets"] <= 2
