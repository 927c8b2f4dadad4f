"""Helpers shared by the benchmark scripts: free ports, wrk runs, clusters from `helio up`."""

from __future__ import annotations

import json
import os
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


def wrk(url: str, connections: int, seconds: int, headers: dict[str, str],
        lua: str = "") -> dict[str, Any]:
    """One wrk run; `lua` is prepended to the report script (e.g. a `request` function
    that builds a different POST body for every request)."""
    script = Path(tempfile.mkstemp(suffix=".lua")[1])
    script.write_text(lua + WRK_REPORT)
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


def measure(url: str, headers: dict[str, str], args: Any,
            connections: tuple[int, ...] = (1, 8, 32), lua: str = "") -> dict[int, Any]:
    results: dict[int, Any] = {}
    for conns in connections:
        wrk(url, conns, args.warmup, headers, lua)
        runs = [wrk(url, conns, args.seconds, headers, lua) for _ in range(args.repeats)]
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


def helio_cluster(haproxy: str, **extra_env: str) -> tuple[dict[str, str], int]:
    home = Path(tempfile.mkdtemp(prefix=f"helio-bench-{haproxy}-"))
    port = free_port()
    env = {**os.environ, "HELIO_HOME": str(home), "HELIO_PORT": str(port),
           "HELIO_HAPROXY": haproxy, "HELIO_ADMIN_EMAIL": ADMIN_EMAIL,
           "HELIO_ADMIN_PASSWORD": ADMIN_PASSWORD, "HELIO_DASHBOARD_PORT": str(free_port()),
           "HELIO_METRICS_EXPORT_PORT": str(free_port()), "HELIO_RAY_PORT": str(free_port()),
           **extra_env}
    for key in ("HELIO_DATABASE_URL", "HELIO_REDIS_URL", "RAY_ADDRESS", "HELIO_RAY_ADDRESS"):
        env.pop(key, None)
    subprocess.run([str(BIN / "helio"), "up", "--detach"], env=env, check=True, timeout=300)
    return env, port


def login(base: str, email: str = ADMIN_EMAIL, password: str = ADMIN_PASSWORD) -> str:
    response = httpx.post(f"{base}/api/v1/auth/token",
                          data={"username": email, "password": password}, timeout=30)
    response.raise_for_status()
    return str(response.json()["access_token"])


def set_plan(base: str, admin_token: str, role: str, klass: str, per_minute: int,
             burst: int) -> None:
    """Change one rate-limit plan through the admin API (the others keep their values)."""
    auth = {"Authorization": f"Bearer {admin_token}"}
    items = httpx.get(f"{base}/api/v1/rate-limits", headers=auth, timeout=30).json()["items"]
    for item in items:
        if item["role"] == role and item["route_class"] == klass:
            item.update(requests_per_minute=per_minute, burst=burst)
    httpx.put(f"{base}/api/v1/rate-limits", headers=auth, json={"items": items},
              timeout=30).raise_for_status()
    time.sleep(1.0)  # every replica's L1 picks the change up within a poll interval


PLANS = ["basic", "pro", "team"]


def customers(n: int, seed: int = 7) -> Any:
    """A churn dataset: age, income, plan (categorical), member (bool) -> churned yes/no."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    age = rng.integers(18, 80, n)
    income = rng.normal(60, 20, n).round(3)
    plan = rng.choice(PLANS, n)
    member = rng.random(n) < 0.4
    logit = 0.05 * (age - 45) - 0.03 * (income - 60) + np.where(plan == "basic", 1.0, -0.6)
    churned = np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "yes", "no")
    return pd.DataFrame({"age": age, "income": income, "plan": plan, "member": member,
                         "churned": churned})


def train_churn(base: str, auth: dict[str, str], frame: Any) -> tuple[dict[str, Any],
                                                                      list[dict[str, Any]]]:
    """Upload `frame` as dataset `customers` and train model `churn` (HGB) through the API;
    the finished job and the version's feature schema."""
    import io

    csv = io.BytesIO()
    frame.to_csv(csv, index=False)
    httpx.post(f"{base}/api/v1/datasets", headers=auth, timeout=120,
               files={"file": ("customers.csv", csv.getvalue())},
               data={"name": "customers"}).raise_for_status()
    job = httpx.post(f"{base}/api/v1/models/train", headers=auth, timeout=60, json={
        "model": "churn", "dataset": "customers", "target": "churned",
        "task": "classification", "algorithm": "hist_gradient_boosting"}).json()
    deadline = time.monotonic() + 300
    while True:
        job = httpx.get(f"{base}/api/v1/jobs/{job['id']}", headers=auth, timeout=30).json()
        if job["status"] in ("succeeded", "failed", "cancelled"):
            break
        if time.monotonic() > deadline:
            sys.exit("training did not finish in 300 s")
        time.sleep(1)
    if job["status"] != "succeeded":
        sys.exit(f"training failed: {job.get('error')}")
    model = httpx.get(f"{base}/api/v1/models/churn", headers=auth, timeout=30).json()
    return job, model["versions"][0]["features"]
