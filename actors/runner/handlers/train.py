"""Training: fit, cross-validate (folds as parallel Ray tasks), register the version."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from actors.runner.common import JobCancelled, JobFailed, connect_ray, model_dir, with_progress
from actors.runner.context import JobContext
from cluster.catalog import jobs as catalog_jobs
from cluster.models import Job
from pipelines import engine, registry
from pipelines.inference import embed_map
from pipelines.text import encoder_name


def run(ctx: JobContext, job: Job) -> dict[str, Any]:
    """Fit on the dataset version; cross-validation folds run as parallel Ray tasks; the
    artifact (skops) and the registry row are written only when everything succeeded."""
    import pyarrow.parquet as pq
    import ray

    from pipelines.training import TrainSpec, check_spec, train

    fields = {k: v for k, v in job.spec.items() if k in TrainSpec.model_fields}
    spec = TrainSpec.model_validate(fields)
    source = ctx.resolve(job.spec["dataset_id"], job.spec.get("version"))
    problems = check_spec(spec, source.schema)
    if problems:
        raise JobFailed("; ".join(f"{'.'.join(map(str, loc))}: {msg}" for loc, msg in problems))
    ctx.progress(0.05, force=True)
    connect_ray()
    encoder: dict[str, Any] | None = None
    if spec.task == "text_classification":
        import ray.data

        from pipelines.training import feature_columns

        directory = model_dir(ctx)
        text = feature_columns(spec, source.schema)[0]
        ds = ray.data.read_parquet(source.files, columns=[text, spec.target])
        frame = with_progress(
            ctx, lambda: embed_map(ds, text, directory).to_pandas(), lambda: 0.3)
        encoder = {"encoder": encoder_name(directory), "dim": len(frame.iloc[0][
            "__embedding"]) if len(frame) else 0}
    else:
        frame = pq.read_table(source.files).to_pandas()

    def run_parallel(calls: list[Callable[[], float]]) -> list[float]:
        task: Any = ray.remote(num_cpus=1)(lambda call: call())
        return list(ray.get([task.remote(c) for c in calls]))

    try:
        model, info = train(spec, frame, source.schema, run_parallel=run_parallel,
                            encoder=encoder)
    except ValueError as exc:
        raise JobFailed(f"training failed: {exc}") from None
    ctx.progress(0.9, force=True)
    result: dict[str, Any] = ctx.db(_register(ctx, job, spec, source, model, info))
    return result


async def _register(ctx: JobContext, job: Job, spec: Any, source: engine.ResolvedInput,
                    model: Any, info: dict[str, Any]) -> dict[str, Any]:
    from sqlalchemy import func
    from sqlalchemy.exc import IntegrityError

    from cluster.models import MLModel, ModelVersion

    for _ in range(5):
        async with ctx.sessions() as session:
            # Registered once per job: a retry of a job whose earlier attempt registered
            # gets that version back; an attempt that lost the job registers nothing.
            earlier = await session.scalar(select(ModelVersion).where(
                ModelVersion.job_id == job.id))
            if earlier is not None:
                return {"model": spec.model, "version": earlier.version,
                        "metrics": info["metrics"], "params": info["params"],
                        "train_rows": info["train_rows"], "timings": info["timings"]}
            if not await catalog_jobs.holds(session, job.id, ctx.attempt):
                ctx.cancelled.set()
                raise JobCancelled("the job was cancelled or taken over")
            row = (await session.execute(select(MLModel).where(MLModel.name == spec.model))
                   ).scalar_one_or_none()
            # Training a new version of an existing model is a write to it.
            await ctx.check_write_async(row, "model")
            if row is None:
                row = MLModel(name=spec.model, description=spec.description,
                              owner_id=job.owner_id, aliases={})
                session.add(row)
                await session.flush()
            current = await session.scalar(select(func.max(ModelVersion.version))
                                           .where(ModelVersion.model_id == row.id))
            number = (current or 0) + 1
            path = registry.artifact_path(ctx.settings.resolved_data_root, spec.model, number)
            size = registry.save(model, path)
            session.add(ModelVersion(
                model_id=row.id, version=number, status="ready", task=spec.task,
                algorithm=spec.algorithm, target=spec.target, features=info["features"],
                classes=info["classes"], params=info["params"],
                metrics={**info["metrics"], "cv": info["cv"],
                         "diagnostics": info["diagnostics"]},
                feature_importances=info["feature_importances"], artifact_path=str(path),
                train_rows=info["train_rows"], timings=info["timings"],
                lineage={"dataset_id": source.dataset_id, "dataset_version": source.version,
                         "job_id": str(job.id), "test_rows": info["test_rows"]},
                job_id=job.id))
            try:
                await session.commit()
            except IntegrityError:
                continue  # a concurrent training took this number
            return {"model": spec.model, "version": number, "metrics": info["metrics"],
                    "params": info["params"], "train_rows": info["train_rows"],
                    "artifact_bytes": size, "timings": info["timings"]}
    raise JobFailed("could not allocate a model version; too many concurrent trainings")
