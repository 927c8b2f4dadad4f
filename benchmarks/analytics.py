"""Analytics and ETL speed, side by side in one run, on seeded event datasets.

For each size (default 5M and 20M rows) the same query (filter + derive + group-by over
country and day, count / sum / mean) runs:
  - in Helio through the API (`POST /datasets/{id}/query`): cold (cache miss; a different
    literal each time) and cached; server-side `elapsed_ms` and client wall time;
  - in-process DuckDB over the same Parquet files, and over an in-memory Arrow table;
  - in-process pandas over an in-memory DataFrame;
  - Ray Data's default `filter -> map_batches -> groupby().aggregate()` on the same cluster.
And an ETL pipeline (filter, derive, cast, dedupe, aggregate -> Parquet) as a Helio job
versus pandas doing the same from and to Parquet.

Starts its own `helio up` on free ports. Prints a table and writes
benchmarks/results/analytics.json.
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

import httpx
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from _common import BIN, ROOT, helio_cluster, login

COUNTRIES = [f"c{i:02d}" for i in range(20)]
DEVICES = ["ios", "android", "web", "tv", "desktop"]
ROWS_PER_FILE = 1_000_000
QUERY_FILTER = "amount > {x} and device != 'tv'"
SQL = ("SELECT country, CAST(date_trunc('day', ts) AS TIMESTAMP) AS ts_day, count(*) AS count, "
       "sum(amount * 0.92) AS eur_sum, avg(amount) AS amount_mean FROM {src} "
       "WHERE amount > {x} AND device <> 'tv' GROUP BY 1, 2")


def generate(path: Path, rows: int, seed: int) -> None:
    """Seeded events: user, country, device, amount, ts (90 days), with ~2% duplicates."""
    rng = np.random.default_rng(seed)
    writer = None
    start = np.datetime64("2024-01-01T00:00:00", "us")
    for offset in range(0, rows, ROWS_PER_FILE):
        n = min(ROWS_PER_FILE, rows - offset)
        ids = np.arange(offset, offset + n)
        dup = rng.random(n) < 0.02
        ids[dup] = np.maximum(ids[dup] - 1, 0)
        # Row content is a function of the id, so a repeated id is a true duplicate row.
        table = pa.table({
            "event_id": ids,
            "user_id": (ids * 7919) % 200_000,
            "country": pa.array(np.array(COUNTRIES)[(ids * 31) % len(COUNTRIES)]),
            "device": pa.array(np.array(DEVICES)[(ids * 17) % len(DEVICES)]),
            "amount": ((ids * 2654435761) % 100_000) / 1000.0,
            "ts": pa.array(start + ((ids * 104729) % (90 * 86_400)).astype("timedelta64[s]")),
        })
        writer = writer or pq.ParquetWriter(path, table.schema, compression="zstd")
        writer.write_table(table)
    assert writer is not None
    writer.close()


def median_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 2)


class Api:
    def __init__(self, base: str, token: str) -> None:
        self.http = httpx.Client(base_url=f"{base}/api/v1", timeout=3600,
                                 headers={"Authorization": f"Bearer {token}"})

    def upload(self, name: str, path: Path) -> dict[str, Any]:
        with path.open("rb") as fh:
            response = self.http.post("/datasets", files={"file": (path.name, fh)},
                                      data={"name": name})
        response.raise_for_status()
        return dict(response.json())

    def query(self, dataset_id: str, body: dict[str, Any]) -> tuple[dict[str, Any], float]:
        started = time.perf_counter()
        response = self.http.post(f"/datasets/{dataset_id}/query", json=body)
        wall = time.perf_counter() - started
        response.raise_for_status()
        return dict(response.json()), wall

    def run_pipeline(self, name: str, spec: dict[str, Any]) -> tuple[dict[str, Any], float]:
        pipeline = self.http.post("/pipelines", json={"name": name, "spec": spec})
        pipeline.raise_for_status()
        started = time.perf_counter()
        job = self.http.post(f"/pipelines/{pipeline.json()['id']}/runs").json()
        while job["status"] not in ("succeeded", "failed", "cancelled"):
            time.sleep(0.2)
            job = self.http.get(f"/jobs/{job['id']}").json()
        wall = time.perf_counter() - started
        if job["status"] != "succeeded":
            raise RuntimeError(f"pipeline {name} {job['status']}: {job.get('error')}")
        return dict(job), wall


def helio_query(x: float) -> dict[str, Any]:
    return {"derive": {"eur": "amount * 0.92"}, "filter": QUERY_FILTER.format(x=x),
            "group_by": ["country", {"column": "ts", "bucket": "day"}],
            "aggregations": [{"op": "count"}, {"op": "sum", "column": "eur", "as": "eur_sum"},
                             {"op": "mean", "column": "amount"}]}


def bench_size(api: Api, rows: int, work: Path, repeats: int, ray_env: dict[str, str]
               ) -> dict[str, Any]:
    import duckdb
    import pandas as pd

    source = work / f"events_{rows}.parquet"
    generate(source, rows, seed=rows)
    print(f"[{rows:,} rows] uploading {source.stat().st_size / 1e6:.0f} MB ...", flush=True)
    started = time.perf_counter()
    dataset = api.upload(f"events_{rows}", source)
    upload_s = time.perf_counter() - started
    out: dict[str, Any] = {"rows": rows, "parquet_mb": round(source.stat().st_size / 1e6, 1),
                           "upload_ingest_s": round(upload_s, 2)}
    dataset_id = dataset["id"]
    files = sorted(str(p) for p in (Path(ray_env["HELIO_HOME"]) / "data" / "datasets"
                                    / dataset_id / "v1").glob("*.parquet"))

    # Helio: cold (distinct literals defeat the cache), then cached.
    api.query(dataset_id, helio_query(0.001))  # warm the workers (imports), not timed
    cold_server, cold_wall = [], []
    for i in range(repeats):
        body, wall = api.query(dataset_id, helio_query(5 + i / 1000))
        assert not body["cached"]
        cold_server.append(body["elapsed_ms"] / 1000)
        cold_wall.append(wall)
    cached_server, cached_wall = [], []
    for _ in range(repeats * 4):
        body, wall = api.query(dataset_id, helio_query(5.0))
        assert body["cached"]
        cached_server.append(body["elapsed_ms"] / 1000)
        cached_wall.append(wall)
    result_rows = body["row_count"]

    con = duckdb.connect(config={"threads": os.cpu_count() or 2})
    duck_files = []
    for i in range(repeats):
        started = time.perf_counter()
        con.execute(SQL.format(src="read_parquet($files)", x=5 + i / 1000),
                    {"files": files}).fetchall()
        duck_files.append(time.perf_counter() - started)
    table = pq.read_table(files)
    con.register("events", table)
    duck_mem = []
    for i in range(repeats):
        started = time.perf_counter()
        con.execute(SQL.format(src="events", x=5 + i / 1000)).fetchall()
        duck_mem.append(time.perf_counter() - started)
    frame = table.to_pandas()
    del table
    pandas_s = []
    for i in range(repeats):
        started = time.perf_counter()
        f = frame[(frame.amount > 5 + i / 1000) & (frame.device != "tv")]
        f = f.assign(eur=f.amount * 0.92, ts_day=f.ts.dt.floor("D"))
        f.groupby(["country", "ts_day"]).agg(count=("eur", "size"), eur_sum=("eur", "sum"),
                                            amount_mean=("amount", "mean"))
        pandas_s.append(time.perf_counter() - started)
    del frame, f
    ray_data_s = ray_data_query(files, ray_env, repeats=max(1, repeats // 2))

    # ETL: filter, derive, cast, dedupe, aggregate -> Parquet.
    spec = {"source": {"dataset": f"events_{rows}"}, "steps": [
        {"op": "filter", "expr": "amount > 1 and device != 'tv'"},
        {"op": "derive", "column": "eur", "expr": "round(amount * 0.92, 2)"},
        {"op": "cast", "columns": {"user_id": "string"}},
        {"op": "dedupe", "columns": ["event_id"]},
        {"op": "aggregate", "group_by": ["country", "device"], "aggregations": [
            {"op": "count"}, {"op": "sum", "column": "eur"},
            {"op": "count_distinct", "column": "user_id"}]}],
        "sink": {"dataset": f"etl_{rows}"}}
    job, etl_wall = api.run_pipeline(f"etl_{rows}", spec)
    started = time.perf_counter()
    f = pd.read_parquet(source)
    f = f[(f.amount > 1) & (f.device != "tv")]
    f = f.assign(eur=(f.amount * 0.92).round(2), user_id=f.user_id.astype(str))
    f = f.drop_duplicates(subset=["event_id"])
    agg = f.groupby(["country", "device"]).agg(count=("eur", "size"), eur_sum=("eur", "sum"),
                                               user_id_count_distinct=("user_id", "nunique"))
    agg.reset_index().to_parquet(work / f"pandas_etl_{rows}.parquet")
    pandas_etl = time.perf_counter() - started
    del f
    out.update({
        "result_rows": result_rows,
        "helio_cold_server_ms": median_ms(cold_server),
        "helio_cold_wall_ms": median_ms(cold_wall),
        "helio_cached_server_ms": median_ms(cached_server),
        "helio_cached_wall_ms": median_ms(cached_wall),
        "duckdb_parquet_ms": median_ms(duck_files),
        "duckdb_memory_ms": median_ms(duck_mem),
        "pandas_memory_ms": median_ms(pandas_s),
        "ray_data_groupby_ms": median_ms(ray_data_s),
        "etl_helio_job_s": job["result"]["elapsed_s"],
        "etl_helio_wall_s": round(etl_wall, 2),
        "etl_pandas_s": round(pandas_etl, 2),
        "etl_rows_out": job["result"]["rows_out"],
        "etl_steps": job["result"]["steps"],
    })
    out["cold_vs_duckdb_parquet"] = round(out["helio_cold_server_ms"] / out["duckdb_parquet_ms"],
                                          2)
    out["etl_throughput_vs_pandas_job"] = round(pandas_etl / job["result"]["elapsed_s"], 2)
    out["etl_throughput_vs_pandas_wall"] = round(pandas_etl / etl_wall, 2)
    return out


def ray_data_query(files: list[str], ray_env: dict[str, str], repeats: int) -> list[float]:
    """Ray Data's default path, as a driver on the same cluster (its own process)."""
    code = f"""
import json, time, ray, ray.data
from ray.data.aggregate import Count, Mean, Sum
ray.init(address="auto", log_to_driver=False)
files = {files!r}
times = []
for i in range({repeats}):
    t = time.perf_counter()
    x = 5 + i / 1000
    def prepare(b, x=x):
        b = b[(b.amount > x) & (b.device != "tv")]
        return b.assign(eur=b.amount * 0.92, ts_day=b.ts.dt.floor("D"))
    ds = ray.data.read_parquet(files).map_batches(prepare, batch_format="pandas")
    ds.groupby(["country", "ts_day"]).aggregate(Count(), Sum("eur"), Mean("amount")).materialize()
    times.append(time.perf_counter() - t)
print("RESULT" + json.dumps(times))
"""
    from cluster.ray_auth import ray_auth_env

    env = {**ray_env, **ray_auth_env(Path(ray_env["HELIO_HOME"]), ray_env),
           "RAY_ADDRESS": f"127.0.0.1:{ray_env['HELIO_RAY_PORT']}"}
    done = subprocess.run([str(BIN / "python"), "-c", code], env=env, capture_output=True,
                          text=True, timeout=3600, check=False)
    for line in done.stdout.splitlines():
        if line.startswith("RESULT"):
            return list(json.loads(line[6:]))
    raise RuntimeError(f"Ray Data run failed: {done.stderr[-3000:]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[5_000_000, 20_000_000])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="helio-bench-analytics-"))
    env, port = helio_cluster("auto")
    base = f"http://127.0.0.1:{port}"
    results: dict[str, Any] = {"machine": {"cpus": os.cpu_count()}, "sizes": []}
    try:
        api = Api(base, login(base))
        for rows in args.rows:
            results["sizes"].append(bench_size(api, rows, work, args.repeats, env))
    finally:
        subprocess.run([str(BIN / "helio"), "down"], env=env, check=False, timeout=120)
    header = (f"{'rows':>11} {'helio cold':>11} {'cached srv':>10} {'cached wall':>11} "
              f"{'duckdb pq':>9} {'duckdb mem':>10} {'pandas':>8} {'ray data':>9} "
              f"{'cold/duck':>9} | {'etl helio':>9} {'etl wall':>8} {'etl pandas':>10} "
              f"{'thr×pd':>6}")
    print(header)
    for r in results["sizes"]:
        print(f"{r['rows']:>11,} {r['helio_cold_server_ms']:>9.1f}ms "
              f"{r['helio_cached_server_ms']:>8.3f}ms {r['helio_cached_wall_ms']:>9.2f}ms "
              f"{r['duckdb_parquet_ms']:>7.1f}ms {r['duckdb_memory_ms']:>8.1f}ms "
              f"{r['pandas_memory_ms']:>6.0f}ms {r['ray_data_groupby_ms']:>7.0f}ms "
              f"{r['cold_vs_duckdb_parquet']:>9.2f} | {r['etl_helio_job_s']:>8.2f}s "
              f"{r['etl_helio_wall_s']:>7.2f}s {r['etl_pandas_s']:>9.2f}s "
              f"{r['etl_throughput_vs_pandas_job']:>6.2f}")
    out = ROOT / "benchmarks" / "results" / "analytics.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
