"""Token buckets, leases and the cluster-wide RateLimiterActor (real Ray, real Redis)."""

from __future__ import annotations

import asyncio
import time

import pytest

from actors.rate_limiter import (
    ActorLimiterBackend,
    BucketStore,
    LocalLimiterBackend,
    ReplicaLimiter,
    TokenBucket,
)


def test_bucket_burst_refill_and_exact_retry_after():
    bucket = TokenBucket.full(rate=2.0, capacity=5, now=100.0)
    assert bucket.take(5, 100.0) == 5  # the whole burst at once
    assert bucket.take(1, 100.0) == 0
    assert bucket.retry_after(100.0) == pytest.approx(0.5)  # one token at 2/s
    assert bucket.take(1, 100.25) == 0
    assert bucket.retry_after(100.25) == pytest.approx(0.25)
    assert bucket.take(1, 100.5) == 1
    assert bucket.take(10, 200.0) == 5  # refill is capped at the burst
    assert bucket.reset_after(200.0) == pytest.approx(2.5)


def test_bucket_give_back_is_capped():
    bucket = TokenBucket.full(rate=1.0, capacity=3, now=0.0)
    assert bucket.take(2, 0.0) == 2
    bucket.give_back(5, 0.0)
    assert bucket.tokens == 3


async def test_replica_limiter_rejects_with_headers_worth_of_data():
    limiter = ReplicaLimiter(LocalLimiterBackend(), lease_size=5)
    decisions = [await limiter.check("u", rate=1.0, capacity=10, route_class="read")
                 for _ in range(12)]
    assert [d.allowed for d in decisions] == [True] * 10 + [False] * 2
    last = decisions[-1]
    assert last.limit == 10 and last.remaining == 0 and 0 < last.retry_after <= 1.0


async def test_buckets_in_redis_are_shared_and_atomic(redis_db):
    """Two stores (as two actors or two Ray clusters) on one Redis share one budget."""
    a, b = BucketStore(redis_db), BucketStore(redis_db)
    grants = await asyncio.gather(*(s.lease("k", 3, 0.001, 20) for s in [a, b] * 10))
    assert sum(g.granted for g in grants) == 20
    assert (await a.lease("k", 1, 0.001, 20)).granted == 0
    await b.release("k", 4, 0.001, 20)
    assert (await a.lease("k", 10, 0.001, 20)).granted == 4
    assert a.fallbacks == b.fallbacks == 0
    await a.close()
    await b.close()


def test_four_replicas_hold_one_global_limit(ray_session, redis_db, actor_namespace):
    """Four replica limiters in four processes against one RateLimiterActor + Redis:
    admitted requests over 10 s never exceed burst + rate x 10 s by more than 10%, and
    reach at least 80% of it (a replica waiting out a denial while the bucket refills
    loses a little of the rate; on 2 busy cores that was measured at ~11%, with this code
    and the code before the bucket sweep alike)."""
    import ray

    rate, burst, seconds = 40.0, 40, 10.0

    @ray.remote(num_cpus=0)
    class Replica:
        def __init__(self) -> None:
            self.limiter = ReplicaLimiter(
                ActorLimiterBackend(redis_db, namespace=actor_namespace), lease_size=5)

        async def hammer(self, until: float) -> int:
            admitted = 0
            while time.time() < until:
                decision = await self.limiter.check("global", rate=rate, capacity=burst,
                                                    route_class="read")
                if decision.allowed:
                    admitted += 1
                else:
                    await asyncio.sleep(min(decision.retry_after, 0.05))
            return admitted

    replicas = [Replica.remote() for _ in range(4)]
    ray.get([r.__ray_ready__.remote() for r in replicas])
    until = time.time() + seconds
    admitted = sum(ray.get([r.hammer.remote(until) for r in replicas]))
    expected = burst + rate * seconds
    assert 0.8 * expected <= admitted <= 1.1 * expected, (admitted, expected)
