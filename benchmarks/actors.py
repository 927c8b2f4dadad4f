"""Cache and rate-limiter costs, side by side in one run.

1. Cache get latency (p50/p99 µs): replica L1 hit, CacheActor hit (actor round trip),
   Redis hit (actor round trip + Redis read-through), and a raw Redis GET for reference.
2. HTTP throughput of an authenticated cached GET (`GET /api/v1/users/me`, the principal
   record comes from the cache) through the HAProxy ingress of one `helio up` cluster, with
   three Helio applications deployed side by side: limiter + cache on (default), limiter
   off, limiter and principal cache off (a DB read per request).
3. Global-limit accuracy: an application with 4 ingress replicas under wrk load against one
   plan; admitted (2xx) requests over 10 s versus burst + rate x 10 s.

Prints a table and writes benchmarks/results/actors.json.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

# This script shares its name with the `actors` package: put the repository root before
# this folder on sys.path, so `import actors.cache` finds the package, not this file.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [str(_HERE.parent)] + [p for p in sys.path if p != str(_HERE)] + [str(_HERE)]

from _common import (  # noqa: E402
    BIN,
    ROOT,
    helio_cluster,
    login,
    measure,
    set_plan,
    wait_http,
    wrk,
)

REDIS_URL = os.environ.get("HELIO_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")


def _percentiles(samples_ns: list[int]) -> dict[str, float]:
    samples = sorted(samples_ns)
    return {"p50_us": samples[len(samples) // 2] / 1000,
            "p99_us": samples[int(len(samples) * 0.99)] / 1000, "n": len(samples)}


async def _timed(n: int, call: Any) -> list[int]:
    out = []
    for _ in range(n):
        start = time.perf_counter_ns()
        await call()
        out.append(time.perf_counter_ns() - start)
    return out


def cache_latency(n: int) -> dict[str, Any]:
    from cluster.ray_auth import ray_auth_env

    # Helio runs Ray with token auth; Ray reads the mode when it is imported.
    os.environ.update(ray_auth_env(Path(tempfile.mkdtemp(prefix="helio-bench-")), environ={}))
    import ray
    import redis

    from actors.cache import ActorCacheBackend, ReplicaCache

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             _node_ip_address="127.0.0.1", namespace="helio-bench")
    redis.Redis.from_url(REDIS_URL).flushdb()
    results: dict[str, Any] = {}

    async def run() -> None:
        ns = "helio-bench-cache"
        backend = ActorCacheBackend(64 << 20, REDIS_URL, namespace=ns)
        replica = ReplicaCache(backend, l1_ttl_s=300, poll_interval_s=0)
        value = {"id": "7d3c", "email": "someone@example.com", "role": "analyst"}

        async def compute() -> dict[str, str]:
            return value

        await replica.cached("user", 300, ("t",), compute)
        results["L1 hit (replica memory)"] = _percentiles(
            await _timed(n * 10, lambda: replica.cached("user", 300, ("t",), compute)))
        results["actor hit (CacheActor memory)"] = _percentiles(
            await _timed(n, lambda: backend.get("user")))
        # An actor whose byte budget keeps nothing in memory: every get reads through Redis.
        redis_only = ActorCacheBackend(1, REDIS_URL, namespace=ns + "-redis")
        await backend.set("blob", json.dumps(value).encode(), 300, ())
        await redis_only.get("blob")
        results["Redis hit (actor + Redis read-through)"] = _percentiles(
            await _timed(n, lambda: redis_only.get("blob")))
        client = redis.asyncio.Redis.from_url(REDIS_URL)
        results["raw Redis GET (reference)"] = _percentiles(
            await _timed(n, lambda: client.get("helio:helio-bench-cache:c:v:blob")))
        await client.aclose()

    asyncio.run(run())
    ray.shutdown()
    return results


def http_throughput(args: argparse.Namespace) -> tuple[dict[str, Any], dict[str, Any]]:
    from cluster.local_ray import cluster_env
    from cluster.serve_deploy import deploy, render_serve_config
    from cluster.settings import Settings

    env, port = helio_cluster("on")
    base = f"http://127.0.0.1:{port}"
    try:
        settings = Settings(home=Path(env["HELIO_HOME"]), port=port,
                            dashboard_port=int(env["HELIO_DASHBOARD_PORT"]))
        config = render_serve_config(settings)
        helio = config["applications"][0]
        variants = {"nolimit": {"rate_limit_enabled": False},
                    "nocache": {"rate_limit_enabled": False, "auth_cache_ttl_s": 0}}
        for name, overrides in variants.items():
            app = copy.deepcopy(helio)
            app.update(name=name, route_prefix=f"/{name}", args={"settings": overrides})
            config["applications"].append(app)
        dashboard = f"http://127.0.0.1:{env['HELIO_DASHBOARD_PORT']}"
        deploy(dashboard, config, cluster_env(settings))
        admin = login(base)
        set_plan(base, admin, "admin", "read", 10_000_000, 1_000_000)
        analyst_email, analyst_password = "bench-analyst@example.com", "bench-analyst-pw"
        httpx.post(f"{base}/api/v1/users", headers={"Authorization": f"Bearer {admin}"},
                   json={"email": analyst_email, "password": analyst_password,
                         "role": "analyst"}, timeout=30).raise_for_status()
        rate_per_min, burst = 3000, 100
        set_plan(base, admin, "analyst", "read", rate_per_min, burst)
        auth = {"Authorization": f"Bearer {admin}"}
        targets = {
            "limiter on, cache on (default)": f"{base}/api/v1/users/me",
            "limiter off, cache on": f"{base}/nolimit/api/v1/users/me",
            "limiter off, cache off (DB read)": f"{base}/nocache/api/v1/users/me",
        }
        for url in targets.values():
            wait_http(url, headers=auth)
        throughput: dict[str, Any] = {name: {} for name in targets}
        for _ in range(args.repeats):  # interleaved, so drift hits all three alike
            for name, url in targets.items():
                run = measure(url, auth, argparse.Namespace(warmup=1, seconds=args.seconds,
                                                            repeats=1), connections=(32,))
                throughput[name].setdefault("runs", []).append(run[32])
        for data in throughput.values():
            runs = data["runs"]
            data.update(rps=statistics.median(r["rps"] for r in runs),
                        p50_ms=statistics.median(r["p50_ms"] for r in runs),
                        p99_ms=statistics.median(r["p99_ms"] for r in runs),
                        errors=sum(r["errors"] for r in runs))

        # Four replicas, one global limit (deployed after the throughput runs, so its idle
        # replicas do not share the two cores with them).
        acc = copy.deepcopy(helio)
        acc.update(name="acc", route_prefix="/acc", args={"settings": {}})
        acc["deployments"][0].pop("autoscaling_config", None)
        acc["deployments"][0]["num_replicas"] = 4
        config["applications"].append(acc)
        deploy(dashboard, config, cluster_env(settings))
        analyst = login(base, analyst_email, analyst_password)
        url = f"{base}/acc/api/v1/users/me"
        wait_http(url, headers={"Authorization": f"Bearer {analyst}"})
        time.sleep(burst / (rate_per_min / 60) + 1)  # let the bucket refill completely
        seconds = 10
        stats = wrk(url, 32, seconds, {"Authorization": f"Bearer {analyst}"})
        admitted = stats["requests"] - stats["non_2xx"]
        duration = stats["duration_us"] / 1e6
        expected = burst + rate_per_min / 60 * duration
        accuracy = {"replicas": 4, "rate_per_s": rate_per_min / 60, "burst": burst,
                    "seconds": duration, "attempted": stats["requests"], "admitted": admitted,
                    "expected": expected, "error_pct": 100 * (admitted - expected) / expected,
                    "socket_errors": stats["socket_errors"]}
        return throughput, accuracy
    finally:
        subprocess.run([str(BIN / "helio"), "down"], env=env, check=False, timeout=120)
        shutil.rmtree(env["HELIO_HOME"], ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/actors.json")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is required: apt-get install -y wrk")

    latency = cache_latency(args.samples)
    throughput, accuracy = http_throughput(args)

    print(f"{'cache get':42} {'p50 µs':>9} {'p99 µs':>9} {'samples':>8}")
    for name, r in latency.items():
        print(f"{name:42} {r['p50_us']:>9.1f} {r['p99_us']:>9.1f} {r['n']:>8}")
    print(f"\n{'GET /users/me, 32 connections':42} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} "
          f"{'errors':>7}")
    for name, r in throughput.items():
        print(f"{name:42} {r['rps']:>9.0f} {r['p50_ms']:>8.2f} {r['p99_ms']:>8.2f} "
              f"{r['errors']:>7}")
    on = throughput["limiter on, cache on (default)"]["rps"]
    off = throughput["limiter off, cache on"]["rps"]
    nocache = throughput["limiter off, cache off (DB read)"]["rps"]
    cost = 1 - on / off
    print(f"\nlimiter cost: {100 * cost:.1f}% of throughput (target <= 10%); "
          f"cache speed-up over a DB read per request: {on / nocache:.2f}x")
    a = accuracy
    print(f"global limit, 4 replicas, {a['seconds']:.1f} s: admitted {a['admitted']} of "
          f"{a['attempted']} attempted, expected {a['expected']:.0f} "
          f"({a['error_pct']:+.1f}%, target ±10%)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"benchmark": "actors", "cpus": os.cpu_count(),
                                    "cache_latency": latency, "throughput": throughput,
                                    "limiter_cost": cost, "accuracy": accuracy}, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
