"""Model serving throughput and latency, side by side in one run, on a cluster started by
`helio up` (HAProxy ingress, embedded defaults).

Predictions (a histogram-gradient-boosting churn model trained through the API on 20k
generated rows, four features incl. a categorical one):
  (a) direct in-process loop: `predict_records` on one record at a time (the reference the
      HTTP path must beat), and on 32 at a time (the physical ceiling of the model);
  (b) `POST /api/v1/models/churn/predict`, one record per request, through HTTP with an
      API key, with `@serve.batch` (max_batch_size 64) and without (max_batch_size 1),
      switched live through the deployment's user_config. Every request carries a
      different record, so the prediction cache never answers.
Embeddings (MiniLM, 384 dims):
  (c) direct batched forward pass, batch 32, 2 torch threads, in this process;
  (d) `POST /api/v1/nlp/embed`: one text per request from 32 connections (Serve batches
      texts of concurrent requests), and 32 texts per request.
Autoscaling: seconds from the start of sustained load (64 connections on predict) until
a second TabularPredictor replica is RUNNING.

Load comes from `wrk` with a Lua script that builds a different body for every request.
Each HTTP cell is the median of --repeats runs. Prints a table and writes JSON to
benchmarks/results/serving.json. Run from the repository root.
"""

from __future__ import annotations

import argparse
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
import numpy as np
import pandas as pd
from _common import BIN, ROOT, customers, helio_cluster, login, measure, set_plan, train_churn

WORDS = ("the a customer quickly reported that our new dashboard shows revenue growth in "
         "every region while support tickets about billing errors dropped after the last "
         "release of the mobile app and the team plans to expand analytics for small "
         "businesses next quarter").split()

# Every request gets a different record: the thread id and a counter make it unique.
PREDICT_LUA = """
local counter = 0
local tid = 0
local threads_seen = 0
function setup(thread)
  threads_seen = threads_seen + 1
  thread:set("thread_id", threads_seen)  -- a global in that thread's Lua state
end
function init(args)
  tid = thread_id or 0
  math.randomseed(os.time() + tid * 7919)
end
local plans = {"basic", "pro", "team"}
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  counter = counter + 1
  local body = string.format(
    '{"records":[{"age":%d,"income":%.6f,"plan":"%s","member":%s}]}',
    math.random(18, 80), 20 + (counter % 100000) / 1000 + tid / 1e6,
    plans[math.random(1, 3)], math.random() < 0.4 and "true" or "false")
  return wrk.format(nil, nil, nil, body)
end
"""

EMBED_LUA = """
local words = {%(words)s}
local per_request = %(per_request)d
local counter = 0
local threads_seen = 0
function setup(thread)
  threads_seen = threads_seen + 1
  thread:set("thread_id", threads_seen)
end
function init(args)
  math.randomseed(os.time() + (thread_id or 0) * 104729)
end
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local function sentence()
  local parts = {}
  for i = 1, 14 do parts[i] = words[math.random(1, #words)] end
  counter = counter + 1
  return table.concat(parts, " ") .. " " .. counter
end
request = function()
  local texts = {}
  for i = 1, per_request do texts[i] = '"' .. sentence() .. '"' end
  return wrk.format(nil, nil, nil, '{"texts":[' .. table.concat(texts, ",") .. ']}')
end
"""


def random_sentences(n: int, seed: int = 3) -> list[str]:
    rng = np.random.default_rng(seed)
    return [" ".join(rng.choice(WORDS, 14)) + f" {i}" for i in range(n)]


def rate(fn: Any, items: int, repeats: int) -> float:
    """Median items/s of `fn()` over `repeats` runs."""
    runs = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        runs.append(items / (time.perf_counter() - started))
    return statistics.median(runs)


def direct_predictions(data_root: Path, features: list[dict[str, Any]], frame: pd.DataFrame,
                       repeats: int) -> dict[str, float]:
    from pipelines import registry
    from pipelines.training import predict_records

    model = registry.load(registry.artifact_path(data_root, "churn", 1))
    records = frame[[f["name"] for f in features]].head(640).to_dict("records")
    predict_records(model, features, records[:32])  # warm up
    single = rate(lambda: [predict_records(model, features, [r]) for r in records[:300]],
                  300, repeats)
    batched = rate(lambda: [predict_records(model, features, records[i:i + 32])
                            for i in range(0, 640, 32)], 640, repeats)
    return {"single_per_s": single, "batch32_per_s": batched}


def direct_embeddings(repeats: int) -> float:
    from pipelines.text import SentenceEncoder, resolve_model_dir

    encoder = SentenceEncoder(resolve_model_dir(None), threads=2)
    texts = random_sentences(320)
    encoder.encode(texts[:32])  # warm up
    return rate(lambda: [encoder.encode(texts[i:i + 32]) for i in range(0, 320, 32)], 320,
                repeats)


class Cluster:
    def __init__(self, env: dict[str, str], port: int) -> None:
        from cluster.local_ray import cluster_env
        from cluster.settings import Settings

        self.env = env
        self.base = f"http://127.0.0.1:{port}"
        self.settings = Settings(home=Path(env["HELIO_HOME"]), port=port,
                                 haproxy=env["HELIO_HAPROXY"],  # type: ignore[arg-type]
                                 dashboard_port=int(env["HELIO_DASHBOARD_PORT"]))
        self.ray_env = cluster_env(self.settings)
        self.dashboard = f"http://127.0.0.1:{env['HELIO_DASHBOARD_PORT']}"

    def set_batching(self, deployment: str, max_batch_size: int, wait_s: float) -> None:
        """Change a deployment's user_config live (replicas reconfigure, no restart)."""
        from cluster.serve_deploy import deploy, render_serve_config

        config = render_serve_config(self.settings)
        for entry in config["applications"][0]["deployments"]:
            if entry["name"] == deployment:
                entry["user_config"] = {"max_batch_size": max_batch_size,
                                        "batch_wait_timeout_s": wait_s}
        deploy(self.dashboard, config, self.ray_env)
        time.sleep(2.0)

    def replicas(self, deployment: str) -> int:
        from cluster.serve_deploy import _auth_headers

        response = httpx.get(f"{self.dashboard}/api/serve/applications/",
                             headers=_auth_headers(self.ray_env), timeout=10)
        app = response.json()["applications"]["helio"]["deployments"][deployment]
        return sum(1 for r in app.get("replicas", []) if r.get("state") == "RUNNING")


def time_to_scale_up(cluster: Cluster, url: str, headers: dict[str, str], limit_s: int
                     ) -> float | None:
    """Seconds from the start of sustained load until TabularPredictor has 2 replicas."""
    script = Path(tempfile.mkstemp(suffix=".lua")[1])
    script.write_text(PREDICT_LUA)
    cmd = ["wrk", "-t2", "-c64", f"-d{limit_s}s", "-s", str(script)]
    for key, value in headers.items():
        cmd += ["-H", f"{key}: {value}"]
    started = time.monotonic()
    load = subprocess.Popen([*cmd, url], stdout=subprocess.DEVNULL)
    try:
        while time.monotonic() - started < limit_s:
            if cluster.replicas("TabularPredictor") >= 2:
                return time.monotonic() - started
            time.sleep(0.25)
        return None
    finally:
        load.terminate()
        load.wait(timeout=30)
        script.unlink()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--scale-limit", type=int, default=90)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/serving.json")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is required: apt-get install -y wrk")

    frame = customers(args.rows)
    print("direct embeddings (batch 32) ...", flush=True)
    direct_embed = direct_embeddings(args.repeats)
    env, port = helio_cluster("on")
    cluster = Cluster(env, port)
    results: dict[str, Any] = {"cpus": os.cpu_count(), "rows": args.rows}
    try:
        base = cluster.base
        token = login(base)
        auth = {"Authorization": f"Bearer {token}"}
        for role in ("admin", "app"):
            set_plan(base, token, role, "write", 10_000_000, 1_000_000)
        key = httpx.post(f"{base}/api/v1/api-keys", headers=auth, timeout=30,
                         json={"name": "bench", "role": "app"}).json()["key"]
        app = {"X-API-Key": key}
        job, features = train_churn(base, auth, frame)
        print(f"trained churn v1: accuracy {job['result']['metrics']['accuracy']:.3f}",
              flush=True)

        print("direct predictions ...", flush=True)
        results["direct_predict"] = direct_predictions(
            cluster.settings.resolved_data_root, features, frame, args.repeats)

        predict_url = f"{base}/api/v1/models/churn/predict"
        probe = httpx.post(predict_url, headers=app, timeout=30,
                           json={"records": [{"age": 40, "income": 55.5, "plan": "pro",
                                              "member": True}]})
        probe.raise_for_status()
        for label, size, wait in (("batched", 64, 0.002), ("unbatched", 1, 0.0)):
            print(f"HTTP predict, {label} ...", flush=True)
            cluster.set_batching("TabularPredictor", size, wait)
            results[f"http_predict_{label}"] = measure(predict_url, app, args, (1, 32),
                                                       PREDICT_LUA)
        cluster.set_batching("TabularPredictor", 64, 0.002)

        embed_url = f"{base}/api/v1/nlp/embed"
        httpx.post(embed_url, headers=app, json={"texts": ["warm up"]},
                   timeout=120).raise_for_status()
        words = ", ".join(f'"{w}"' for w in WORDS)
        print("HTTP embed ...", flush=True)
        results["http_embed_1"] = measure(embed_url, app, args, (1, 32),
                                          EMBED_LUA % {"words": words, "per_request": 1})
        results["http_embed_32"] = measure(embed_url, app, args, (1, 4),
                                           EMBED_LUA % {"words": words, "per_request": 32})
        results["direct_embed_batch32_per_s"] = direct_embed

        print("autoscaling ...", flush=True)
        results["scale_up_s"] = time_to_scale_up(cluster, predict_url, app, args.scale_limit)
    finally:
        subprocess.run([str(BIN / "helio"), "down"], env=env, check=False, timeout=120)
        shutil.rmtree(env["HELIO_HOME"], ignore_errors=True)

    report(results, args)


def report(results: dict[str, Any], args: argparse.Namespace) -> None:
    direct = results["direct_predict"]
    rows: list[tuple[str, str, float, float | None, float | None, int | None]] = [
        ("(a) direct predict loop, 1 record/call", "-", direct["single_per_s"], None, None,
         None),
        ("(a) direct predict, 32 records/call", "-", direct["batch32_per_s"], None, None, None),
    ]
    for label in ("batched", "unbatched"):
        for conns, r in results[f"http_predict_{label}"].items():
            rows.append((f"(b) HTTP predict 1 record, {label}", str(conns), r["rps"],
                         r["p50_ms"], r["p99_ms"], r["errors"]))
    rows.append(("(c) direct embed, batch 32", "-", results["direct_embed_batch32_per_s"],
                 None, None, None))
    for per, key in ((1, "http_embed_1"), (32, "http_embed_32")):
        for conns, r in results[key].items():
            rows.append((f"(d) HTTP embed, {per} text(s)/request", str(conns),
                         r["rps"] * per, r["p50_ms"], r["p99_ms"], r["errors"]))

    header = (f"{'target':44} {'conns':>5} {'items/s':>9} {'p50 ms':>8} {'p99 ms':>8} "
              f"{'errors':>7}")
    print(header)
    print("-" * len(header))
    for name, conns, per_s, p50, p99, errors in rows:
        def cell(v: float | None) -> str:
            return f"{v:>8.2f}" if v is not None else f"{'':>8}"
        print(f"{name:44} {conns:>5} {per_s:>9.0f} {cell(p50)} {cell(p99)} "
              f"{errors if errors is not None else '':>7}")

    best_predict = max(r["rps"] for r in results["http_predict_batched"].values())
    unbatched = max(r["rps"] for r in results["http_predict_unbatched"].values())
    best_embed = max(max(r["rps"] for r in results["http_embed_1"].values()),
                     32 * max(r["rps"] for r in results["http_embed_32"].values()))
    predict_ratio = best_predict / direct["single_per_s"]
    embed_ratio = best_embed / results["direct_embed_batch32_per_s"]
    scale = results["scale_up_s"]
    print(f"\nHTTP predictions (batched) / direct 1-record loop: {predict_ratio:.2f} "
          f"(target >= 1.0); batched / unbatched HTTP: {best_predict / unbatched:.2f}")
    print(f"HTTP embeddings (best) / direct batch-32 forward pass: {embed_ratio:.2f} "
          f"(target >= 0.70)")
    print("time to add a TabularPredictor replica under load: "
          + (f"{scale:.1f} s" if scale is not None else f"not within {args.scale_limit} s"))

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "benchmark": "serving", **results,
        "predict_http_over_direct": predict_ratio, "embed_http_over_direct": embed_ratio,
        "targets_met": predict_ratio >= 1.0 and embed_ratio >= 0.7,
        "seconds": args.seconds, "repeats": args.repeats,
    }, indent=2, default=str))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
