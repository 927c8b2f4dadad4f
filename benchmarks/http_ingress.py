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
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
ADMIN_EMAIL, ADMIN_PASSWORD = "bench-admin@example.com", "bench-admin-password"
CONNECTIONS = (1, 8, 32)

WRK_REPORT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, ' ..
    '"non_2xx": %d, "socket_errors": %d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.status, e.connect + e.read + e.write + e.timeout))
end
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wrk(url: str, connections: int, seconds: int, headers: dict[str, str]) -> dict[str, Any]:
    script = Path(tempfile.mkstemp(suffix=".lua")[1])
    script.write_text(WRK_REPORT)
    cmd = ["wrk", f"-t{min(2, connections)}", f"-c{connections}", f"-d{seconds}s",
           "-s", str(script)]
    for key, value in headers.items():
        cmd += ["-H", f"{key}: {value}"]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout
    script.unlink()
    stats: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    stats["rps"] = stats["requests"] / (stats["duration_us"] / 1e6)
    stats["errors"] = stats["non_2xx"] + stats["socket_errors"]
    return stats


def measure(url: str, headers: dict[str, str], args: argparse.Namespace) -> dict[int, Any]:
    results: dict[int, Any] = {}
    for conns in CONNECTIONS:
        wrk(url, conns, args.warmup, headers)
        runs = [wrk(url, conns, args.seconds, headers) for _ in range(args.repeats)]
        results[conns] = {
            "rps": statistics.median(r["rps"] for r in runs),
            "p50_ms": statistics.median(r["p50_us"] for r in runs) / 1000,
            "p99_ms": statistics.median(r["p99_us"] for r in runs) / 1000,
            "errors": sum(r["errors"] for r in runs),
            "runs": runs,
        }
    return results


def wait_http(url: str, timeout_s: float = 60.0, headers: dict[str, str] | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, headers=headers, timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer 200 within {timeout_s}s")


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


def helio_cluster(haproxy: str) -> tuple[dict[str, str], int]:
    home = Path(tempfile.mkdtemp(prefix=f"helio-bench-{haproxy}-"))
    port = free_port()
    env = {**os.environ, "HELIO_HOME": str(home), "HELIO_PORT": str(port),
           "HELIO_HAPROXY": haproxy, "HELIO_ADMIN_EMAIL": ADMIN_EMAIL,
           "HELIO_ADMIN_PASSWORD": ADMIN_PASSWORD, "HELIO_DASHBOARD_PORT": str(free_port()),
           "HELIO_METRICS_EXPORT_PORT": str(free_port()), "HELIO_RAY_PORT": str(free_port())}
    for key in ("HELIO_DATABASE_URL", "HELIO_REDIS_URL", "RAY_ADDRESS", "HELIO_RAY_ADDRESS"):
        env.pop(key, None)
    subprocess.run([str(BIN / "helio"), "up", "--detach"], env=env, check=True, timeout=300)
    return env, port


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
        token = httpx.post(f"{base}/api/v1/auth/token",
                           data={"username": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
                           ).json()["access_token"]
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
