"""The dashboard's speed, in one run: production bundle size (gzip) per chunk and the
initial JS a first visit downloads; time to first render of Overview and to its first
live metric in headless Chromium against a real `helio up` (signed-in reloads); the time
until every chart of a 12-chart dashboard on a 200,000-row flights table is drawn (the
first, cold visit and the median of reloads); the main-thread cost of a live chart with
10 series updated once a second.

Targets: initial JS <= 250 kB gzip; Overview rendered (interactive) <= 1.5 s; a 12-chart
dashboard drawn <= 2 s.
Needs Node.js and Debian's chromium. Prints a table and writes JSON to
benchmarks/results/frontend.json. Run from the repository root.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
from _common import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    BIN,
    ROOT,
    free_port,
    helio_cluster,
    login,
    wait_http,
)

FRONTEND = ROOT / "frontend"


def gzip_size(path: Path) -> int:
    return len(gzip.compress(path.read_bytes(), compresslevel=9))


def bundle(dist: Path) -> dict[str, Any]:
    """Per-chunk raw and gzip sizes; `initial` is what index.html loads up front (its entry
    script, modulepreloads and stylesheets), the rest loads per page."""
    html = (dist / "index.html").read_text()
    initial = set(re.findall(r'(?:src|href)="/(assets/[^"]+\.(?:js|css))"', html))
    chunks = []
    for path in sorted((dist / "assets").iterdir()):
        if path.suffix not in (".js", ".css"):
            continue
        name = f"assets/{path.name}"
        chunks.append({"chunk": name, "bytes": path.stat().st_size, "gzip": gzip_size(path),
                       "initial": name in initial})
    initial_js = sum(c["gzip"] for c in chunks if c["initial"] and c["chunk"].endswith(".js"))
    return {"chunks": chunks, "initial_js_gzip": initial_js,
            "total_gzip": sum(c["gzip"] for c in chunks)}


def flights(rows: int, seed: int = 0) -> pd.DataFrame:
    """A table shaped like nycflights13's flights: a year of hourly departures."""
    rng = np.random.default_rng(seed)
    start = np.datetime64("2013-01-01T05:00")
    carriers = np.array(["UA", "B6", "EV", "DL", "AA", "MQ", "US", "9E", "WN", "VX"])
    weights = np.linspace(2, 0.2, len(carriers))
    return pd.DataFrame({
        "time_hour": start + rng.integers(0, 365 * 24, rows).astype("timedelta64[h]"),
        "origin": rng.choice(["EWR", "JFK", "LGA"], rows),
        "carrier": rng.choice(carriers, rows, p=weights / weights.sum()),
        "dep_delay": np.round(rng.gamma(1.2, 12, rows) - 8, 0),
        "distance": rng.integers(80, 4900, rows),
        "air_time": rng.integers(20, 690, rows).astype(float),
    })


CHARTS: list[tuple[str, str, dict[str, Any], str, list[str]]] = [
    # (title, kind, query, x, y)
    ("Flights per month", "line", {"group_by": [{"column": "time_hour", "bucket": "month"}],
     "aggregations": [{"op": "count"}], "order_by": [{"column": "time_hour_month"}]},
     "time_hour_month", ["count"]),
    ("Mean delay per month", "area", {"group_by": [{"column": "time_hour", "bucket": "month"}],
     "aggregations": [{"op": "mean", "column": "dep_delay"}],
     "order_by": [{"column": "time_hour_month"}]}, "time_hour_month", ["dep_delay_mean"]),
    ("Flights by carrier", "bar", {"group_by": ["carrier"], "aggregations": [{"op": "count"}]},
     "carrier", ["count"]),
    ("Flights by origin", "pie", {"group_by": ["origin"], "aggregations": [{"op": "count"}]},
     "origin", ["count"]),
    ("Total flights", "big_number", {"aggregations": [{"op": "count"}]}, "count", ["count"]),
    ("Mean distance by carrier", "bar", {"group_by": ["carrier"], "aggregations": [
        {"op": "mean", "column": "distance"}]}, "carrier", ["distance_mean"]),
    ("Delay by origin and carrier", "heatmap", {"group_by": ["carrier", "origin"],
     "aggregations": [{"op": "mean", "column": "dep_delay"}]}, "carrier", ["dep_delay_mean"]),
    ("Flights per day", "line", {"group_by": [{"column": "time_hour", "bucket": "day"}],
     "aggregations": [{"op": "count"}], "order_by": [{"column": "time_hour_day"}]},
     "time_hour_day", ["count"]),
    ("Longest mean air time", "table", {"group_by": ["carrier"], "aggregations": [
        {"op": "mean", "column": "air_time"}, {"op": "max", "column": "distance"}]},
     "carrier", ["air_time_mean", "distance_max"]),
    ("Share by origin", "donut", {"group_by": ["origin"], "aggregations": [
        {"op": "sum", "column": "distance"}]}, "origin", ["distance_sum"]),
    ("Distance against air time", "scatter", {"group_by": ["carrier"], "aggregations": [
        {"op": "mean", "column": "distance"}, {"op": "mean", "column": "air_time"}]},
     "distance_mean", ["air_time_mean"]),
    ("Flights per month by origin", "bar", {"group_by": [
        {"column": "time_hour", "bucket": "month"}, "origin"], "aggregations": [{"op": "count"}],
        "order_by": [{"column": "time_hour_month"}]}, "time_hour_month", ["count"]),
]


def make_dashboard(base: str, rows: int) -> str:
    """Upload the flights table and a 12-chart dashboard on it; returns the dashboard id."""
    auth = {"Authorization": f"Bearer {login(base)}"}
    buffer = flights(rows).to_parquet(index=False)
    with httpx.Client(base_url=base, headers=auth, timeout=300) as http:
        dataset = http.post("/api/v1/datasets", data={"name": "flights"},
                            files={"file": ("flights.parquet", buffer)})
        dataset.raise_for_status()
        dataset_id = dataset.json()["id"]
        charts = [{"id": f"c{i}", "title": title, "dataset_id": dataset_id, "kind": kind,
                   "query": {"limit": 5000, **query}, "x": x, "y": y,
                   "series": "origin" if title.endswith("by origin") and kind == "bar" else None,
                   "layout": {"x": (i % 3) * 4, "y": (i // 3) * 7, "w": 4, "h": 7}}
                  for i, (title, kind, query, x, y) in enumerate(CHARTS)]
        board = http.post("/api/v1/dashboards", json={"name": "Flights", "charts": charts})
        board.raise_for_status()
        return str(board.json()["id"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--loads", type=int, default=7)
    parser.add_argument("--chart-seconds", type=int, default=20)
    parser.add_argument("--rows", type=int, default=200_000, help="rows of the flights table")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/frontend.json")
    args = parser.parse_args()
    chromium = os.environ.get("HELIO_CHROMIUM", "/usr/lib/chromium/chromium")
    if shutil.which("npm") is None or not Path(chromium).exists():
        sys.exit("needs Node.js (npm) and chromium (apt-get install -y chromium)")

    subprocess.run(["npm", "run", "build"], cwd=FRONTEND, check=True, capture_output=True)
    subprocess.run(["npx", "vite", "build", "--mode", "bench"], cwd=FRONTEND, check=True,
                   capture_output=True)
    sizes = bundle(FRONTEND / "dist")

    env, port = helio_cluster("on")
    static_port = free_port()
    static = subprocess.Popen([sys.executable, "-m", "http.server", str(static_port), "--bind",
                               "127.0.0.1", "--directory", str(FRONTEND / "dist-bench")],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_http(f"http://127.0.0.1:{static_port}/bench.html")
        dashboard_id = make_dashboard(base, args.rows)
        out = subprocess.run(
            ["node", "scripts/bench-browser.mjs"], cwd=FRONTEND, check=True, text=True,
            capture_output=True, timeout=600,
            env={**os.environ, "HELIO_URL": base, "HELIO_EMAIL": ADMIN_EMAIL,
                 "HELIO_PASSWORD": ADMIN_PASSWORD, "HELIO_CHROMIUM": chromium,
                 "BENCH_URL": f"http://127.0.0.1:{static_port}", "LOADS": str(args.loads),
                 "CHART_SECONDS": str(args.chart_seconds), "DASHBOARD_ID": dashboard_id,
                 "DASHBOARD_CHARTS": str(len(CHARTS))}).stdout
        timings = json.loads(out.strip().splitlines()[-1])
    finally:
        static.terminate()
        subprocess.run([str(BIN / "helio"), "down"], env=env, check=False, timeout=120)
        shutil.rmtree(env["HELIO_HOME"], ignore_errors=True)

    print(f"{'chunk':48} {'raw kB':>8} {'gzip kB':>8} {'initial':>8}")
    for c in sorted(sizes["chunks"], key=lambda c: -c["gzip"]):
        print(f"{c['chunk']:48} {c['bytes'] / 1000:>8.1f} {c['gzip'] / 1000:>8.1f} "
              f"{'yes' if c['initial'] else '':>8}")
    initial_kb = sizes["initial_js_gzip"] / 1000
    render = timings["overview_render_ms"]["median"]
    chart = timings["chart_update_ms"]
    print(f"\ninitial JS (gzip): {initial_kb:.1f} kB (target <= 250)")
    print(f"Overview first render (signed-in reload, median of {args.loads}): {render} ms "
          f"(target <= 1500); first live metric: "
          f"{timings['overview_first_metric_ms']['median']} ms")
    board = timings["dashboard_render_ms"]
    print(f"{len(CHARTS)}-chart dashboard on {args.rows:,} rows, every chart drawn: first "
          f"(cold) visit {board['first']} ms, reloads median {board['median']} ms "
          f"(target <= 2000)")
    frame = timings["chart_update_to_next_frame_ms"]
    print(f"live chart, 10 series x 120 points, 1 update/s: main-thread work median "
          f"{chart['median']:.2f} ms, p95 {chart['p95']:.2f} ms per update ({chart['samples']} "
          f"updates); update to painted frame median {frame['median']:.2f} ms")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "benchmark": "frontend", "bundle": sizes, **timings,
        "rows": args.rows,
        "targets_met": initial_kb <= 250 and render <= 1500 and board["median"] <= 2000
        and board["first"] <= 2000}, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
