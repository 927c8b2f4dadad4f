"""Soak: mixed traffic at a fixed rate for --minutes (default 10) against a cluster started
by `helio up` (HAProxy ingress, embedded defaults), on loopback.

The mix (weights of the request schedule):
  auth         POST /auth/refresh (8 rotating refresh-token chains, one request at a time
               per chain) and a password login every 20 s per account (3 accounts: under
               the per-account login limit)
  me           GET  /users/me with a bearer token (JWT + user lookup)
  cached_read  POST /datasets/{id}/query, 4 fixed queries (answered by the cache)
  query        POST /datasets/{id}/query with a random filter (a new query: Ray tasks)
  predict      POST /models/churn/predict with an API key (role app), a random record
               per request
  list         GET  /datasets with a bearer token

Open loop: requests are sent on a fixed schedule whether or not earlier ones finished, and
a request's latency counts from its scheduled time, so a stall shows up in p99 instead of
hiding in a slower send rate. Every --window seconds (default 10) it records throughput,
p50/p99, errors and the RSS of every process of the Helio cluster (found by the marker
`helio up` puts in the environment of every process it starts). At the end it prints the
per-window table and the trends (p99 early vs late, RSS growth per process as the slope of
a least-squares line after the warm-up), and writes benchmarks/results/soak.json.
Targets: 0 errors, p99 stable, no memory growth trend. Run from the repository root.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import statistics
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from _common import (
    BIN,
    PLANS,
    ROOT,
    customers,
    helio_cluster,
    login,
    set_plan,
    train_churn,
)

MIX = {"auth": 10, "me": 15, "cached_read": 25, "query": 10, "predict": 25, "list": 15}
CACHED_QUERIES = [
    {"group_by": ["plan"], "aggregations": [{"op": "count"},
                                            {"op": "mean", "column": "income"}]},
    {"group_by": ["churned"], "aggregations": [{"op": "mean", "column": "age"}]},
    {"filter": "member", "group_by": ["plan"], "aggregations": [{"op": "count"}]},
    {"aggregations": [{"op": "quantile", "column": "income", "q": 0.9}]},
]
ACCOUNTS = 3
CHAINS = 8
PASSWORD = "soak-password-123"


@dataclass
class Sample:
    scheduled: float
    kind: str
    latency_ms: float
    ok: bool
    detail: str


@dataclass
class Traffic:
    base: str
    api_key: str
    dataset_id: str
    rate: float
    max_inflight: int = 512
    samples: list[Sample] = field(default_factory=list)
    tokens: list[str] = field(default_factory=list)  # access tokens of the soak accounts
    chains: list[str] = field(default_factory=list)  # refresh tokens, one per chain
    locks: list[asyncio.Lock] = field(default_factory=list)
    inflight: int = 0
    seq: int = 0
    started: float = 0.0

    async def setup(self, http: httpx.AsyncClient) -> None:
        for i in range(CHAINS):
            token = await self._login(http, f"soak-{i % ACCOUNTS}@example.com")
            self.chains.append(token["refresh_token"])
            self.tokens.append(token["access_token"])
            self.locks.append(asyncio.Lock())
            await asyncio.sleep(0.5)

    async def _login(self, http: httpx.AsyncClient, email: str) -> dict[str, Any]:
        response = await http.post("/api/v1/auth/token",
                                   data={"username": email, "password": PASSWORD})
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body

    async def request(self, http: httpx.AsyncClient, kind: str) -> httpx.Response:
        rnd = random.random
        key = {"X-API-Key": self.api_key}
        bearer = {"Authorization": f"Bearer {random.choice(self.tokens)}"}
        query_url = f"/api/v1/datasets/{self.dataset_id}/query"
        if kind == "auth":
            chain = self.seq % CHAINS
            async with self.locks[chain]:
                # The cookie jar would also send the refresh cookie: send the body only.
                http.cookies.clear()
                response = await http.post("/api/v1/auth/refresh",
                                           json={"refresh_token": self.chains[chain]})
                if response.status_code == 200:
                    body = response.json()
                    self.chains[chain] = body["refresh_token"]
                    self.tokens[chain] = body["access_token"]
                return response
        if kind == "me":
            return await http.get("/api/v1/users/me", headers=bearer)
        if kind == "cached_read":
            return await http.post(query_url, headers=bearer,
                                   json=random.choice(CACHED_QUERIES))
        if kind == "query":
            return await http.post(query_url, headers=bearer, json={
                "filter": f"income > {20 + 80 * rnd():.4f} and age >= {random.randint(18, 79)}",
                "group_by": ["plan"], "aggregations": [{"op": "count"},
                                                       {"op": "mean", "column": "income"}]})
        if kind == "predict":
            return await http.post("/api/v1/models/churn/predict", headers=key, json={
                "records": [{"age": random.randint(18, 80), "income": round(20 + 80 * rnd(), 6),
                             "plan": random.choice(PLANS), "member": rnd() < 0.4}]})
        return await http.get("/api/v1/datasets", headers=bearer)

    async def one(self, http: httpx.AsyncClient, kind: str, scheduled: float) -> None:
        self.inflight += 1
        try:
            response = await self.request(http, kind)
            ok, detail = 200 <= response.status_code < 300, str(response.status_code)
        except httpx.HTTPError as exc:
            ok, detail = False, type(exc).__name__
        finally:
            self.inflight -= 1
        self.samples.append(Sample(scheduled, kind, (time.monotonic() - scheduled) * 1000,
                                   ok, detail))

    async def logins(self, http: httpx.AsyncClient, until: float) -> None:
        """A password login per account every 20 s (under the 5/min per-account limit)."""
        i = 0
        while time.monotonic() < until:
            scheduled = time.monotonic()
            try:
                token = await self._login(http, f"soak-{i % ACCOUNTS}@example.com")
                self.tokens[i % CHAINS] = token["access_token"]
                ok, detail = True, "200"
            except httpx.HTTPStatusError as exc:
                ok, detail = False, str(exc.response.status_code)
            except httpx.HTTPError as exc:
                ok, detail = False, type(exc).__name__
            self.samples.append(Sample(scheduled, "login", (time.monotonic() - scheduled) * 1000,
                                       ok, detail))
            i += 1
            await asyncio.sleep(20.0 / ACCOUNTS)

    async def run(self, seconds: float) -> None:
        schedule = [kind for kind, weight in MIX.items() for _ in range(weight)]
        random.Random(5).shuffle(schedule)
        limits = httpx.Limits(max_connections=128, max_keepalive_connections=128)
        async with httpx.AsyncClient(base_url=self.base, timeout=60, limits=limits) as http:
            await self.setup(http)
            self.started = time.monotonic()
            until = self.started + seconds
            tasks: set[asyncio.Task[None]] = set()
            login_task = asyncio.create_task(self.logins(http, until))
            i = 0
            while True:
                at = self.started + i / self.rate
                if at >= until:
                    break
                await asyncio.sleep(max(0.0, at - time.monotonic()))
                kind = schedule[i % len(schedule)]
                self.seq = i
                if self.inflight >= self.max_inflight:
                    self.samples.append(Sample(at, kind, 0.0, False, "overload"))
                else:
                    task = asyncio.create_task(self.one(http, kind, at))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                i += 1
            await asyncio.gather(*tasks, login_task)


# ---------------------------------------------------------------- processes

def _cmdline(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return []


def process_name(pid: int) -> str:
    """ray::ServeReplica:helio:ApiIngress, ray::CacheActor, gcs_server, raylet, haproxy, or
    the Python script (dashboard.py, agent.py, ...)."""
    argv = [a for a in _cmdline(pid) if a]
    if not argv:
        return "?"
    if argv[0].startswith("ray::"):
        # Ray appends the method a worker is running (ray::CacheActor.get): the actor's name.
        return argv[0].split()[0].split(".")[0]
    if len(argv) > 1 and argv[1] == "-c":
        return "python -c"
    scripts = [Path(a).name for a in argv[1:] if a.endswith(".py")]
    if scripts:
        return scripts[0]
    if "-m" in argv[:-1]:
        return argv[argv.index("-m") + 1]
    return Path(argv[0]).name


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def helio_processes(env: dict[str, str]) -> dict[str, float]:
    """RSS (MB) by process name; repeated names get a #n suffix (ordered by pid)."""
    from cluster.local_ray import HEAD_MARKER, marked_processes, ray_temp_dir
    from cluster.settings import Settings

    temp_dir = ray_temp_dir(Settings(home=Path(env["HELIO_HOME"])))
    seen: dict[str, int] = {}
    out: dict[str, float] = {}
    for pid in marked_processes(HEAD_MARKER, temp_dir):
        rss = rss_mb(pid)
        if rss is None or rss < 1:
            continue
        name = process_name(pid)
        seen[name] = seen.get(name, 0) + 1
        out[name if seen[name] == 1 else f"{name}#{seen[name]}"] = round(rss, 1)
    return out


# ---------------------------------------------------------------- report

def _pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def window_stats(samples: list[Sample], start: float, end: float) -> dict[str, Any]:
    done = [s for s in samples if start <= s.scheduled < end]
    latencies = [s.latency_ms for s in done if s.ok]
    return {"requests": len(done), "rps": len(done) / (end - start),
            "p50_ms": _pct(latencies, 50), "p99_ms": _pct(latencies, 99),
            "errors": sum(1 for s in done if not s.ok)}


def slope_mb_per_min(points: list[tuple[float, float]]) -> float:
    if len(points) < 3:
        return 0.0
    t = np.array([p[0] for p in points]) / 60.0
    y = np.array([p[1] for p in points])
    return float(np.polyfit(t, y, 1)[0])


KEY_PROCESSES = ["ray::ServeReplica:helio:ApiIngress", "ray::ServeReplica:helio:TabularPredictor",
                 "ray::ServeReplica:helio:TextEncoder", "ray::ServeController",
                 "ray::CacheActor", "ray::RateLimiterActor", "raylet", "gcs_server", "haproxy"]


def short(name: str) -> str:
    return name.removeprefix("ray::").removeprefix("ServeReplica:helio:")


def report(result: dict[str, Any], args: argparse.Namespace) -> None:
    windows = result["windows"]
    names = [n for n in KEY_PROCESSES if any(n in w["rss_mb"] for w in windows)]
    head = (f"{'t s':>5} {'req/s':>6} {'p50 ms':>7} {'p99 ms':>7} {'err':>4} "
            + " ".join(f"{short(n)[:10]:>10}" for n in names) + f" {'all MB':>8}")
    print(f"\nRSS in MB per process; all = every process of the cluster ({args.rate:g} req/s "
          f"offered, mix {MIX})")
    print(head)
    print("-" * len(head))
    for w in windows:
        cells = " ".join(f"{w['rss_mb'].get(n, float('nan')):>10.0f}" for n in names)
        print(f"{w['t_s']:>5.0f} {w['rps']:>6.1f} {w['p50_ms']:>7.1f} {w['p99_ms']:>7.1f} "
              f"{w['errors']:>4} {cells} {w['rss_total_mb']:>8.0f}")
    print()
    print(f"{'kind':12} {'requests':>9} {'errors':>7} {'p50 ms':>8} {'p99 ms':>8}")
    for kind, k in result["by_kind"].items():
        print(f"{kind:12} {k['requests']:>9} {k['errors']:>7} {k['p50_ms']:>8.1f} "
              f"{k['p99_ms']:>8.1f}")
    t = result["trends"]
    print()
    print(f"requests: {result['requests']}, errors: {result['errors']} (target 0)"
          + (f" {result['error_kinds']}" if result["errors"] else ""))
    print(f"p99 after warm-up, median of windows: first half {t['p99_first_half_ms']:.1f} ms, "
          f"second half {t['p99_second_half_ms']:.1f} ms (ratio {t['p99_ratio']:.2f}; "
          "target: stable, <= 1.5)")
    print(f"RSS slope after warm-up, all processes: {t['rss_total_mb_per_min']:+.2f} MB/min; "
          f"largest per process: {t['rss_max_slope_process']} "
          f"{t['rss_max_slope_mb_per_min']:+.2f} MB/min (target: no growth trend)")


def summarize(samples: list[Sample], windows: list[dict[str, Any]], warmup_s: float
              ) -> dict[str, Any]:
    by_kind = {}
    for kind in [*MIX, "login"]:
        mine = [s for s in samples if s.kind == kind]
        ok = [s.latency_ms for s in mine if s.ok]
        by_kind[kind] = {"requests": len(mine), "errors": sum(1 for s in mine if not s.ok),
                         "p50_ms": _pct(ok, 50), "p99_ms": _pct(ok, 99)}
    steady = [w for w in windows if w["t_s"] > warmup_s]
    half = len(steady) // 2
    first = statistics.median(w["p99_ms"] for w in steady[:half]) if half else float("nan")
    second = statistics.median(w["p99_ms"] for w in steady[half:]) if half else float("nan")
    slopes = {}
    for name in {n for w in steady for n in w["rss_mb"]}:
        points = [(w["t_s"], w["rss_mb"][name]) for w in steady if name in w["rss_mb"]]
        if len(points) == len(steady):  # present the whole time (not a short-lived worker)
            slopes[name] = slope_mb_per_min(points)
    worst = max(slopes, key=lambda n: slopes[n]) if slopes else "-"
    errors = [s for s in samples if not s.ok]
    return {
        "requests": len(samples), "errors": len(errors),
        "error_kinds": sorted({f"{s.kind}:{s.detail}" for s in errors}),
        "by_kind": by_kind,
        "trends": {
            "p99_first_half_ms": first, "p99_second_half_ms": second,
            "p99_ratio": second / first if first else float("nan"),
            "rss_total_mb_per_min": slope_mb_per_min(
                [(w["t_s"], w["rss_total_mb"]) for w in steady]),
            "rss_slopes_mb_per_min": slopes,
            "rss_max_slope_process": worst,
            "rss_max_slope_mb_per_min": slopes.get(worst, 0.0),
        },
    }


def prepare(base: str, env: dict[str, str]) -> tuple[str, str]:
    """Accounts, an API key, the churn dataset and model; (api key, dataset id)."""
    token = login(base)
    auth = {"Authorization": f"Bearer {token}"}
    # Throughput is the point here, not the limiter's denials (it still runs on every call).
    for role in ("admin", "analyst", "app"):
        for klass in ("read", "write"):
            set_plan(base, token, role, klass, 1_000_000, 100_000)
    for i in range(ACCOUNTS):
        httpx.post(f"{base}/api/v1/users", headers=auth, timeout=30, json={
            "email": f"soak-{i}@example.com", "password": PASSWORD, "role": "analyst",
        }).raise_for_status()
    key = httpx.post(f"{base}/api/v1/api-keys", headers=auth, timeout=30,
                     json={"name": "soak", "role": "app"}).json()["key"]
    job, _ = train_churn(base, auth, customers(20_000))
    print(f"trained churn v1 (accuracy {job['result']['metrics']['accuracy']:.3f})", flush=True)
    dataset = httpx.get(f"{base}/api/v1/datasets", headers=auth, timeout=30,
                        params={"search": "customers"}).json()["items"][0]
    return str(key), str(dataset["id"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=40.0, help="requests per second")
    parser.add_argument("--window", type=float, default=10.0, help="seconds per row")
    parser.add_argument("--warmup", type=float, default=60.0,
                        help="seconds left out of the trends")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/soak.json")
    args = parser.parse_args()

    env, port = helio_cluster("on")
    base = f"http://127.0.0.1:{port}"
    readings: list[tuple[float, dict[str, float]]] = []
    try:
        api_key, dataset_id = prepare(base, env)
        traffic = Traffic(base=base, api_key=api_key, dataset_id=dataset_id, rate=args.rate)
        stop = threading.Event()

        def sample_rss() -> None:
            """Every window: the RSS of each cluster process (in a thread, so reading /proc
            never delays the request schedule)."""
            while not traffic.started and not stop.is_set():
                time.sleep(0.05)
            n = 1
            while not stop.wait(max(0.0, traffic.started + n * args.window - time.monotonic())):
                rss = helio_processes(env)
                readings.append((n * args.window, rss))
                w = window_stats(traffic.samples, traffic.started + (n - 1) * args.window,
                                 traffic.started + n * args.window)
                print(f"t={n * args.window:>5.0f}s {w['rps']:>6.1f} req/s p50 "
                      f"{w['p50_ms']:>6.1f} ms p99 {w['p99_ms']:>7.1f} ms errors "
                      f"{w['errors']} rss {sum(rss.values()):.0f} MB", flush=True)
                n += 1

        sampler = threading.Thread(target=sample_rss, daemon=True)
        sampler.start()
        print(f"soak: {args.minutes:g} min at {args.rate:g} req/s ...", flush=True)
        try:
            asyncio.run(traffic.run(args.minutes * 60))
        finally:
            stop.set()
            sampler.join()
        samples = traffic.samples
        windows = []
        for t_s, rss in readings:
            start = traffic.started + t_s - args.window
            windows.append({"t_s": t_s, **window_stats(samples, start, start + args.window),
                            "rss_mb": rss, "rss_total_mb": round(sum(rss.values()), 1)})
    finally:
        subprocess.run([str(BIN / "helio"), "down"], env=env, check=False, timeout=120)
        shutil.rmtree(env["HELIO_HOME"], ignore_errors=True)

    result = {"cpus": os.cpu_count(), "minutes": args.minutes, "rate": args.rate,
              "mix": MIX, "windows": windows,
              **summarize(samples, windows, args.warmup)}
    report(result, args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, default=float))
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
