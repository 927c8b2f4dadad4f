"""HTTP ingress throughput and latency, side by side in one run.

(a) bare uvicorn + FastAPI hello, (b) Serve default proxy hello, (c) Serve HAProxy hello,
(d) Helio `GET /api/v1/users/me` with a valid token through the ingress `helio up` uses
(HAProxy), plus (e) the same Helio call through Serve's default proxy for reference.

Serve targets run on clusters started by `helio up` itself (HELIO_HAPROXY=off for the
Serve proxy); the hello app is deployed next to Helio with the same deployment options.
Load comes from `wrk` (a separate, efficient C client). Each cell is the median of
--repeats runs. Prints a table and writes JSON to benchmarks/results/http_ingress.json.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from _common import (
    BIN,
    ROOT,
    free_port,
    helio_cluster,
    login,
    measure,
    set_plan,
    wait_http,
)


def bench_uvicorn(args: argparse.Namespace) -> dict[int, Any]:
    port = free_port()
    proc = subprocess.Popen(
        [str(BIN / "uvicorn"), "hello_app:fastapi_app", "--app-dir", str(ROOT / "benchmarks"),
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log"],
        env={**os.environ, "PYTHONPATH": str(ROOT / "benchmarks")})
    try:
        url = f"http://127.0.0.1:{port}/hello"
        wait_http(url)
        return measure(url, {}, args)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def add_hello_app(env: dict[str, str]) -> None:
    """Deploy the hello app beside Helio with ApiIngress's deployment options."""
    from cluster.local_ray import cluster_env
    from cluster.serve_deploy import deploy, render_serve_config
    from cluster.settings import Settings

    settings = Settings(home=Path(env["HELIO_HOME"]), port=int(env["HELIO_PORT"]),
                        haproxy=env["HELIO_HAPROXY"],  # type: ignore[arg-type]
                        dashboard_port=int(env["HELIO_DASHBOARD_PORT"]))
    config = render_serve_config(settings)
    helio = config["applications"][0]
    hello = {
        "name": "hello", "route_prefix": "/bench", "import_path": "hello_app:app",
        "runtime_env": {"env_vars": {"PYTHONPATH": str(ROOT / "benchmarks")}},
        "deployments": [{**copy.deepcopy(helio["deployments"][0]), "name": "Hello"}],
    }
    config["applications"].append(hello)
    deploy(f"http://127.0.0.1:{env['HELIO_DASHBOARD_PORT']}", config, cluster_env(settings))


def bench_serve(haproxy: str, args: argparse.Namespace) -> dict[str, dict[int, Any]]:
    env, port = helio_cluster(haproxy)
    try:
        add_hello_app(env)
        base = f"http://127.0.0.1:{port}"
        wait_http(f"{base}/bench/hello")
        token = login(base)
        # Measure the ingress, not the limiter's rejections: lift the admin read plan.
        set_plan(base, token, "admin", "read", 10_000_000, 1_000_000)
        auth = {"Authorization": f"Bearer {token}"}
        wait_http(f"{base}/api/v1/users/me", headers=auth)
        return {"hello": measure(f"{base}/bench/hello", {}, args),
                "helio_me": measure(f"{base}/api/v1/users/me", auth, args)}
    finally:
        subprocess.run([str(BIN / "helio"), "down"], env=env, check=False, timeout=120)
        shutil.rmtree(env["HELIO_HOME"], ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/http_ingress.json")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is required: apt-get install -y wrk")

    rows: dict[str, dict[int, Any]] = {}
    rows["(a) uvicorn + FastAPI hello"] = bench_uvicorn(args)
    proxy = bench_serve("off", args)
    rows["(b) Serve proxy hello"] = proxy["hello"]
    haproxy = bench_serve("on", args)
    rows["(c) Serve HAProxy hello"] = haproxy["hello"]
    rows["(d) Helio GET /users/me (HAProxy)"] = haproxy["helio_me"]
    rows["(e) Helio GET /users/me (Serve proxy)"] = proxy["helio_me"]

    header = f"{'target':42} {'conns':>5} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}"
    print(header)
    print("-" * len(header))
    for name, by_conn in rows.items():
        for conns, r in by_conn.items():
            print(f"{name:42} {conns:>5} {r['rps']:>9.0f} {r['p50_ms']:>8.2f} "
                  f"{r['p99_ms']:>8.2f} {r['errors']:>7}")
    ratio = rows["(d) Helio GET /users/me (HAProxy)"][32]["rps"] / rows[
        "(c) Serve HAProxy hello"][32]["rps"]
    errors_d = rows["(d) Helio GET /users/me (HAProxy)"][32]["errors"]
    print(f"\n(d)/(c) at 32 connections: {ratio:.2f} (target >= 0.70), errors in (d): {errors_d}")

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "benchmark": "http_ingress", "cpus": os.cpu_count(),
        "seconds": args.seconds, "repeats": args.repeats,
        "results": {name: {str(c): v for c, v in by.items()} for name, by in rows.items()},
        "ratio_d_over_c_32": ratio, "target_met": ratio >= 0.7 and errors_d == 0,
    }, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
