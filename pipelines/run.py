"""Job driver: `python -m pipelines.run <job-id>` (the entrypoint of every Helio Ray Job).

Reads the job row, marks it running, does the work (pipeline run, profile, SQL ingest,
a user's script), reports progress to the DB and the event hub, and records the
outcome. A cancelled job (SIGTERM from `stop_job`) cleans up its staging files; a
failed one records the error; neither publishes a version.
"""

from __future__ import annotations

import asyncio
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from actors.events import publish_from_driver
from cluster import policy
from cluster.db import create_engine, create_session_factory
from cluster.logging import configure_logging
from cluster.models import Dataset, DatasetVersion, Job, JobKind, JobStatus, Role, User, utcnow
from cluster.security import TokenSigner
from cluster.settings import Settings, load_settings, resolve_jwt_secret
from cluster.storage import DataRoot, parquet_files, parquet_meta
from pipelines import engine, registry
from pipelines import spec as s
from pipelines.inference import embed_map
from pipelines.tables import schema_map
from pipelines.text import encoder_name
from pipelines.versions import find_dataset, get_version, publish

log = structlog.get_logger("helio.job")
PROGRESS_INTERVAL_S = 0.5


class JobCancelled(BaseException):
    """Raised in the driver's main thread when Ray stops the job."""


class JobFailed(Exception):
    """An expected failure with a message for the user (bad spec, missing data)."""


def job_event(job: Job | dict[str, Any]) -> dict[str, Any]:
    row = job if isinstance(job, dict) else {
        "id": str(job.id), "kind": job.kind, "status": job.status, "progress": job.progress,
        "error": job.error}
    return {"type": "job", "job": row}


class Driver:
    def __init__(self, settings: Settings, job_id: uuid.UUID, runner: asyncio.Runner,
                 sessions: async_sessionmaker[AsyncSession]) -> None:
        self.settings = settings
        self.job_id = job_id
        self.runner = runner
        self.sessions = sessions
        self.root = DataRoot(settings.resolved_data_root)
        self.staging: list[Path] = []
        self._last_progress = 0.0
        self.job: Job | None = None

    # ------------------------------------------------------------ bookkeeping

    def _db(self, coro: Any) -> Any:
        return self.runner.run(coro)

    async def _claim(self) -> Job | None:
        async with self.sessions() as session:
            claimed = await session.execute(
                update(Job).where(Job.id == self.job_id, Job.status == JobStatus.queued.value)
                .values(status=JobStatus.running.value, started_at=utcnow(), progress=0.0))
            await session.commit()
            job = await session.get(Job, self.job_id)
            if getattr(claimed, "rowcount", 0) != 1:
                return None
            return job

    async def _update(self, **values: Any) -> None:
        async with self.sessions() as session:
            await session.execute(update(Job).where(
                Job.id == self.job_id, Job.status == JobStatus.running.value).values(**values))
            await session.commit()

    async def _finish(self, status: JobStatus, **values: Any) -> None:
        async with self.sessions() as session:
            await session.execute(update(Job).where(
                Job.id == self.job_id,
                or_(Job.status == JobStatus.running.value, Job.status == JobStatus.queued.value))
                .values(status=status.value, finished_at=utcnow(), **values))
            await session.commit()

    def event(self, **fields: Any) -> None:
        publish_from_driver(fields, self.settings.actor_namespace)

    def progress(self, value: float, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_progress < PROGRESS_INTERVAL_S:
            return
        self._last_progress = now
        value = max(0.0, min(1.0, value))
        self._db(self._update(progress=value))
        assert self.job is not None
        self.event(type="job", job={"id": str(self.job_id), "kind": self.job.kind,
                                    "status": "running", "progress": value})

    # ------------------------------------------------------------ lifecycle

    def run(self) -> int:
        job = self._db(self._claim())
        if job is None:
            log.info("job_not_queued", job_id=str(self.job_id))
            return 0
        self.job = job
        self.event(**job_event(job))
        signal.signal(signal.SIGTERM, _raise_cancelled)
        signal.signal(signal.SIGINT, _raise_cancelled)
        handler = HANDLERS[JobKind(job.kind)]
        try:
            result = handler(self, job)
        except JobCancelled:
            self._cleanup()
            self._db(self._finish(JobStatus.cancelled))
            self.event(type="job", job={"id": str(self.job_id), "kind": job.kind,
                                        "status": "cancelled"})
            log.info("job_cancelled", job_id=str(self.job_id))
            return 1
        except Exception as exc:
            self._cleanup()
            message = _user_message(exc)
            if not isinstance(exc, JobFailed | s.SpecError):
                traceback.print_exc()
            print(f"helio: job failed: {message}", file=sys.stderr)
            self._db(self._finish(JobStatus.failed, error=message[:4000]))
            self.event(type="job", job={"id": str(self.job_id), "kind": job.kind,
                                        "status": "failed", "error": message[:500]})
            return 1
        self._cleanup()
        self._db(self._finish(JobStatus.succeeded, progress=1.0, result=result))
        self.event(type="job", job={"id": str(self.job_id), "kind": job.kind,
                                    "status": "succeeded", "progress": 1.0})
        return 0

    def _cleanup(self) -> None:
        for path in self.staging:
            shutil.rmtree(path, ignore_errors=True)
        shutil.rmtree(self.root.root / "jobs" / str(self.job_id) / "scratch", ignore_errors=True)

    # ------------------------------------------------------------ data access

    async def _resolve(self, ref: str, version: int | None) -> tuple[Dataset, DatasetVersion]:
        async with self.sessions() as session:
            dataset = await find_dataset(session, ref)
            if dataset is None:
                raise JobFailed(f"dataset '{ref}' not found")
            row = await get_version(session, dataset.id, version)
            if row is None:
                raise JobFailed(f"dataset '{ref}' has no version {version or '(none yet)'}")
            return dataset, row

    def resolve(self, ref: str, version: int | None) -> engine.ResolvedInput:
        dataset, row = self._db(self._resolve(ref, version))
        return engine.ResolvedInput(dataset_id=str(dataset.id), version=row.version,
                                    files=parquet_files(row.path),
                                    schema=schema_map(row.columns), num_rows=row.num_rows,
                                    num_bytes=row.num_bytes)

    async def _owner(self) -> tuple[uuid.UUID | None, Role]:
        assert self.job is not None
        if self.job.owner_id is None:
            # Recorded by `helio run` (cron, RayJob): an operator with the platform's own
            # credentials, acting as the platform.
            return None, Role.admin
        async with self.sessions() as session:
            user = await session.get(User, self.job.owner_id)
        if user is None or not user.is_active:
            raise JobFailed("the job's owner no longer exists or is deactivated")
        return user.id, Role(user.role)

    def owner(self) -> tuple[uuid.UUID | None, Role]:
        """The job owner's id and *current* role (a demotion since submission applies)."""
        result: tuple[uuid.UUID | None, Role] = self._db(self._owner())
        return result

    async def _check_write(self, obj: Any, what: str) -> None:
        user_id, role = await self._owner()
        try:
            policy.check_write(user_id=user_id, role=role, obj=obj, what=what)
        except policy.OwnershipError as exc:
            raise JobFailed(str(exc)) from None

    def check_write(self, obj: Any, what: str) -> None:
        """The ownership policy, applied to what this job is about to change."""
        self._db(self._check_write(obj, what))

    def signer(self) -> TokenSigner:
        s_ = self.settings
        return TokenSigner(resolve_jwt_secret(s_), s_.jwt_algorithm, s_.access_token_ttl_s,
                           previous=[p.get_secret_value() for p in s_.jwt_previous_secrets])

    def publish_output(self, *, sink: s.Sink, staged: Path, meta: dict[str, Any],
                       lineage: dict[str, Any], source: dict[str, Any]) -> DatasetVersion:
        assert self.job is not None
        existing = self._db(self._find(sink.dataset))
        self.check_write(existing, "dataset")
        dataset_id = existing.id if existing else uuid.UUID(staged.parent.parent.name)
        create = None if existing else Dataset(name=sink.dataset, description=sink.description,
                                              owner_id=self.job.owner_id, source=source)
        version: DatasetVersion = self._db(publish(
            self.sessions, self.root, dataset_id=dataset_id, staged=staged, meta=meta,
            lineage=lineage, created_by=self.job.owner_id, job_id=self.job_id, create=create))
        self.staging.remove(staged)
        self.event(type="dataset_version", dataset={"id": str(dataset_id), "name": sink.dataset,
                                                    "version": version.version})
        return version

    async def _find(self, ref: str) -> Dataset | None:
        async with self.sessions() as session:
            return await find_dataset(session, ref)

    def staging_for(self, sink_name: str) -> Path:
        existing = self._db(self._find(sink_name))
        dataset_id = existing.id if existing else uuid.uuid4()
        path = self.root.staging_dir(dataset_id)
        self.staging.append(path)
        return path


def _raise_cancelled(signum: int, frame: Any) -> None:
    raise JobCancelled(signal.Signals(signum).name)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:1000] if text else ""


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _user_message(exc: BaseException) -> str:
    """The root cause of a failure, without Ray's task wrappers."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, JobFailed | s.SpecError | engine.StepFailed):
            return str(current)
        nested = getattr(current, "cause", None)
        current = nested if isinstance(nested, BaseException) else (
            current.__cause__ or current.__context__)
    text = _ANSI.sub("", str(exc))
    # A Ray task's exception arrives as text inside RayTaskError: find ours in it.
    found = re.search(r"(?:StepFailed|JobFailed|SpecError): (.+)", text)
    if found:
        return found.group(1).strip()[:1000]
    lines = [line for line in text.splitlines() if line.strip()]
    return f"{type(exc).__name__}: {lines[-1][:1000] if lines else ''}"


def _root_cause(exc: BaseException) -> str:
    """The first line of the innermost exception (e.g. the database's own message under
    Ray's task wrappers)."""
    seen: set[int] = set()
    current = exc
    while id(current) not in seen:
        seen.add(id(current))
        nested = getattr(current, "cause", None)
        nested = nested if isinstance(nested, BaseException) else current.__cause__
        if nested is None:
            break
        current = nested
    return _ANSI.sub("", _first_line(current))


def _max_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _with_progress(driver: Driver, work: Callable[[], Any], fraction: Callable[[], float]) -> Any:
    """Run `work` in a thread; the main thread reports progress and receives signals."""
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = work()
        except BaseException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=target, name="helio-job-work", daemon=True)
    thread.start()
    while thread.is_alive():
        thread.join(PROGRESS_INTERVAL_S)
        if thread.is_alive():
            try:
                driver.progress(fraction())
            except JobCancelled:
                raise
            except Exception as exc:
                log.warning("progress_failed", error=type(exc).__name__)
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


# ------------------------------------------------------------------ handlers

def connect_ray() -> None:
    """Join the cluster this job runs on, with the Ray Data settings Helio's jobs rely on.

    Parquet is read through Ray Data's task-based (V1) reader: 2.60's default V2 reader
    lists files on a pool of `FooterReader` actors spread over the cluster, and a worker
    node lost while they run fails the read outright, where tasks are simply retried on
    the nodes that are left (tests/pipelines/test_multinode.py).
    """
    import ray
    from ray.data import DataContext

    ray.init(ignore_reinit_error=True, log_to_driver=True)
    DataContext.get_current().use_datasource_v2 = False


def run_pipeline(driver: Driver, job: Job) -> dict[str, Any]:
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    started = time.perf_counter()
    pipeline = s.PipelineSpec.model_validate(job.spec["pipeline"])
    source = driver.resolve(pipeline.source.dataset, pipeline.source.version)
    joins: dict[tuple[str, int | None], engine.ResolvedInput] = {}

    def lookup(ref: str, version: int | None, loc: s.Loc) -> dict[str, str]:
        try:
            found = joins.get((ref, version)) or driver.resolve(ref, version)
        except JobFailed as exc:
            raise s.SpecError(loc, str(exc)) from None
        joins[(ref, version)] = found
        return found.schema

    models: dict[tuple[str, int | None, str | None], dict[str, Any]] = {}

    def model_info(step: s.Predict, loc: s.Loc) -> dict[str, Any]:
        key = (step.model, step.version, step.alias)
        if key not in models:
            try:
                models[key] = driver._db(model_version_info(driver, *key))
            except registry.VersionNotFound as exc:
                raise s.SpecError(loc, f"{exc} not found") from None
        return models[key]

    schemas = s.validate_steps(pipeline.steps, source.schema, lookup, models=model_info)
    connect_ray()
    # Bookkeeping lives next to this driver: a worker node that goes away mid-run must not
    # take the step counters (and with them the run) along.
    here = NodeAffinitySchedulingStrategy(ray.get_runtime_context().get_node_id(), soft=False)
    stats: Any = ray.remote(engine.StepStats).options(
        num_cpus=0, scheduling_strategy=here, enable_task_events=False).remote()
    scratch = driver.root.job_dir(driver.job_id) / "scratch"
    cpus = ray.cluster_resources().get("CPU", 1)  # type: ignore[no-untyped-call]
    needs_nlp = any(isinstance(step, s.Embed) or (isinstance(step, s.Predict) and any(
        f["type"] == "text" for f in model_info(step, ())["features"]))
        for step in pipeline.steps)
    executor = engine.Executor(scratch=scratch, stats=stats, cpus=max(1, int(cpus)),
                               data_root=Path(driver.settings.resolved_data_root),
                               nlp_model_dir=_model_dir(driver) if needs_nlp else None)
    staged = driver.staging_for(pipeline.sink.dataset)

    def work() -> dict[str, int]:
        ds = executor.build(source, pipeline.steps, schemas,
                            lambda j: joins[(j.dataset, j.version)],
                            lambda p: models[(p.model, p.version, p.alias)])
        return engine.write_output(ds, staged, schemas[-1])

    def fraction() -> float:
        seen = ray.get(stats.snapshot.remote(), timeout=5)["source_rows"]
        return 0.95 * seen / source.num_rows if source.num_rows else 0.0

    meta = _with_progress(driver, work, fraction)
    meta["columns"] = [{"name": n, "type": t} for n, t in schemas[-1].items()]
    snapshot = ray.get(stats.snapshot.remote(), timeout=10)
    inputs = [{"dataset_id": source.dataset_id, "version": source.version}]
    inputs += [{"dataset_id": r.dataset_id, "version": r.version} for r in joins.values()]
    version = driver.publish_output(
        sink=pipeline.sink, staged=staged, meta=meta,
        lineage={"inputs": inputs, "pipeline_id": job.spec.get("pipeline_id"),
                 "job_id": str(job.id)},
        source={"kind": "pipeline", "pipeline_id": job.spec.get("pipeline_id")})
    steps = [{"index": i, "op": step.op, "rows_out": snapshot["rows"].get(i),
              "kernel_seconds": round(snapshot["seconds"].get(i, 0.0), 4)}
             for i, step in enumerate(pipeline.steps)]
    return {"dataset_id": str(version.dataset_id), "dataset": pipeline.sink.dataset,
            "version": version.version, "rows_in": snapshot["source_rows"],
            "rows_out": version.num_rows, "bytes_out": version.num_bytes, "steps": steps,
            "elapsed_s": round(time.perf_counter() - started, 3),
            "driver_max_rss_mb": _max_rss_mb()}


async def model_version_info(driver: Driver, name: str, version: int | None,
                             alias: str | None) -> dict[str, Any]:
    async with driver.sessions() as session:
        model = await registry.find_model(session, name)
        return registry.version_info(await registry.find_version(session, model, version,
                                                                 alias), model.name)


def run_profile(driver: Driver, job: Job) -> dict[str, Any]:
    from pipelines.profile import profile_version

    source = driver.resolve(job.spec["dataset_id"], job.spec.get("version"))
    columns = [{"name": n, "type": t} for n, t in source.schema.items()]
    profile = profile_version(source.files, columns, driver.settings.resolved_data_root,
                              progress=lambda f: driver.progress(0.95 * f))

    async def store() -> None:
        async with driver.sessions() as session:
            row = await get_version(session, uuid.UUID(source.dataset_id), source.version)
            if row is not None:
                row.profile = profile
                await session.commit()

    driver._db(store())
    return {"dataset_id": source.dataset_id, "version": source.version, "profile": profile}


def run_sql_ingest(driver: Driver, job: Job) -> dict[str, Any]:
    import ray
    import ray.data

    spec = job.spec
    name = spec["source"]
    url = driver.settings.sql_sources.get(name)
    if url is None:
        raise JobFailed(f"SQL source '{name}' is not configured on the cluster "
                        "(HELIO_SQL_SOURCES)")
    dsn = _libpq_dsn(url.get_secret_value())
    connect_ray()
    staged = driver.staging_for(spec["dataset"])

    timeout_ms = int(driver.settings.sql_source_statement_timeout_s * 1000)

    def connect() -> Any:
        import psycopg

        # Read-only, time-limited, and one statement per execute: every query is prepared
        # (the extended protocol refuses `...; DELETE ...`), so the source's credentials can
        # only read, even when the role behind them could write.
        connection = psycopg.connect(
            dsn, options=f"-c default_transaction_read_only=on -c statement_timeout={timeout_ms}")
        connection.prepare_threshold = 0
        return connection

    def work() -> dict[str, Any]:
        import pyarrow.parquet as pq

        from pipelines.tables import canonicalize, columns_of

        ds = ray.data.read_sql(spec["query"], connect)
        ds.map_batches(canonicalize, batch_format="pyarrow").write_parquet(str(staged))
        files = parquet_files(staged)
        if not files:
            raise JobFailed("the query returned no rows and no schema")
        return {"columns": columns_of(pq.read_schema(files[0])), **parquet_meta(staged)}

    try:
        meta = _with_progress(driver, work, lambda: 0.5)
    except JobFailed:
        raise
    except Exception as exc:
        raise JobFailed(f"the SQL query failed: {_root_cause(exc)}") from None
    version = driver.publish_output(
        sink=s.Sink(dataset=spec["dataset"]), staged=staged, meta=meta,
        lineage={"inputs": [], "sql": {"source": name, "query": spec["query"]},
                 "job_id": str(job.id)},
        source={"kind": "sql", "source": name, "query": spec["query"]})
    return {"dataset_id": str(version.dataset_id), "version": version.version,
            "rows_out": version.num_rows}


def run_query_job(driver: Driver, job: Job) -> dict[str, Any]:
    """A long analytics query run in the background; the result is stored on the job."""
    import ray

    from pipelines.query import Query, execute_on_ray

    source = driver.resolve(job.spec["dataset_id"], job.spec.get("version"))
    query = Query.model_validate(job.spec["query"])
    connect_ray()
    cpus = ray.cluster_resources().get("CPU", 1)  # type: ignore[no-untyped-call]
    result = asyncio.run(execute_on_ray(query, source.schema, source.files,
                                        driver.settings.resolved_data_root,
                                        task_cpus=driver.settings.query_task_cpus,
                                        max_partitions=max(1, int(cpus))))
    return {"dataset_id": source.dataset_id, "version": source.version, **result}


def run_training(driver: Driver, job: Job) -> dict[str, Any]:
    """Fit on the dataset version; cross-validation folds run as parallel Ray tasks; the
    artifact (skops) and the registry row are written only when everything succeeded."""
    import pyarrow.parquet as pq
    import ray

    from pipelines.training import TrainSpec, check_spec, train

    fields = {k: v for k, v in job.spec.items() if k in TrainSpec.model_fields}
    spec = TrainSpec.model_validate(fields)
    source = driver.resolve(job.spec["dataset_id"], job.spec.get("version"))
    problems = check_spec(spec, source.schema)
    if problems:
        raise JobFailed("; ".join(f"{'.'.join(map(str, loc))}: {msg}" for loc, msg in problems))
    driver.progress(0.05, force=True)
    connect_ray()
    encoder: dict[str, Any] | None = None
    if spec.task == "text_classification":
        import ray.data

        from pipelines.training import feature_columns

        model_dir = _model_dir(driver)
        text = feature_columns(spec, source.schema)[0]
        ds = ray.data.read_parquet(source.files, columns=[text, spec.target])
        frame = _with_progress(
            driver, lambda: embed_map(ds, text, model_dir).to_pandas(), lambda: 0.3)
        encoder = {"encoder": encoder_name(model_dir), "dim": len(frame.iloc[0][
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
    driver.progress(0.9, force=True)
    result: dict[str, Any] = driver._db(_register(driver, job, spec, source, model, info))
    return result


async def _register(driver: Driver, job: Job, spec: Any, source: engine.ResolvedInput,
                    model: Any, info: dict[str, Any]) -> dict[str, Any]:
    from sqlalchemy import func
    from sqlalchemy.exc import IntegrityError

    from cluster.models import MLModel, ModelVersion

    for _ in range(5):
        async with driver.sessions() as session:
            row = (await session.execute(select(MLModel).where(MLModel.name == spec.model))
                   ).scalar_one_or_none()
            # Training a new version of an existing model is a write to it.
            await driver._check_write(row, "model")
            if row is None:
                row = MLModel(name=spec.model, description=spec.description,
                              owner_id=job.owner_id, aliases={})
                session.add(row)
                await session.flush()
            current = await session.scalar(select(func.max(ModelVersion.version))
                                           .where(ModelVersion.model_id == row.id))
            number = (current or 0) + 1
            path = registry.artifact_path(driver.settings.resolved_data_root, spec.model, number)
            size = registry.save(model, path)
            session.add(ModelVersion(
                model_id=row.id, version=number, status="ready", task=spec.task,
                algorithm=spec.algorithm, target=spec.target, features=info["features"],
                classes=info["classes"], params=info["params"],
                metrics={**info["metrics"], "cv": info["cv"]},
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


def _model_dir(driver: Driver) -> Path:
    from pipelines.text import ModelMissing, resolve_model_dir

    try:
        return resolve_model_dir(driver.settings.nlp_model_dir)
    except ModelMissing as exc:
        raise JobFailed(str(exc)) from None


def run_index(driver: Driver, job: Job) -> dict[str, Any]:
    """Embed a text column with Ray Data and an actor pool; store rows + embeddings."""
    import pyarrow.parquet as pq
    import ray
    import ray.data

    from cluster.models import TextIndex
    spec = job.spec
    index_id = uuid.UUID(spec["index_id"])

    async def mark(**values: Any) -> None:
        async with driver.sessions() as session:
            await session.execute(update(TextIndex).where(TextIndex.id == index_id)
                                  .values(**values))
            await session.commit()

    try:
        model_dir = _model_dir(driver)
        source = driver.resolve(spec["dataset_id"], spec.get("version"))
        connect_ray()
        target = driver.root.root / "indexes" / str(index_id)
        shutil.rmtree(target, ignore_errors=True)

        def work() -> int:
            ds = embed_map(ray.data.read_parquet(source.files), spec["column"], model_dir)
            ds.write_parquet(str(target))
            return parquet_meta(target)["num_rows"]

        rows = _with_progress(driver, work, lambda: 0.5)
        dim = len(pq.read_table(next(iter(sorted(target.glob("*.parquet")))),
                                columns=["__embedding"]).column(0)[0]) if rows else 0
        driver._db(mark(status="ready", num_rows=rows, dim=dim, model=encoder_name(model_dir)))
    except BaseException:
        driver._db(mark(status="failed"))
        raise
    return {"index_id": str(index_id), "rows": rows, "dim": dim}


def _libpq_dsn(url: str) -> str:
    """SQLAlchemy-style URLs (postgresql+asyncpg://) -> a libpq URL psycopg accepts."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if not parsed.drivername.startswith("postgresql"):
        raise JobFailed("SQL sources must be PostgreSQL URLs")
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


def run_script(driver: Driver, job: Job) -> dict[str, Any]:
    """A user's script, in the user zone (cluster/sandbox.py): copied out of the platform's
    directories, run in the sandbox with an allow-listed environment and a read-only job
    token of its owner. Without the sandbox only an admin's script runs, in the driver's
    working directory, still with the allow-listed environment."""
    from cluster import sandbox

    spec = job.spec
    argv = [sys.executable, spec["script"], *spec.get("args", [])]
    owner_id, owner_role = driver.owner()
    if owner_id is None:
        raise JobFailed("a script job needs an owner (submit it through the API)")
    token = driver.signer().issue_access(subject=owner_id, role=Role.viewer.value,
                                         ttl_s=driver.settings.job_token_ttl_s, job_id=job.id)
    mode = sandbox.runner_mode(driver.settings)
    started = time.perf_counter()
    script: sandbox.SandboxedScript | None = None
    if mode.name == "kuberay":
        return _run_rayjob(driver, job, token, started)
    if mode.name == "sandbox":
        script = sandbox.start_script(settings=driver.settings, workdir=Path.cwd(), argv=argv,
                                      job_id=str(job.id), job_token=token)
        process = script.process
    elif owner_role == Role.admin:
        _, api_path = sandbox.api_target(driver.settings)
        env = sandbox.sandbox_env(api_path=f"{api_path}/api/v1", job_token=token,
                                  job_id=str(job.id))
        env["HELIO_API_URL"] = f"{driver.settings.resolved_internal_api_url}/api/v1"
        env["HOME"] = env["TMPDIR"] = str(Path.cwd())
        print(f"helio: no isolated runner ({mode.reason}); running an admin's script "
              "without the sandbox", file=sys.stderr)
        process = subprocess.Popen(argv, cwd=Path.cwd(), env=env,  # noqa: S603 - argv list
                                   stdin=subprocess.DEVNULL, start_new_session=True)
    else:
        raise JobFailed(f"script jobs need an isolated runner, and none is available on this "
                        f"node ({mode.reason})")
    try:
        while process.poll() is None:
            time.sleep(0.2)
    except JobCancelled:
        _stop(process)
        raise
    finally:
        if process.poll() is None:
            _stop(process)
        if script is not None:
            script.cleanup()
    if process.returncode != 0:
        raise JobFailed(f"script exited with status {process.returncode}; see the job's logs")
    return {"exit_code": 0, "elapsed_s": round(time.perf_counter() - started, 3),
            "runner": mode.name if script is not None else "unsandboxed (admin)"}


def _run_rayjob(driver: Driver, job: Job, token: str, started: float) -> dict[str, Any]:
    """On Kubernetes: the script as a RayJob on its own cluster (cluster/rayjobs.py)."""
    from cluster import rayjobs

    spec = job.spec
    try:
        objects = rayjobs.render(
            job_id=str(job.id), argv=[spec["script"], *spec.get("args", [])],
            code=rayjobs.zip_workdir(Path.cwd()), token=token,
            api_url=f"{driver.settings.resolved_internal_api_url}/api/v1",
            image=driver.settings.user_job_image)
        api = rayjobs.KubeApi()
        try:
            status = rayjobs.run(api, objects)
        finally:
            api.close()
    except rayjobs.RayJobError as exc:
        raise JobFailed(str(exc)) from None
    name = next(o for o in objects if o["kind"] == "RayJob")["metadata"]["name"]
    if status != "SUCCEEDED":
        raise JobFailed(f"the script's RayJob {name} ended {status}; see its logs "
                        f"(kubectl logs job/{name})")
    return {"exit_code": 0, "elapsed_s": round(time.perf_counter() - started, 3),
            "runner": "kuberay", "rayjob": name}


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the script's whole process group, then SIGKILL after 5 s."""
    for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


HANDLERS: dict[JobKind, Callable[[Driver, Job], dict[str, Any]]] = {
    JobKind.pipeline: run_pipeline,
    JobKind.profile: run_profile,
    JobKind.ingest_sql: run_sql_ingest,
    JobKind.query: run_query_job,
    JobKind.train: run_training,
    JobKind.text_index: run_index,
    JobKind.script: run_script,
}


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m pipelines.run <job-id>", file=sys.stderr)
        return 2
    job_id = uuid.UUID(args[0])
    settings = load_settings()
    configure_logging(settings.log_level)
    with asyncio.Runner() as runner:
        db = create_engine(settings.resolved_database_url)
        try:
            return Driver(settings, job_id, runner, create_session_factory(db)).run()
        finally:
            runner.run(db.dispose())


if __name__ == "__main__":
    sys.exit(main())
