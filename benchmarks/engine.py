"""The data engine against in-process pandas, Polars and DuckDB, side by side in one run.

One `helio up` on free ports (embedded defaults, the warm job runner), then:
  - **ETL** (filter -> derive -> cast -> dedupe -> aggregate -> Parquet, the pipeline of
    benchmarks/analytics.py) at each `--etl-rows` size: Helio's pipeline job end to end
    (submit to published, once the upload's profile job is done; the first run and the
    median of the next `--repeats`), against
    pandas (read, transform, write), Polars (lazy scan, sink) and DuckDB (the same ETL as one
    `COPY (SELECT …)` statement) over the same Parquet file; `--two-node` runs the largest
    size again after a second `ray start` joined the cluster, on both plans.
  - **Group-by**: the H2O.ai / DuckDB Labs db-benchmark questions on its `G1_<N>_1e2_0_0`
    data, generated as its `groupby-datagen.R` does (K=100, no NAs, unsorted): q1-q6 and
    q10 through `POST /datasets/{id}/query` (q7-q9 need post-aggregate expressions, top-n
    per group and correlation, which the query API does not have), cold (each repeat
    differs by an always-true filter, so nothing is cached) and cached (server-side
    `elapsed_ms`), against DuckDB and Polars over the version's own Parquet files and
    pandas over an in-memory DataFrame (loading not timed). Every engine computes the
    whole aggregation and hands back what the API returns by default, its first 1,001
    rows (DuckDB `LIMIT`, Polars `head`; pandas builds the whole result first).

Prints tables and writes benchmarks/results/engine.json.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from _common import BIN, ROOT, helio_cluster, login
from analytics import generate
from jobs import Api, etl_spec, pandas_etl

THREADS = os.cpu_count() or 2
API_ROWS = 1000  # what a query returns by default (`limit`)
ETL_SQL = """
COPY (
  WITH f AS (
    SELECT * REPLACE (CAST(user_id AS VARCHAR) AS user_id), round(amount * 0.92, 2) AS eur
    FROM read_parquet({src}) WHERE amount > 1 AND device <> 'tv'),
  d AS (SELECT DISTINCT ON (event_id) * FROM f)
  SELECT country, device, count(*) AS count, sum(eur) AS eur_sum,
         count(DISTINCT user_id) AS user_id_count_distinct
  FROM d GROUP BY country, device
) TO '{out}' (FORMAT parquet)"""


def median(samples: list[float]) -> float:
    return round(statistics.median(samples), 3)


def geomean(values: list[float]) -> float:
    return round(math.exp(sum(math.log(v) for v in values) / len(values)), 3)


# ---------------------------------------------------------------- ETL

def duckdb_etl(source: Path, out: Path) -> float:
    import duckdb

    con = duckdb.connect(config={"threads": THREADS})
    started = time.perf_counter()
    con.execute(ETL_SQL.format(src=f"'{source}'", out=out))
    return time.perf_counter() - started


def polars_etl(source: Path, out: Path) -> float:
    import polars as pl

    started = time.perf_counter()
    (pl.scan_parquet(source)
     .filter((pl.col("amount") > 1) & (pl.col("device") != "tv"))
     .with_columns(eur=(pl.col("amount") * 0.92).round(2), user_id=pl.col("user_id").cast(pl.Utf8))
     .unique(subset=["event_id"], keep="any")
     .group_by("country", "device")
     .agg(count=pl.len(), eur_sum=pl.col("eur").sum(),
          user_id_count_distinct=pl.col("user_id").n_unique())
     .sink_parquet(out))
    return time.perf_counter() - started


def wait_idle(api: Api, timeout_s: float = 600) -> None:
    """Until no job is queued or running (an upload queues a profile job, which would
    otherwise run ahead of the first timed run on a one-runner pool)."""
    deadline = time.monotonic() + timeout_s
    while any(j["status"] in ("queued", "running")
              for j in api.http.get("/jobs", params={"limit": 100}).json()["items"]):
        if time.monotonic() > deadline:
            raise RuntimeError("jobs still running")
        time.sleep(0.5)


def helio_etl(api: Api, rows: int, plan: str, repeats: int, tag: str = "") -> dict[str, Any]:
    pipeline = api.pipeline(f"etl_{rows}_{plan}{tag}", {**etl_spec(rows), "plan": plan})
    runs = [api.run(pipeline, poll_s=0.2) for _ in range(1 + repeats)]
    walls = [r["wall_s"] for r in runs]
    last = runs[-1]["job"]["result"]
    return {"first_s": round(walls[0], 3), "median_s": median(walls[1:] or walls),
            "plan": last["plan"], "rows_out": last["rows_out"], "phases": last.get("phases")}


def bench_etl(api: Api, rows: int, work: Path, repeats: int) -> dict[str, Any]:
    source = work / f"events_{rows}.parquet"
    if not source.exists():
        generate(source, rows, seed=rows)
    print(f"[etl {rows:,}] upload {source.stat().st_size / 1e6:.0f} MB", flush=True)
    api.upload(f"events_{rows}", source)
    wait_idle(api)
    out: dict[str, Any] = {"rows": rows}
    print(f"[etl {rows:,}] helio", flush=True)
    out["helio"] = helio_etl(api, rows, "auto", repeats)
    print(f"[etl {rows:,}] pandas, polars, duckdb", flush=True)
    out["pandas_s"] = median([pandas_etl(source, work / "pandas.parquet") for _ in range(repeats)])
    out["polars_s"] = median([polars_etl(source, work / "polars.parquet") for _ in range(repeats)])
    out["duckdb_s"] = median([duckdb_etl(source, work / "duckdb.parquet") for _ in range(repeats)])
    expected = pq.read_table(work / "duckdb.parquet").num_rows
    assert out["helio"]["rows_out"] == expected, (out["helio"], expected)
    helio = out["helio"]["median_s"]
    out["vs_pandas"] = round(out["pandas_s"] / helio, 2)  # throughput ratio: > 1 is faster
    out["vs_polars"] = round(out["polars_s"] / helio, 2)
    out["vs_duckdb"] = round(out["duckdb_s"] / helio, 2)
    return out


def join_second_node(env: dict[str, str], cpus: int) -> None:
    """A second Ray node on this machine, joined to Helio's cluster (as `ray start` on
    another VM would be)."""
    from cluster.ray_auth import ray_auth_env

    node_env = {**env, **ray_auth_env(Path(env["HELIO_HOME"]), env)}
    subprocess.run([str(BIN / "ray"), "start", f"--address=127.0.0.1:{env['HELIO_RAY_PORT']}",
                    f"--num-cpus={cpus}", "--disable-usage-stats"], env=node_env, check=True,
                   capture_output=True, timeout=180)


# ---------------------------------------------------------------- group-by

def groupby_data(path: Path, n: int, k: int = 100, seed: int = 108) -> None:
    """db-benchmark's G1 table, as groupby-datagen.R draws it (uniform samples with
    replacement; v3 rounded to 6 decimals)."""
    rng = np.random.default_rng(seed)

    def labels(count: int, width: int, size: int) -> pa.Array:
        names = pa.array([f"id{i:0{width}d}" for i in range(1, count + 1)])
        return pa.DictionaryArray.from_arrays(
            pa.array(rng.integers(0, count, size), pa.int32()), names).cast(pa.string())

    writer = None
    chunk = 2_000_000
    for offset in range(0, n, chunk):
        size = min(chunk, n - offset)
        table = pa.table({
            "id1": labels(k, 3, size), "id2": labels(k, 3, size),
            "id3": labels(n // k, 10, size),
            "id4": rng.integers(1, k + 1, size), "id5": rng.integers(1, k + 1, size),
            "id6": rng.integers(1, n // k + 1, size),
            "v1": rng.integers(1, 6, size), "v2": rng.integers(1, 16, size),
            "v3": np.round(rng.uniform(0, 100, size), 6)})
        writer = writer or pq.ParquetWriter(path, table.schema, compression="snappy")
        writer.write_table(table, row_group_size=500_000)
    assert writer is not None
    writer.close()


def _aggs(*pairs: tuple[str, str]) -> list[dict[str, Any]]:
    return [{"op": op, "column": col} for op, col in pairs]


# question -> (group keys, Helio aggregations, DuckDB select list, Polars, pandas)
QUESTIONS: dict[str, tuple[list[str], list[dict[str, Any]], str]] = {
    "q1": (["id1"], _aggs(("sum", "v1")), "sum(v1) AS v1"),
    "q2": (["id1", "id2"], _aggs(("sum", "v1")), "sum(v1) AS v1"),
    "q3": (["id3"], _aggs(("sum", "v1"), ("mean", "v3")), "sum(v1) AS v1, avg(v3) AS v3"),
    "q4": (["id4"], _aggs(("mean", "v1"), ("mean", "v2"), ("mean", "v3")),
           "avg(v1) AS v1, avg(v2) AS v2, avg(v3) AS v3"),
    "q5": (["id6"], _aggs(("sum", "v1"), ("sum", "v2"), ("sum", "v3")),
           "sum(v1) AS v1, sum(v2) AS v2, sum(v3) AS v3"),
    "q6": (["id4", "id5"], [{"op": "quantile", "column": "v3", "q": 0.5, "as": "median_v3"},
                            {"op": "std", "column": "v3", "as": "sd_v3"}],
           "median(v3) AS median_v3, stddev_samp(v3) AS sd_v3"),
    "q10": (["id1", "id2", "id3", "id4", "id5", "id6"],
            [{"op": "sum", "column": "v3"}, {"op": "count"}],
            "sum(v3) AS v3, count(*) AS count"),
}


def polars_question(name: str, source: Any) -> Any:
    import polars as pl

    keys = QUESTIONS[name][0]
    aggs = {
        "q1": [pl.col("v1").sum()], "q2": [pl.col("v1").sum()],
        "q3": [pl.col("v1").sum(), pl.col("v3").mean()],
        "q4": [pl.col("v1").mean(), pl.col("v2").mean(), pl.col("v3").mean()],
        "q5": [pl.col("v1").sum(), pl.col("v2").sum(), pl.col("v3").sum()],
        "q6": [pl.col("v3").median().alias("median_v3"), pl.col("v3").std().alias("sd_v3")],
        "q10": [pl.col("v3").sum(), pl.len().alias("count")],
    }[name]
    return source.group_by(keys).agg(aggs).head(API_ROWS + 1).collect()


def pandas_question(name: str, frame: Any) -> Any:
    keys = QUESTIONS[name][0]
    g = frame.groupby(keys, sort=False, observed=True)
    match name:
        case "q1" | "q2":
            return g.agg(v1=("v1", "sum"))
        case "q3":
            return g.agg(v1=("v1", "sum"), v3=("v3", "mean"))
        case "q4":
            return g.agg(v1=("v1", "mean"), v2=("v2", "mean"), v3=("v3", "mean"))
        case "q5":
            return g.agg(v1=("v1", "sum"), v2=("v2", "sum"), v3=("v3", "sum"))
        case "q6":
            return g.agg(median_v3=("v3", "median"), sd_v3=("v3", "std"))
        case _:
            return g.agg(v3=("v3", "sum"), count=("v3", "size"))


def bench_groupby(api: Api, rows: int, work: Path, repeats: int, home: Path
                  ) -> dict[str, Any]:
    import duckdb
    import polars as pl

    source = work / f"G1_{rows:.0e}_1e2_0_0.parquet".replace("+0", "")
    if not source.exists():
        print(f"[groupby {rows:,}] generating", flush=True)
        groupby_data(source, rows)
    print(f"[groupby {rows:,}] upload {source.stat().st_size / 1e6:.0f} MB", flush=True)
    dataset = api.upload("G1", source)
    wait_idle(api)
    files = sorted(str(p) for p in (home / "data" / "datasets" / dataset["id"] / "v1")
                   .glob("*.parquet"))
    con = duckdb.connect(config={"threads": THREADS})
    lazy = pl.scan_parquet(files)
    frame = pq.read_table(files).to_pandas()
    for column in ("id1", "id2", "id3"):  # as db-benchmark's pandas solution loads them
        frame[column] = frame[column].astype("category")
    results: dict[str, Any] = {"rows": rows, "questions": {}}
    for name, (keys, aggregations, select) in QUESTIONS.items():
        print(f"[groupby {rows:,}] {name}", flush=True)
        cold, wall = [], []
        for i in range(repeats + 1):  # the first also warms the workers; not counted
            body, seconds = api.query(dataset["id"], {
                "filter": f"v1 > {-1 - i}", "group_by": keys, "aggregations": aggregations})
            assert not body["cached"], name
            if i:
                cold.append(body["elapsed_ms"] / 1000)
                wall.append(seconds)
        cached = []
        for _ in range(repeats * 3):
            body, _ = api.query(dataset["id"], {
                "filter": "v1 > -1", "group_by": keys, "aggregations": aggregations})
            assert body["cached"], name
            cached.append(body["elapsed_ms"] / 1000)
        # Each engine does what the API does: the whole aggregation, its first
        # API_ROWS + 1 rows out (pandas cannot stop early: it builds the whole result).
        sql = (f"SELECT {', '.join(keys)}, {select} FROM read_parquet($files) "
               f"WHERE v1 > $x GROUP BY {', '.join(keys)} LIMIT {API_ROWS + 1}")
        duck, polars_s, pandas_s = [], [], []
        for i in range(repeats):
            started = time.perf_counter()
            con.sql(sql, params={"files": files, "x": -1 - i}).to_arrow_table()
            duck.append(time.perf_counter() - started)
            started = time.perf_counter()
            polars_question(name, lazy.filter(pl.col("v1") > -1 - i))
            polars_s.append(time.perf_counter() - started)
            started = time.perf_counter()
            pandas_question(name, frame[frame.v1 > -1 - i]).head(API_ROWS + 1)
            pandas_s.append(time.perf_counter() - started)
        row = {"helio_cold_s": median(cold), "helio_cold_wall_s": median(wall),
               "helio_cached_ms": round(statistics.median(cached) * 1000, 3),
               "duckdb_s": median(duck), "polars_s": median(polars_s),
               "pandas_s": median(pandas_s)}
        row["cold_vs_duckdb"] = round(row["helio_cold_s"] / row["duckdb_s"], 2)
        results["questions"][name] = row
    qs = results["questions"].values()
    results["geomean_cold_vs_duckdb"] = geomean([q["helio_cold_s"] / q["duckdb_s"] for q in qs])
    results["geomean_cold_vs_polars"] = geomean([q["helio_cold_s"] / q["polars_s"] for q in qs])
    results["geomean_cold_vs_pandas"] = geomean([q["helio_cold_s"] / q["pandas_s"] for q in qs])
    return results


# ---------------------------------------------------------------- main

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--etl-rows", type=int, nargs="*", default=[5_000_000, 20_000_000])
    parser.add_argument("--groupby-rows", type=int, default=10_000_000, help="0 skips it")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--two-node", action="store_true",
                        help="then the largest ETL again with a second Ray node joined")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" /
                        "engine.json")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="helio-bench-engine-"))
    results: dict[str, Any] = {"machine": {"cpus": THREADS}, "etl": [], "groupby": None}
    print("helio up ...", flush=True)
    env, port = helio_cluster("off")
    base = f"http://127.0.0.1:{port}"
    try:
        api = Api(base, login(base))
        for rows in args.etl_rows:
            results["etl"].append(bench_etl(api, rows, work, args.repeats))
        if args.groupby_rows:
            results["groupby"] = bench_groupby(api, args.groupby_rows, work, args.repeats,
                                               Path(env["HELIO_HOME"]))
        if args.two_node and args.etl_rows:
            rows = max(args.etl_rows)
            print(f"[etl {rows:,}] a second node joins", flush=True)
            join_second_node(env, cpus=THREADS)
            results["two_node"] = {
                "rows": rows,
                "auto": helio_etl(api, rows, "auto", args.repeats, "_2n"),
                "distributed": helio_etl(api, rows, "distributed", args.repeats, "_2n")}
    finally:
        subprocess.run([str(BIN / "helio"), "down"], env=env, check=False, timeout=180)

    print()
    print(f"{'ETL rows':>11} {'helio':>8} {'first':>7} {'plan':>6} {'pandas':>8} {'polars':>8} "
          f"{'duckdb':>8} {'×pandas':>8} {'×polars':>8} {'×duckdb':>8}")
    for r in results["etl"]:
        h = r["helio"]
        print(f"{r['rows']:>11,} {h['median_s']:>7.2f}s {h['first_s']:>6.2f}s {h['plan']:>6} "
              f"{r['pandas_s']:>7.2f}s {r['polars_s']:>7.2f}s {r['duckdb_s']:>7.2f}s "
              f"{r['vs_pandas']:>8.2f} {r['vs_polars']:>8.2f} {r['vs_duckdb']:>8.2f}")
    print("(× = the reference's time / Helio's: above 1, Helio is faster)")
    if results.get("two_node"):
        t = results["two_node"]
        print(f"2 nodes, {t['rows']:,} rows: auto ({t['auto']['plan']}) "
              f"{t['auto']['median_s']:.2f}s, distributed {t['distributed']['median_s']:.2f}s")
    g = results["groupby"]
    if g:
        print()
        print(f"{'q':>4} {'helio cold':>11} {'cached':>9} {'duckdb':>8} {'polars':>8} "
              f"{'pandas':>8} {'cold/duckdb':>12}")
        for name, q in g["questions"].items():
            print(f"{name:>4} {q['helio_cold_s']:>10.3f}s {q['helio_cached_ms']:>7.2f}ms "
                  f"{q['duckdb_s']:>7.3f}s {q['polars_s']:>7.3f}s {q['pandas_s']:>7.3f}s "
                  f"{q['cold_vs_duckdb']:>12.2f}")
        print(f"geometric mean, Helio cold / reference: DuckDB {g['geomean_cold_vs_duckdb']}, "
              f"Polars {g['geomean_cold_vs_polars']}, pandas {g['geomean_cold_vs_pandas']} "
              f"(below 1, Helio is faster)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
