from __future__ import annotations

import asyncio

import pytest

from deployments.api.principals import _TtlMap


async def test_concurrent_misses_load_once_and_values_expire():
    calls = 0

    async def load() -> str:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)
        return f"v{calls}"

    cache: _TtlMap[str, str] = _TtlMap(ttl_s=0.05)
    values = await asyncio.gather(*(cache.get_or_load("k", load) for _ in range(20)))
    assert values == ["v1"] * 20 and calls == 1
    assert await cache.get_or_load("k", load) == "v1"
    await asyncio.sleep(0.06)
    assert await cache.get_or_load("k", load) == "v2"


async def test_a_failed_load_is_not_cached():
    cache: _TtlMap[str, str] = _TtlMap(ttl_s=10)

    async def boom() -> str:
        raise ConnectionError("db down")

    with pytest.raises(ConnectionError):
        await cache.get_or_load("k", boom)

    async def ok() -> str:
        return "fine"

    assert await cache.get_or_load("k", ok) == "fine"


async def test_zero_ttl_never_caches():
    cache: _TtlMap[str, int] = _TtlMap(ttl_s=0)
    n = 0

    async def load() -> int:
        nonlocal n
        n += 1
        return n

    assert [await cache.get_or_load("k", load) for _ in range(3)] == [1, 2, 3]
