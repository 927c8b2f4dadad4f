"""How a pipeline runs: one DuckDB statement for inputs that fit on a node, Ray Data for
the rest.

A pipeline whose inputs (source and joined versions) hold at most `local_max_bytes` of
Parquet, and whose steps are all SQL (no model inference), compiles into one statement:
each step is a CTE over the one before, the source is a `read_parquet` over the version's
files (so DuckDB pushes projections and filters into the scan and reads only the columns
the pipeline uses), and the result is written by `COPY … TO` with all of the node's
threads, spilling to the job's scratch past its memory limit. That skips Ray Data's fixed
costs (a streaming executor, blocks in the object store, one shuffle barrier per
aggregate, dedupe or join), which dominate on small data. Everything else runs
partition-parallel on Ray Data (`pipelines.engine.Executor`); both give the same rows.

The connection is the sandboxed one (`pipelines.sandbox`): it reads only the
directories of the input files and writes only the output and scratch directories.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pipelines import kernels
from pipelines import spec as s
from pipelines.engine import ResolvedInput, StepFailed
from pipelines.expr import SQL_TYPES, quote_ident
from pipelines.tables import OPAQUE_TYPES

Plan = Literal["local", "distributed"]
# Steps one DuckDB statement can run; predict and embed need a model (Ray Data actors).
SQL_STEPS = (*s.ROW_LOCAL, s.Aggregate, s.Dedupe, s.Join, s.Sort, s.Limit, s.Sample)
OUTPUT_FILE = "part-00000.parquet"


def choose(source: ResolvedInput, joins: Sequence[ResolvedInput], steps: Sequence[Any], *,
           mode: str = "auto", local_max_bytes: int) -> Plan:
    """`local` when every step is SQL and the inputs are small enough (or `mode` forces
    it); otherwise `distributed`. A forced `local` with a model step still goes to Ray
    Data, which is the only path that can run it."""
    if mode == "distributed" or not all(isinstance(step, SQL_STEPS) for step in steps):
        return "distributed"
    if mode == "local":
        return "local"
    size = source.num_bytes + sum(j.num_bytes for j in joins)
    return "local" if size <= local_max_bytes else "distributed"


@dataclass(frozen=True)
class LocalPlan:
    """One statement (CTEs, then the last relation) and its parameters; `sql(i)` is the
    query of the first i steps (used to name the step at fault when the statement
    fails)."""

    ctes: list[str]
    params: list[Any]
    selects: list[str]  # selects[i]: the relation after i steps
    inputs: list[str]   # every Parquet file read
    source_rows: int

    def sql(self, steps: int | None = None) -> str:
        last = len(self.selects) - 1 if steps is None else steps
        # CTEs nothing refers to are never run, so a prefix keeps them all.
        return f"WITH {', '.join(self.ctes)} SELECT * FROM {self.selects[last]}"


def _typed(relation: str, schema: dict[str, str]) -> str:
    """The relation with its columns cast to their declared logical types (an aggregate's
    sum of ints is HUGEINT in DuckDB; Helio stores BIGINT, as the Ray Data path does)."""
    cols = ", ".join(
        quote_ident(name) if t in OPAQUE_TYPES or t not in SQL_TYPES
        else f"CAST({quote_ident(name)} AS {SQL_TYPES[t]}) AS {quote_ident(name)}"
        for name, t in schema.items())
    return f"SELECT {cols} FROM {relation}"


def compile_local(source: ResolvedInput, steps: Sequence[Any], schemas: list[dict[str, str]],
                  resolve_join: Callable[[s.Join], ResolvedInput]) -> LocalPlan:
    params: list[Any] = []
    inputs = list(source.files)

    def scan(files: Sequence[str], schema: dict[str, str]) -> str:
        params.append(list(files))
        cols = ", ".join(quote_ident(c) for c in schema)
        return f"SELECT {cols} FROM read_parquet(${len(params)})"

    live = live_columns(steps, schemas)

    def pruned(schema: dict[str, str], keep: set[str]) -> dict[str, str]:
        kept = {c: t for c, t in schema.items() if c in keep}
        return kept or dict(list(schema.items())[:1])  # a relation needs a column

    current = pruned(schemas[0], live[0])  # the columns of the relation so far
    ctes = [f"s0 AS ({_typed(f'({scan(source.files, current)})', current)})"]
    selects = ["s0"]
    i = 0
    while i < len(steps):
        step = steps[i]
        if isinstance(step, s.Join):  # its output names depend on every left column
            schema, out = schemas[i], schemas[i + 1]
        else:
            schema = pruned(schemas[i], live[i])
            out = s.step_schema(step, schema, ("steps", i))
        prev = selects[-1]
        if list(current) != list(schema):  # drop what no later step reads
            ctes.append(f"p{i} AS (SELECT {', '.join(map(quote_ident, schema))} FROM {prev})")
            prev = f"p{i}"
        current = out
        skip = 0
        if isinstance(step, s.ROW_LOCAL):
            body, _ = kernels.row_step_sql(step, schema, source=prev, params=params)
        elif isinstance(step, s.Aggregate):
            body = _typed(f"({kernels.aggregate_sql(step.group_by, step.aggregations, prev)})",
                          out)
        elif isinstance(step, s.Dedupe):
            body = kernels.dedupe_sql(step.columns, schema, prev)
        elif isinstance(step, s.Join):
            right = resolve_join(step)
            inputs += right.files
            ctes.append(f"r{i} AS ({scan(right.files, right.schema)})")
            body = _typed(f"({kernels.join_sql(step, schema, right.schema, (prev, f'r{i}'))})",
                          out)
        elif isinstance(step, s.Sort):
            following = steps[i + 1] if i + 1 < len(steps) else None
            limit = following.n if isinstance(following, s.Limit) else None
            body = kernels.sort_sql(step.by, limit, prev)
            skip = 1 if limit is not None else 0
        elif isinstance(step, s.Limit):
            body = f"SELECT * FROM {prev} LIMIT {int(step.n)}"
        elif isinstance(step, s.Sample):
            body = (f"SELECT * FROM {prev} USING SAMPLE {float(step.fraction) * 100!r} PERCENT "
                    f"(bernoulli, {int(step.seed)})")
        else:
            raise TypeError(f"not a SQL step: {step!r}")
        for _ in range(1 + skip):  # a limit fused into its sort shares the sort's relation
            name = f"s{len(selects)}"
            ctes.append(f"{name} AS ({body})")
            selects.append(name)
            body = f"SELECT * FROM {name}"
        i += 1 + skip
    return LocalPlan(ctes=ctes, params=params, selects=selects, inputs=inputs,
                     source_rows=source.num_rows)


def _reads(text: str) -> set[str]:
    from pipelines.expr import columns_of, parse

    return columns_of(parse(text))


def live_columns(steps: Sequence[Any], schemas: list[dict[str, str]]) -> list[set[str]]:
    """live[i]: the columns of step i's input that it or a later step reads (the last
    entry: the output's columns). Columns outside it are never read from Parquet, and
    are dropped before a step that would carry them (a dedupe by key keeps whole rows)."""
    live: list[set[str]] = [set() for _ in range(len(steps) + 1)]
    live[-1] = set(schemas[-1])
    for i in reversed(range(len(steps))):
        step, schema, after = steps[i], schemas[i], live[i + 1]
        match step:
            case s.Select(columns=columns):
                need = set(columns)
            case s.Rename(mapping=mapping):
                back = {new: old for old, new in mapping.items()}
                need = {back.get(c, c) for c in after}
            case s.Filter(expr=text):
                need = after | _reads(text)
            case s.Derive(column=column, expr=text):
                need = (after - {column}) | _reads(text)
            case s.DropNull(columns=columns) | s.Dedupe(columns=columns):
                need = after | set(columns) if columns else set(schema)
            case s.Sort(by=by):
                need = after | {k.column for k in by}
            case s.Aggregate(group_by=group_by, aggregations=aggregations):
                need = set(group_by) | {a.column for a in aggregations if a.column}
            case s.Cast() | s.FillNull() | s.Limit() | s.Sample():
                need = set(after)
            case _:  # join, and anything else: all of them
                need = set(schema)
        live[i] = need & set(schema)
    return live


def _quote_path(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def memory_limit(runners: int) -> str:
    """Half the node's memory, shared among the runners that may run plans at once."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return f"{max(256 << 20, total // 2 // max(1, runners)) >> 20}MB"


def run_local(plan: LocalPlan, output_dir: Path, scratch: Path, threads: int | None,
              memory: str) -> dict[str, Any]:
    """Run the statement and write its result as Parquet into `output_dir` (`threads`
    None: all of this node's). Returns the rows written and the seconds spent."""
    import duckdb

    from pipelines.sandbox import duckdb_connection

    started = time.perf_counter()
    spill = scratch / "duckdb"
    spill.mkdir(parents=True, exist_ok=True)
    output_dir.mkdir(parents=True, exist_ok=True)
    readable = sorted({str(Path(f).parent) for f in plan.inputs})
    con = duckdb_connection(threads=threads or os.cpu_count() or 1, memory_limit=memory,
                            temp_directory=str(spill),
                            allowed_directories=[*readable, str(output_dir), str(spill)])
    try:
        target = _quote_path(output_dir / OUTPUT_FILE)
        try:
            rows = con.execute(f"COPY ({plan.sql()}) TO {target} (FORMAT parquet)",
                               plan.params).fetchone()
        except duckdb.Error as exc:
            raise StepFailed(_failing_step(con, plan, exc)) from None
    finally:
        con.close()
    return {"rows": int(rows[0]) if rows else 0,
            "seconds": round(time.perf_counter() - started, 4)}


def _failing_step(con: Any, plan: LocalPlan, error: Exception) -> str:
    """The first step whose prefix of the plan fails, named as the Ray Data path names it
    (`step <i> failed: …`). Only run after the whole statement failed."""
    import duckdb

    message = str(error).splitlines()[0][:500]
    for steps in range(1, len(plan.selects)):
        try:
            # Hashing whole rows computes every column (a count alone would let DuckDB
            # drop the very cast that failed).
            con.execute(f"SELECT max(hash(t)) FROM ({plan.sql(steps)}) AS t",
                        plan.params).fetchone()
        except duckdb.Error as exc:
            return f"step {steps - 1} failed: {str(exc).splitlines()[0][:500]}"
    return f"pipeline failed: {message}"


@functools.cache
def remote_run(num_cpus: float) -> Any:
    """`run_local` as a Ray task reserving `num_cpus` (built on first use, never at
    import)."""
    import ray

    return ray.remote(num_cpus=num_cpus, max_retries=0)(run_local)
