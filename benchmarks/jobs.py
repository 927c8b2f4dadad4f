"""Platform jobs: the warm runner against a Ray Job driver per run, side by side in one run.

For each runner mode (`HELIO_JOB_RUNNER=warm`, the default, and `rayjob`, one `ray job
submit` driver per run, as before the runner existed) a fresh `helio up` on free ports:
  - submit -> `running`: the server's own timestamps (`started_at - created_at`) of N
    sequential small pipeline runs, p50 / p99, and the client's view (POST to the first
    poll that sees `running`);
  - a 10k-row pipeline end to end (POST to `succeeded`, polled every 20 ms), p50, on the
    plan the server picks (one DuckDB statement for an input this small) and, warm only,
    forced onto Ray Data;
  - the 5M-row ETL of benchmarks/analytics.py (filter, derive, cast, dedupe, aggregate ->
    Parquet) end to end, on both plans (warm), against pandas doing the same in-process;
  - (warm only) 50 jobs submitted at once drain through the pool: the most jobs seen
    running at once never exceeds the pool, and the drain time.

Prints a table and writes benchmarks/results/jobs.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import analytics
from _common import BIN, ROOT, helio_cluster, login
from analytics import generate

TERMINAL = {"succeeded", "failed", "cancelled"}
SMALL_ROWS = 10_000


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def seconds(iso_a: str, iso_b: str) -> float:
    from datetime import datetime

    return (datetime.fromisoformat(iso_b) - datetime.fromisoformat(iso_a)).total_seconds()


class Api(analytics.Api):
    """analytics' API client (login header, upload), plus runs that time their start."""

    def pipeline(self, name: str, spec: dict[str, Any]) -> str:
        response = self.http.post("/pipelines", json={"name": name, "spec": spec})
        response.raise_for_status()
        return str(response.json()["id"])

    def start(self, pipeline_id: str) -> dict[str, Any]:
        response = self.http.post(f"/pipelines/{pipeline_id}/runs")
        response.raise_for_status()
        return dict(response.json())

    def job(self, job_id: str) -> dict[str, Any]:
        return dict(self.http.get(f"/jobs/{job_id}").json())

    def run(self, pipeline_id: str, poll_s: float = 0.02) -> dict[str, Any]:
        """One run: the job, the client's seconds to `running` and to the end."""
        started = time.perf_counter()
        job = self.start(pipeline_id)
        to_running = None
        while job["status"] not in TERMINAL:
            time.sleep(poll_s)
            job = self.job(job["id"])
            if to_running is None and job["status"] != "queued":
                to_running = time.perf_counter() - started
        wall = time.perf_counter() - started
        if job["status"] != "succeeded":
            raise RuntimeError(f"job {job['id']} {job['status']}: {job.get('error')}")
        return {"job": job, "client_to_running_s": to_running or wall, "wall_s": wall}


def small_csv(path: Path) -> Path:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(1)
    pd.DataFrame({"id": np.arange(SMALL_ROWS), "k": rng.integers(0, 50, SMALL_ROWS),
                  "x": rng.random(SMALL_ROWS).round(6)}).to_csv(path, index=False)
    return path


SMALL_SPEC = {"source": {"dataset": "small"}, "steps": [
    {"op": "filter", "expr": "x > 0.1"},
    {"op": "derive", "column": "y", "expr": "x * 2"},
    {"op": "aggregate", "group_by": ["k"], "aggregations": [
        {"op": "count"}, {"op": "sum", "column": "y"}]}],
    "sink": {"dataset": "small_out"}}


def etl_spec(rows: int) -> dict[str, Any]:
    return {"source": {"dataset": f"events_{rows}"}, "steps": [
        {"op": "filter", "expr": "amount > 1 and device != 'tv'"},
        {"op": "derive", "column": "eur", "expr": "round(amount * 0.92, 2)"},
        {"op": "cast", "columns": {"user_id": "string"}},
        {"op": "dedupe", "columns": ["event_id"]},
        {"op": "aggregate", "group_by": ["country", "device"], "aggregations": [
            {"op": "count"}, {"op": "sum", "column": "eur"},
            {"op": "count_distinct", "column": "user_id"}]}],
        "sink": {"dataset": f"etl_{rows}"}}


def pandas_etl(source: Path, out: Path) -> float:
    import pandas as pd

    started = time.perf_counter()
    f = pd.read_parquet(source)
    f = f[(f.amount > 1) & (f.device != "tv")]
    f = f.assign(eur=(f.amount * 0.92).round(2), user_id=f.user_id.astype(str))
    f = f.drop_duplicates(subset=["event_id"])
    agg = f.groupby(["country", "device"]).agg(count=("eur", "size"), eur_sum=("eur", "sum"),
                                               user_id_count_distinct=("user_id", "nunique"))
    agg.reset_index().to_parquet(out)
    return time.perf_counter() - started


def drain(api: Api, pipeline_id: str, count: int) -> dict[str, Any]:
    """Submit `count` runs at once; poll the queue until all ended."""
    started = time.perf_counter()
    ids = [api.start(pipeline_id)["id"] for _ in range(count)]
    submitted = time.perf_counter() - started
    most_running, runners = 0, set()
    while True:
        listing = api.http.get("/jobs", params={"limit": 100, "kind": "pipeline"}).json()
        mine = [j for j in listing["items"] if j["id"] in set(ids)]
        running = [j for j in mine if j["status"] == "running"]
        most_running = max(most_running, len(running))
        runners.update(j["runner"] for j in running if j.get("runner"))
        if len(mine) == count and all(j["status"] in TERMINAL for j in mine):
            break
        time.sleep(0.5)  # a listing computes queue positions: do not load the API itself
    wall = time.perf_counter() - started
    failed = [j["id"] for j in mine if j["status"] != "succeeded"]
    return {"jobs": count, "submit_s": round(submitted, 3), "drain_s": round(wall, 2),
            "max_running": most_running, "runners_seen": sorted(runners),
            "failed": len(failed)}


def bench_mode(mode: str, runs: int, etl_rows: int, work: Path, drain_jobs: int
               ) -> dict[str, Any]:
    print(f"[{mode}] helio up ...", flush=True)  # progress lines go to stdout
    env, port = helio_cluster("off", HELIO_JOB_RUNNER=mode)
    base = f"http://127.0.0.1:{port}"
    try:
        api = Api(base, login(base))
        pools = api.http.get("/health").json()
        api.upload("small", small_csv(work / "small.csv"))
        pipeline_id = api.pipeline("small", SMALL_SPEC)
        api.run(pipeline_id)  # the first run starts the pool / warms the workers: not timed
        server_s, client_s, wall_s = [], [], []
        print(f"[{mode}] {runs} sequential runs of the {SMALL_ROWS:,}-row pipeline", flush=True)
        for _ in range(runs):
            result = api.run(pipeline_id)
            job = result["job"]
            server_s.append(seconds(job["created_at"], job["started_at"]))
            client_s.append(result["client_to_running_s"])
            wall_s.append(result["wall_s"])
        out: dict[str, Any] = {
            "mode": mode, "runs": runs, "health": pools.get("status"),
            "submit_to_running_p50_s": round(statistics.median(server_s), 3),
            "submit_to_running_p99_s": round(pct(server_s, 0.99), 3),
            "client_to_running_p50_s": round(statistics.median(client_s), 3),
            "pipeline_10k_p50_s": round(statistics.median(wall_s), 3),
            "pipeline_10k_p99_s": round(pct(wall_s, 0.99), 3),
            "pipeline_10k_plan": result["job"]["result"]["plan"],
            "samples": {"submit_to_running_s": server_s, "pipeline_10k_s": wall_s}}
        if mode == "warm":  # the same pipeline forced onto Ray Data, for comparison
            forced = api.pipeline("small_distributed", {**SMALL_SPEC, "plan": "distributed"})
            api.run(forced)
            distributed = [api.run(forced)["wall_s"] for _ in range(max(1, runs // 4))]
            out["pipeline_10k_distributed_p50_s"] = round(statistics.median(distributed), 3)
        if etl_rows:
            source = work / f"events_{etl_rows}.parquet"
            if not source.exists():
                generate(source, etl_rows, seed=etl_rows)
            api.upload(f"events_{etl_rows}", source)
            for plan in ("auto", "distributed") if mode == "warm" else ("auto",):
                print(f"[{mode}] the {etl_rows:,}-row ETL, plan {plan}", flush=True)
                spec = {**etl_spec(etl_rows), "plan": plan}
                etl = api.run(api.pipeline(f"etl_{etl_rows}_{plan}", spec), poll_s=0.1)
                assert etl["job"]["status"] == "succeeded", etl["job"]
                key = "etl" if plan == "auto" else "etl_distributed"
                out.update({"etl_rows": etl_rows, f"{key}_wall_s": round(etl["wall_s"], 2),
                            f"{key}_job_elapsed_s": etl["job"]["result"]["elapsed_s"],
                            f"{key}_phases": etl["job"]["result"].get("phases"),
                            f"{key}_plan": etl["job"]["result"]["plan"]})
        if drain_jobs and mode == "warm":
            print(f"[{mode}] {drain_jobs} jobs at once", flush=True)
            out["drain"] = drain(api, pipeline_id, drain_jobs)
        return out
    finally:
        subprocess.run([str(BIN / "helio"), "down"], env=env, check=False, timeout=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--etl-rows", type=int, default=5_000_000, help="0 skips the ETL")
    parser.add_argument("--drain", type=int, default=50, help="0 skips the queue drain")
    parser.add_argument("--modes", nargs="+", default=["warm", "rayjob"])
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "jobs.json")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="helio-bench-jobs-"))
    results: dict[str, Any] = {"machine": {"cpus": os.cpu_count()}, "modes": []}
    for mode in args.modes:
        results["modes"].append(bench_mode(mode, args.runs, args.etl_rows, work, args.drain))
    if args.etl_rows:
        source = work / f"events_{args.etl_rows}.parquet"
        results["pandas_etl_s"] = round(pandas_etl(source, work / "pandas_etl.parquet"), 2)

    print()
    print(f"{'runner':>8} {'submit->running p50':>20} {'p99':>7} {'client p50':>11} "
          f"{'10k pipeline p50':>17} {'p99':>7} {'plan':>6} {'5M ETL wall':>12} {'job':>7} "
          f"{'plan':>6}")
    for m in results["modes"]:
        print(f"{m['mode']:>8} {m['submit_to_running_p50_s']:>19.3f}s "
              f"{m['submit_to_running_p99_s']:>6.3f}s {m['client_to_running_p50_s']:>10.3f}s "
              f"{m['pipeline_10k_p50_s']:>16.3f}s {m['pipeline_10k_p99_s']:>6.3f}s "
              f"{m['pipeline_10k_plan']:>6} {m.get('etl_wall_s', 0):>11.2f}s "
              f"{m.get('etl_job_elapsed_s', 0):>6.2f}s {m.get('etl_plan', ''):>6}")
        if "pipeline_10k_distributed_p50_s" in m:
            print(f"{m['mode']:>8} {'(forced onto Ray Data)':>41} "
                  f"{m['pipeline_10k_distributed_p50_s']:>16.3f}s {'':>7} {'distr.':>6} "
                  f"{m.get('etl_distributed_wall_s', 0):>11.2f}s "
                  f"{m.get('etl_distributed_job_elapsed_s', 0):>6.2f}s {'distr.':>6}")
    if "pandas_etl_s" in results:
        print(f"{'pandas':>8} {'':>20} {'':>7} {'':>11} {'':>17} {'':>7} "
              f"{results['pandas_etl_s']:>11.2f}s")
        for m in results["modes"]:
            if m.get("etl_wall_s"):
                m["etl_throughput_vs_pandas"] = round(results["pandas_etl_s"] / m["etl_wall_s"],
                                                      3)
                print(f"{m['mode']}: ETL throughput (wall, submit to published) = "
                      f"{m['etl_throughput_vs_pandas']:.2f}x pandas")
    for m in results["modes"]:
        if "drain" in m:
            d = m["drain"]
            print(f"{m['mode']}: {d['jobs']} jobs at once drained in {d['drain_s']} s; at most "
                  f"{d['max_running']} running at once on {len(d['runners_seen'])} runners; "
                  f"{d['failed']} failed")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
