"""Runs a validated pipeline on Ray Data, streaming, with DuckDB kernels per batch.

Consecutive row-local steps (select, rename, cast, filter, derive, fill_null, drop_null)
compile into one DuckDB statement run per batch in `map_batches`. Steps that need all
rows of a key together (aggregate, dedupe, join) hash-partition their input to Parquet
files in the job's scratch directory and reduce each partition with DuckDB (the smallpond
pattern); aggregations with only decomposable functions pre-aggregate each batch first,
so little data moves. Sort uses Ray Data's range-partitioned sort (top-N per batch when a
limit follows). Nothing is held whole in memory, so datasets larger than the object
store go through. Inputs small enough for one node take the other plan
(`pipelines.plan`: one DuckDB statement).
"""

from __future__ import annotations

import json
import math
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq

from cluster.storage import parquet_files, parquet_meta
from pipelines import inference, kernels
from pipelines import spec as s
from pipelines.expr import quote_ident
from pipelines.tables import CANONICAL

# Target bytes per shuffle partition: what one DuckDB reduce holds at once.
PARTITION_BYTES = 64 << 20
BATCH_ROWS = 256 * 1024
# Written by a shuffle's driver: partition -> the files that successful map tasks reported.
MANIFEST = "_committed.json"


@dataclass(frozen=True)
class ResolvedInput:
    """A dataset version as the engine needs it."""

    dataset_id: str
    version: int
    files: list[str]
    schema: dict[str, str]
    num_rows: int
    num_bytes: int


class StepFailed(Exception):
    """A step's kernel rejected the data (e.g. a value that does not cast); the message
    names the step and is shown to the user as the job's error."""


class StepStats:
    """Per-step row counts and kernel time, reported by batches (a Ray actor in jobs)."""

    def __init__(self) -> None:
        self.rows: dict[int, int] = {}
        self.seconds: dict[int, float] = {}
        self.source_rows = 0

    def record(self, index: int, rows: int, seconds: float) -> None:
        self.rows[index] = self.rows.get(index, 0) + rows
        self.seconds[index] = self.seconds.get(index, 0.0) + seconds

    def record_source(self, rows: int) -> None:
        self.source_rows += rows

    def snapshot(self) -> dict[str, Any]:
        return {"rows": dict(self.rows), "seconds": dict(self.seconds),
                "source_rows": self.source_rows}


def _report(stats: Any, method: str, *args: Any) -> None:
    if stats is None:
        return
    fn = getattr(stats, method)
    if hasattr(fn, "remote"):
        fn.remote(*args)  # fire and forget: never wait on bookkeeping
    else:
        fn(*args)


# ---------------------------------------------------------------- batch functions

def fuse_row_steps(steps: Sequence[tuple[Any, dict[str, str]]]) -> tuple[str, list[Any]]:
    """Consecutive row-local steps (each with its input schema) as one statement over
    `t`: a CTE per step, so DuckDB runs them as one pipeline over the batch."""
    params: list[Any] = []
    ctes, previous = [], "t"
    for k, (step, schema) in enumerate(steps):
        body, _ = kernels.row_step_sql(step, schema, source=previous, params=params)
        previous = f"f{k}"
        ctes.append(f"{previous} AS ({body})")
    return f"WITH {', '.join(ctes)} SELECT * FROM {previous}", params


def _row_steps(batch: pa.Table, *, fused: tuple[int, str, list[Any]] | None,
               steps: list[tuple[int, str, list[Any]]], stats: Any,
               count_source: bool) -> pa.Table:
    """Runs the fused statement of consecutive row-local steps over a batch; `steps` (the
    same steps one statement each) only run to name the step at fault when it fails."""
    import duckdb

    if count_source:
        _report(stats, "record_source", batch.num_rows)
    if fused is None:
        return batch
    index, sql, params = fused
    started = time.perf_counter()
    try:
        table = kernels.run_sql(sql, params, {"t": batch})
    except duckdb.Error as exc:
        failed, message = index, str(exc)
        table = batch
        for each, step_sql, step_params in steps:  # find the first step that fails alone
            try:
                table = kernels.run_sql(step_sql, step_params, {"t": table})
            except duckdb.Error as step_exc:
                failed, message = each, str(step_exc)
                break
        raise StepFailed(f"step {failed} failed: {message.splitlines()[0][:500]}") from None
    _report(stats, "record", index, table.num_rows, time.perf_counter() - started)
    return table


def _partition_writer(batch: pa.Table, *, sql: str, hash_sql: str, directory: str,
                      empty_ok: bool = True) -> pa.Table:
    """Pre-process (project / pre-aggregate) a batch and append it, split by key hash,
    to `directory/__p=<n>/`."""
    table = kernels.run_sql(sql, [], {"t": batch}) if sql else batch
    if table.num_rows == 0 and empty_ok:
        return pa.table({"written": pa.array([0], pa.int64()),
                         "files": pa.array([[]], pa.list_(pa.string()))})
    keyed = kernels.run_sql(hash_sql, [], {"t": table})
    files: list[str] = []
    # Arrow IPC, uncompressed: shuffle files are written once and read once, locally.
    pads.write_dataset(
        keyed, directory, format="ipc",
        partitioning=pads.partitioning(pa.schema([("__p", pa.int32())]), flavor="hive"),
        basename_template=f"{uuid.uuid4().hex}-{{i}}.arrow",
        existing_data_behavior="overwrite_or_ignore",
        file_visitor=lambda written: files.append(written.path),
    )
    return pa.table({"written": pa.array([table.num_rows], pa.int64()),
                     "files": pa.array([files], pa.list_(pa.string()))})


def _read_partition(directory: str, partition: int) -> pa.Table | None:
    # Only files that a successful map task reported: a task retried after its node was lost
    # (or its worker died) may have left files behind, and reading those would count rows
    # twice.
    committed: dict[str, list[str]] = json.loads((Path(directory) / MANIFEST).read_text())
    files = committed.get(str(partition), [])
    if not files:
        return None
    table = pads.dataset(files, format="ipc").to_table()
    if "__p" in table.column_names:
        table = table.drop_columns(["__p"])
    return table


def _reduce(batch: pa.Table, *, sql: str, index: int, stats: Any,
            inputs: dict[str, tuple[str, dict[str, str]]], out_schema: dict[str, str]) -> pa.Table:
    outputs = []
    for partition in batch.column("p").to_pylist():
        started = time.perf_counter()
        found = {name: _read_partition(d, partition) for name, (d, _) in inputs.items()}
        if all(t is None for t in found.values()):
            continue  # no rows hashed here
        tables = {name: t if t is not None else kernels.empty_table(inputs[name][1])
                  for name, t in found.items()}
        result = kernels.cast_outputs(kernels.run_sql(sql, [], tables), out_schema)
        _report(stats, "record", index, result.num_rows, time.perf_counter() - started)
        outputs.append(result)
    return pa.concat_tables(outputs) if outputs else kernels.empty_table(out_schema)


def _top_n(batch: pa.Table, *, sql: str) -> pa.Table:
    return kernels.run_sql(sql, [], {"t": batch})


# ---------------------------------------------------------------- the executor

@dataclass
class Executor:
    """Builds the Ray Dataset for a pipeline; `run` writes it to `output_dir`."""

    scratch: Path
    stats: Any = None
    cpus: int = 2
    shuffle_dirs: list[Path] = field(default_factory=list)
    data_root: Path | None = None  # where model artifacts live (predict steps)
    nlp_model_dir: Path | None = None  # the sentence encoder (embed steps, text models)

    def _partitions(self, num_bytes: int) -> int:
        return max(self.cpus, min(256, math.ceil(num_bytes / PARTITION_BYTES)))

    def _shuffle(self, ds: Any, *, pre_sql: str, keys: Sequence[str], schema: dict[str, str],
                 partitions: int) -> str:
        directory = self.scratch / f"shuffle-{len(self.shuffle_dirs)}"
        directory.mkdir(parents=True, exist_ok=True)
        self.shuffle_dirs.append(directory)
        hash_sql = kernels.hash_partition_sql(keys, schema, partitions) if keys else \
            "SELECT *, CAST(0 AS INTEGER) AS __p FROM t"
        written = ds.map_batches(
            _partition_writer, batch_format="pyarrow", batch_size=BATCH_ROWS,
            zero_copy_batch=True,
            fn_kwargs={"sql": pre_sql, "hash_sql": hash_sql, "directory": str(directory)})
        committed: dict[str, list[str]] = {}
        # Drive the map side to completion (a barrier, as every shuffle is), keeping the files
        # of the attempts that succeeded.
        for batch in written.iter_batches(batch_size=None, batch_format="pyarrow"):
            for files in batch.column("files").to_pylist():
                for path in files:
                    partition = Path(path).parent.name.removeprefix("__p=")
                    committed.setdefault(partition, []).append(path)
        (directory / MANIFEST).write_text(json.dumps(committed))
        return str(directory)

    def _reduce_ds(self, partitions: int, *, sql: str, index: int,
                   inputs: dict[str, tuple[str, dict[str, str]]], out_schema: dict[str, str]
                   ) -> Any:
        import ray.data

        return ray.data.range(partitions, override_num_blocks=partitions).map_batches(
            lambda b: {"p": b["id"]}, batch_format="numpy").map_batches(
            _reduce, batch_format="pyarrow", batch_size=1,  # type: ignore[arg-type]
            fn_kwargs={"sql": sql, "index": index, "stats": self.stats,
                       "inputs": inputs, "out_schema": out_schema})

    def build(self, source: ResolvedInput, steps: Sequence[Any], schemas: list[dict[str, str]],
              resolve_join: Callable[[s.Join], ResolvedInput],
              resolve_model: Callable[[s.Predict], dict[str, Any]] | None = None) -> Any:
        import ray.data

        ds = ray.data.read_parquet(source.files, override_num_blocks=max(1, len(source.files)))
        est_bytes = source.num_bytes * 4  # in-memory Arrow is larger than compressed Parquet
        pending: list[tuple[int, Any, dict[str, str]]] = []
        counted = False

        def flush(ds: Any) -> Any:
            nonlocal pending, counted
            if pending or not counted:
                fused = None
                if pending:
                    sql, params = fuse_row_steps([(step, schema) for _, step, schema in pending])
                    fused = (pending[-1][0], sql, params)
                singles = [(i, *kernels.row_step_sql(step, schema)) for i, step, schema in pending]
                ds = ds.map_batches(_row_steps, batch_format="pyarrow", batch_size=BATCH_ROWS,
                                    zero_copy_batch=True,
                                    fn_kwargs={"fused": fused, "steps": singles,
                                               "stats": self.stats,
                                               "count_source": not counted})
                counted = True
                pending = []
            return ds

        i = 0
        while i < len(steps):
            step, schema, out_schema = steps[i], schemas[i], schemas[i + 1]
            if isinstance(step, s.ROW_LOCAL):
                pending.append((i, step, schema))
                i += 1
                continue
            ds = flush(ds)
            if isinstance(step, s.Aggregate):
                ds = self._aggregate(ds, step, schema, out_schema, i, est_bytes)
            elif isinstance(step, s.Dedupe):
                keys = step.columns or list(schema)
                parts = self._partitions(est_bytes)
                directory = self._shuffle(ds, pre_sql="", keys=keys, schema=schema,
                                          partitions=parts)
                ds = self._reduce_ds(parts, sql=kernels.dedupe_sql(step.columns, schema), index=i,
                                     inputs={"t": (directory, schema)}, out_schema=out_schema)
            elif isinstance(step, s.Join):
                right = resolve_join(step)
                parts = self._partitions(est_bytes + right.num_bytes * 4)
                right_on = step.right_on or step.on
                left_dir = self._shuffle(ds, pre_sql="", keys=step.on, schema=schema,
                                         partitions=parts)
                right_ds = ray.data.read_parquet(right.files,
                                                 override_num_blocks=max(1, len(right.files)))
                right_dir = self._shuffle(right_ds, pre_sql="", keys=right_on,
                                          schema=right.schema, partitions=parts)
                ds = self._reduce_ds(parts, sql=kernels.join_sql(step, schema, right.schema),
                                     index=i, inputs={"l": (left_dir, schema),
                                                      "r": (right_dir, right.schema)},
                                     out_schema=out_schema)
            elif isinstance(step, s.Sort):
                following = steps[i + 1] if i + 1 < len(steps) else None
                if isinstance(following, s.Limit) and following.n <= 100_000:
                    # Top-N: each batch keeps its best n, one task picks the final n.
                    sql = kernels.sort_sql(step.by, following.n)
                    ds = ds.map_batches(_top_n, batch_format="pyarrow", batch_size=BATCH_ROWS,
                                        fn_kwargs={"sql": sql})
                    ds = ds.repartition(1).map_batches(_top_n, batch_format="pyarrow",
                                                       batch_size=None, fn_kwargs={"sql": sql})
                    i += 1
                else:
                    ds = ds.sort([k.column for k in step.by], descending=[k.desc for k in step.by])
            elif isinstance(step, s.Predict):
                ds = self._predict(ds, step, out_schema, resolve_model)
            elif isinstance(step, s.Embed):
                ds = inference.embed_map(ds, step.column, self._nlp_dir(), step.output)
            elif isinstance(step, s.Limit):
                ds = ds.limit(step.n)
            elif isinstance(step, s.Sample):
                ds = ds.random_sample(step.fraction, seed=step.seed)
            else:  # pragma: no cover
                raise TypeError(f"unknown step {step!r}")
            i += 1
        return flush(ds)

    def _nlp_dir(self) -> Path:
        if self.nlp_model_dir is None:
            raise StepFailed("this step needs the NLP model; set HELIO_NLP_MODEL_DIR or "
                             "install the nlp extra")
        return self.nlp_model_dir

    def _predict(self, ds: Any, step: s.Predict, out_schema: dict[str, str],
                 resolve_model: Callable[[s.Predict], dict[str, Any]] | None) -> Any:
        from pipelines import registry

        if resolve_model is None or self.data_root is None:
            raise StepFailed("predict steps need the model registry")
        info = resolve_model(step)
        text = bool(info["features"]) and info["features"][0]["type"] == "text"
        return inference.predict_map(
            ds, info, artifact=registry.artifact_path(self.data_root, info["name"],
                                                      info["version"]),
            output=step.output, output_type=out_schema[step.output],
            probability=step.probability, model_dir=self._nlp_dir() if text else None)

    def _aggregate(self, ds: Any, step: s.Aggregate, schema: dict[str, str],
                   out_schema: dict[str, str], index: int, est_bytes: int) -> Any:
        group_by, aggs = step.group_by, step.aggregations
        if kernels.decomposable(aggs):
            # Pre-aggregate each batch: only one row per group and batch is shuffled.
            pre_sql = kernels.partial_aggregate_sql(group_by, aggs)
            reduce_sql = kernels.combine_sql(group_by, aggs)
            partial_schema = {c: schema[c] for c in group_by}
            parts = self.cpus if group_by else 1
        else:
            needed = list(dict.fromkeys([*group_by, *(a.column for a in aggs if a.column)]))
            pre_sql = f"SELECT {', '.join(quote_ident(c) for c in needed)} FROM t"
            reduce_sql = kernels.aggregate_sql(group_by, aggs)
            partial_schema = {c: schema[c] for c in needed}
            parts = self._partitions(est_bytes) if group_by else 1
        directory = self._shuffle(ds, pre_sql=pre_sql, keys=group_by, schema=schema,
                                  partitions=parts)
        return self._reduce_ds(parts, sql=reduce_sql, index=index,
                               inputs={"t": (directory, partial_schema)}, out_schema=out_schema)


def write_output(ds: Any, output_dir: Path, schema: dict[str, str]) -> dict[str, int]:
    """Write the dataset as Parquet files into `output_dir`; returns rows, bytes, files."""
    ds.write_parquet(str(output_dir))
    if not parquet_files(output_dir):  # an empty result still has a schema
        pq.write_table(kernels.empty_table(schema), output_dir / "part-empty.parquet")
    return parquet_meta(output_dir)


def arrow_schema(schema: dict[str, str]) -> pa.Schema:
    return pa.schema([(n, CANONICAL.get(t, pa.string())) for n, t in schema.items()])
