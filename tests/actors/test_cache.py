"""LRU/TTL/tag store, the CacheActor with Redis as L2, replica L1s (real Ray, real Redis)."""

from __future__ import annotations

import asyncio

import pytest

from actors.cache import ActorCacheBackend, CacheActor, LruTtlStore, ReplicaCache


def test_ttl_expiry():
    store = LruTtlStore(max_bytes=1000)
    store.set("a", b"1", ttl_s=10, tags=(), now=0.0)
    assert store.get("a", now=9.9) == (b"1", pytest.approx(0.1))
    assert store.get("a", now=10.0) is None
    assert store.stats()["keys"] == 0 and store.expirations == 1


def test_expired_entries_that_are_never_read_again_are_swept():
    store = LruTtlStore(max_bytes=10_000)
    for i in range(20):  # one-off keys
        store.set(f"once:{i}", b"x" * 100, ttl_s=10, tags=("t",), now=0.0)
    store.set("long", b"y", ttl_s=1000, tags=(), now=0.0)
    store.set("other", b"z", ttl_s=1000, tags=(), now=20.0)  # before the sweep interval
    assert store.stats()["keys"] == 22
    store.set("later", b"z", ttl_s=1000, tags=(), now=0.0 + store.SWEEP_INTERVAL_S)
    assert store.stats()["keys"] == 3 and store.bytes == 3 and store.expirations == 20
    assert store.invalidate_tag("t") == 0  # the tag index was cleaned too


def test_lru_eviction_under_the_byte_budget():
    store = LruTtlStore(max_bytes=10)
    for key in "abc":
        store.set(key, b"xxx", ttl_s=60, tags=(), now=0.0)  # 9 bytes
    assert store.get("a", now=1.0) is not None  # a becomes most recently used
    store.set("d", b"xxx", ttl_s=60, tags=(), now=1.0)  # 12 bytes > 10: evict LRU (b)
    assert store.get("b", now=1.0) is None
    assert all(store.get(k, now=1.0) is not None for k in "acd")
    assert store.bytes == 9 and store.evictions == 1
    assert not store.set("huge", b"x" * 11, ttl_s=60, tags=(), now=1.0)  # never fits


def test_tag_invalidation_in_the_store():
    store = LruTtlStore(max_bytes=1000)
    store.set("u1", b"1", 60, ("user:1",), 0.0)
    store.set("u1-keys", b"2", 60, ("user:1", "keys"), 0.0)
    store.set("u2", b"3", 60, ("user:2",), 0.0)
    assert store.invalidate_tag("user:1") == 2
    assert store.get("u1", 0.0) is None and store.get("u2", 0.0) is not None


async def test_write_through_and_read_through_redis(redis_db):
    first = CacheActor(max_bytes=1 << 20, redis_url=redis_db, key_prefix="helio:t:")
    await first.set("k", b"v", 30.0, ("t",))
    # A new actor (as after a restart) starts empty and reads through to Redis.
    second = CacheActor(max_bytes=1 << 20, redis_url=redis_db, key_prefix="helio:t:")
    value, ttl = await second.get("k")
    assert value == b"v" and 25 < ttl <= 30
    assert await second.invalidate_tag("t") >= 1
    assert await second.get("k") is None
    # Gone from Redis too: a third actor cannot read it back.
    third = CacheActor(redis_url=redis_db, key_prefix="helio:t:")
    assert await third.get("k") is None
    for actor in (first, second, third):
        await actor.close()


async def test_single_flight(ray_session, actor_namespace):
    cache = ReplicaCache(ActorCacheBackend(1 << 20, None, namespace=actor_namespace),
                         poll_interval_s=0)
    calls = 0

    async def compute() -> dict[str, int]:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.2)
        return {"answer": 42}

    results = await asyncio.gather(*(cache.cached("q", 60, (), compute) for _ in range(50)))
    assert results == [{"answer": 42}] * 50 and calls == 1
    # A second replica finds it in the actor: no computation either.
    other = ReplicaCache(ActorCacheBackend(1 << 20, None, namespace=actor_namespace),
                         poll_interval_s=0)
    assert await other.cached("q", 60, (), compute) == {"answer": 42} and calls == 1


async def test_tag_invalidation_reaches_every_replica_l1(ray_session, actor_namespace):
    replicas = [ReplicaCache(ActorCacheBackend(1 << 20, None, namespace=actor_namespace),
                             l1_ttl_s=60, poll_interval_s=0.05) for _ in range(3)]
    version = {"v": 1}

    async def compute() -> int:
        return version["v"]

    assert [await r.cached("x", 60, ("grp",), compute) for r in replicas] == [1, 1, 1]
    version["v"] = 2
    # Still served from each L1 (no invalidation yet).
    assert [await r.cached("x", 60, ("grp",), compute) for r in replicas] == [1, 1, 1]
    await replicas[0].invalidate_tag("grp")
    await asyncio.sleep(0.3)  # a few poll intervals
    assert [await r.cached("x", 60, ("grp",), compute) for r in replicas] == [2, 2, 2]
    for r in replicas:
        await r.stop()


async def test_replica_l1_drops_expired_entries_that_are_never_read_again():
    from actors.cache import LocalCacheBackend

    cache = ReplicaCache(LocalCacheBackend(1 << 20, None), l1_ttl_s=0.5, poll_interval_s=0.05)

    async def compute() -> dict[str, int]:
        return {"v": 1}

    for i in range(50):  # one-off keys, as unique prediction inputs are
        await cache.cached(f"once:{i}", 60.0, (), compute, l1_ttl_s=0.1)
    await cache.cached("kept", 60.0, (), compute)
    assert len(cache._l1) == 51
    await asyncio.sleep(0.2)
    assert cache.sweep() == 50 and list(cache._l1) == ["kept"]
    await asyncio.sleep(1.2)  # the poller sweeps once per L1 TTL
    assert not cache._l1
    await cache.stop()
