"""Fault tolerance of the limiter and the cache through the real API (real Ray, real Redis):
actors killed mid-traffic, a private Redis stopped mid-traffic, password guessing."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import httpx
import pytest
import redis

from cluster.models import Role
from deployments.api.main import create_api
from tests.conftest import Users, bearer
from tests.ray_session import free_port


async def _api(settings, db, redis_url: str, namespace: str, **over):
    """The real API on the shared Ray session, its actors in a private namespace."""
    from pydantic import SecretStr

    s = settings.model_copy(update={"auth_cache_ttl_s": 5.0, "redis_url": SecretStr(redis_url),
                                    "actor_namespace": namespace, **over})
    app = create_api(s, use_actors=True)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=("10.0.0.1", 1)),
                               base_url="http://t")
    return app, client, Users(db, client)


async def _admin_headers(users: Users) -> dict[str, str]:
    admin = await users.create(Role.admin)
    return bearer((await users.login(admin.email))["access_token"])


async def test_actor_restart_keeps_counters_and_cached_values(
    settings, db, redis_db, actor_namespace
):
    import ray

    from actors import names
    from actors.cache import ActorCacheBackend, ReplicaCache

    app, client, users = await _api(settings, db, redis_db, actor_namespace, rate_limit_lease=1)
    h = await _admin_headers(users)
    plans = (await client.get("/api/v1/rate-limits", headers=h)).json()["items"]
    for item in plans:
        if item["role"] == "admin" and item["route_class"] == "read":
            item.update(requests_per_minute=6, burst=30)
    assert (await client.put("/api/v1/rate-limits", headers=h,
                             json={"items": plans})).status_code == 200

    computed = 0

    async def compute() -> str:
        nonlocal computed
        computed += 1
        return "expensive"

    writer = ReplicaCache(ActorCacheBackend(1 << 20, redis_db, namespace=actor_namespace),
                          poll_interval_s=0)
    assert await writer.cached("report", 60, (), compute) == "expensive"

    statuses = [(await client.get("/api/v1/users/me", headers=h)).status_code
                for _ in range(20)]
    for name in (names.RATE_LIMITER, names.CACHE):
        ray.kill(ray.get_actor(name, namespace=actor_namespace), no_restart=False)
    statuses += [(await client.get("/api/v1/users/me", headers=h)).status_code
                 for _ in range(25)]
    assert all(code in (200, 429) for code in statuses), statuses
    # The bucket lived in Redis: after the restart it was not refilled to 30.
    assert statuses.count(200) <= 33 and statuses.count(429) >= 10, statuses

    # Once the restarted actor answers (its memory is empty), the value comes from Redis.
    restarted = ray.get_actor(names.CACHE, namespace=actor_namespace)
    misses_before = (await restarted.stats.remote())["misses"]
    reader = ReplicaCache(ActorCacheBackend(1 << 20, redis_db, namespace=actor_namespace),
                          poll_interval_s=0)
    assert await reader.cached("report", 60, (), compute) == "expensive"
    # A miss in the new actor's memory, answered by Redis; never recomputed.
    assert (await restarted.stats.remote())["misses"] == misses_before + 1
    assert reader.counters["l2_hits"] == 1 and computed == 1, (reader.counters, computed)
    await client.aclose()
    await app.state.ctx.close()


@pytest.fixture
def private_redis(tmp_path: Path):
    port = free_port()

    def start() -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(tmp_path)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            try:
                if redis.Redis(port=port).ping():
                    return proc
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("private redis-server did not start")

    state = {"proc": start()}

    def stop() -> None:
        state["proc"].terminate()  # our own instance, by pid
        state["proc"].wait(timeout=10)

    def restart() -> None:
        state["proc"] = start()

    yield port, stop, restart
    if state["proc"].poll() is None:
        stop()


async def test_api_survives_redis_outage_and_recovers(settings, db, actor_namespace,
                                                      private_redis):
    port, stop, restart = private_redis
    app, client, users = await _api(settings, db, f"redis://127.0.0.1:{port}/0",
                                    actor_namespace, rate_limit_lease=1)
    h = await _admin_headers(users)

    async def burst(n: int) -> list[int]:
        return [(await client.get("/api/v1/users/me", headers=h)).status_code for _ in range(n)]

    assert set(await burst(5)) == {200}
    stop()
    during = await burst(10)
    assert set(during) == {200}, during  # reads fail open; nothing 5xx
    restart()
    after = await burst(10)
    assert set(after) == {200}, after
    keys = redis.Redis(port=port).keys(f"helio:{actor_namespace}:rl:*")
    assert keys, "the limiter writes to Redis again after it came back"
    await client.aclose()
    await app.state.ctx.close()


async def test_password_guessing_is_throttled_per_account(settings, db, redis_db,
                                                          actor_namespace):
    app, client, users = await _api(settings, db, redis_db, actor_namespace)
    victim = await users.create(Role.viewer, email="victim@example.com")
    other = await users.create(Role.viewer, email="other@example.com")
    codes = []
    for _ in range(8):
        response = await client.post("/api/v1/auth/token",
                                     data={"username": victim.email, "password": "guess-guess"})
        codes.append(response.status_code)
    assert codes[:5] == [401] * 5 and set(codes[5:]) == {429}, codes
    assert int(response.headers["retry-after"]) >= 1
    assert response.headers["content-type"].startswith("application/problem+json")
    # Even the right password waits: the account's budget is spent.
    blocked = await client.post("/api/v1/auth/token",
                                data={"username": victim.email,
                                      "password": "correct horse battery"})
    assert blocked.status_code == 429
    # Another user from the same address is not affected.
    ok = await client.post("/api/v1/auth/token",
                           data={"username": other.email, "password": "correct horse battery"})
    assert ok.status_code == 200
    assert ok.headers["ratelimit-limit"] and "ratelimit-remaining" in ok.headers
    await client.aclose()
    await app.state.ctx.close()
