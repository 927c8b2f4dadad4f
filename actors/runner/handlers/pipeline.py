"""A pipeline run: the spec resolved through the catalog (the same resolver the API
checked it with), executed on the plan its size calls for (one DuckDB statement in a Ray
task, or partition-parallel on Ray Data; pipelines/plan.py), published as the sink's next
version."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from actors.runner.common import JobFailed, PeakRss, connect_ray, model_dir, with_progress
from actors.runner.context import JobContext, as_input
from cluster.models import Job
from pipelines import engine, plan
from pipelines import spec as s


def run(ctx: JobContext, job: Job) -> dict[str, Any]:
    started = time.perf_counter()
    memory = PeakRss()
    pipeline = s.PipelineSpec.model_validate(job.spec["pipeline"])
    try:
        resolved = ctx.resolve_spec(pipeline)
    except s.SpecError as exc:
        where = ".".join(str(p) for p in exc.loc)
        raise JobFailed(f"{where}: {exc}" if where else str(exc)) from None
    source = as_input(*resolved.source)
    joins = {key: as_input(*found) for key, found in resolved.joins.items()}
    models = resolved.models
    schemas = resolved.schemas
    ctx.log(f"pipeline: {len(pipeline.steps)} steps on {pipeline.source.dataset} "
            f"v{source.version} ({source.num_rows} rows) into {pipeline.sink.dataset}")
    connect_ray()
    phases = {"resolve_s": round(time.perf_counter() - started, 3)}
    how = plan.choose(source, list(joins.values()), pipeline.steps,
                      mode=ctx.settings.engine_plan if pipeline.plan == "auto" else pipeline.plan,
                      local_max_bytes=ctx.settings.engine_local_max_bytes)
    staged = ctx.staging_for(pipeline.sink.dataset)
    if how == "local":
        compiled = plan.compile_local(source, pipeline.steps, schemas,
                                      lambda j: joins[(j.dataset, j.version)])
        meta, snapshot = _run_local(ctx, compiled, staged)
    else:
        meta, snapshot = _run_distributed(ctx, pipeline, source, joins, models, schemas, staged)
    phases["run_s"] = round(time.perf_counter() - started - phases["resolve_s"], 3)
    meta["columns"] = [{"name": n, "type": t} for n, t in schemas[-1].items()]
    inputs = [{"dataset_id": source.dataset_id, "version": source.version}]
    inputs += [{"dataset_id": r.dataset_id, "version": r.version} for r in joins.values()]
    version = ctx.publish_output(
        sink=pipeline.sink, staged=staged, meta=meta,
        lineage={"inputs": inputs, "pipeline_id": job.spec.get("pipeline_id"),
                 "job_id": str(job.id)},
        source={"kind": "pipeline", "pipeline_id": job.spec.get("pipeline_id")})
    steps = [{"index": i, "op": step.op, "rows_out": snapshot["rows"].get(i),
              "kernel_seconds": (round(snapshot["seconds"][i], 4)
                                 if i in snapshot["seconds"] else None)}
             for i, step in enumerate(pipeline.steps)]
    ctx.log(f"plan: {how}")
    for step in steps:
        if step["rows_out"] is not None:
            ctx.log(f"step {step['index']} {step['op']}: {step['rows_out']} rows, "
                    f"{step['kernel_seconds']} s")
    return {"dataset_id": str(version.dataset_id), "dataset": pipeline.sink.dataset,
            "version": version.version, "rows_in": snapshot["source_rows"],
            "rows_out": version.num_rows, "bytes_out": version.num_bytes, "steps": steps,
            "plan": how, "elapsed_s": round(time.perf_counter() - started, 3),
            "phases": {**phases, "publish_s": round(
                time.perf_counter() - started - phases["resolve_s"] - phases["run_s"], 3)},
            **memory.summary()}


def _run_local(ctx: JobContext, compiled: plan.LocalPlan, staged: Path
               ) -> tuple[dict[str, Any], dict[str, Any]]:
    """The whole pipeline as one DuckDB statement in one Ray task with the node's threads.
    Per-step row counts are not observable inside one statement: the result reports the
    input's and the output's."""
    import ray

    from actors.runner.pool import pool_size
    from cluster.storage import parquet_meta

    memory = ctx.settings.engine_local_memory or plan.memory_limit(pool_size(ctx.settings))
    ref = plan.remote_run(1).remote(compiled, staged, ctx.root.job_dir(ctx.job_id) / "scratch",
                                    threads=None, memory=memory)
    try:
        written = with_progress(ctx, lambda: ray.get(ref), lambda: 0.0)
    except BaseException:
        ray.cancel(ref, force=True)
        raise
    ctx.log(f"one DuckDB statement: {written['rows']} rows in {written['seconds']} s")
    meta = parquet_meta(staged)
    last = len(compiled.selects) - 2
    snapshot = {"source_rows": compiled.source_rows,
                "rows": {last: written["rows"]} if last >= 0 else {},
                "seconds": {last: written["seconds"]} if last >= 0 else {}}
    return meta, snapshot


def _run_distributed(ctx: JobContext, pipeline: s.PipelineSpec, source: engine.ResolvedInput,
                     joins: dict[Any, engine.ResolvedInput], models: dict[Any, Any],
                     schemas: list[dict[str, str]], staged: Path
                     ) -> tuple[dict[str, Any], dict[str, Any]]:
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    # Bookkeeping lives next to this process: a worker node that goes away mid-run must
    # not take the step counters (and with them the run) along.
    here = NodeAffinitySchedulingStrategy(ray.get_runtime_context().get_node_id(), soft=False)
    stats: Any = ray.remote(engine.StepStats).options(
        num_cpus=0, scheduling_strategy=here, enable_task_events=False).remote()
    scratch = ctx.root.job_dir(ctx.job_id) / "scratch"
    cpus = ray.cluster_resources().get("CPU", 1)  # type: ignore[no-untyped-call]
    needs_nlp = any(isinstance(step, s.Embed) or (isinstance(step, s.Predict) and any(
        f["type"] == "text" for f in models[(step.model, step.version, step.alias)]["features"]))
        for step in pipeline.steps)
    executor = engine.Executor(scratch=scratch, stats=stats, cpus=max(1, int(cpus)),
                               data_root=Path(ctx.settings.resolved_data_root),
                               nlp_model_dir=model_dir(ctx) if needs_nlp else None)

    def work() -> dict[str, int]:
        ds = executor.build(source, pipeline.steps, schemas,
                            lambda j: joins[(j.dataset, j.version)],
                            lambda p: models[(p.model, p.version, p.alias)])
        return engine.write_output(ds, staged, schemas[-1])

    def fraction() -> float:
        seen = ray.get(stats.snapshot.remote(), timeout=5)["source_rows"]
        return 0.95 * seen / source.num_rows if source.num_rows else 0.0

    try:
        meta = with_progress(ctx, work, fraction)
        snapshot = ray.get(stats.snapshot.remote(), timeout=10)
    finally:
        ray.kill(stats)
    return meta, snapshot
