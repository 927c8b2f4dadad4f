"""Interactive analytics over a dataset version: partition-parallel DuckDB on Ray.

A query (filter, group-by with time buckets, aggregations, order, limit) is validated
against the version's schema and compiled to SQL. The version's Parquet files are
split into groups; each group is scanned by a Ray task running DuckDB (vectorised,
projection and filter pushdown into Parquet), which returns partial aggregates; the
small partials are combined at the end. Aggregations that do not decompose
(quantile, count_distinct, std) scan all files in one DuckDB task instead.

DuckDB runs sandboxed: no extensions, no file access outside the data root.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import duckdb
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from pipelines import kernels
from pipelines import spec as s
from pipelines.expr import Sql, compile_expression, quote_ident
from pipelines.sandbox import duckdb_connection
from pipelines.tables import rows_of

Bucket = Literal["hour", "day", "week", "month", "quarter", "year"]
MAX_ROWS = 10_000


class GroupKey(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    column: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    bucket: Bucket | None = None

    def output_name(self) -> str:
        return f"{self.column}_{self.bucket}" if self.bucket else self.column


class Query(BaseModel):
    """`filter` uses the pipeline expression language; group-by entries are column names
    or `{column, bucket}` for time buckets."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    derive: dict[Annotated[str, StringConstraints(min_length=1, max_length=200)],
                 Annotated[str, StringConstraints(min_length=1, max_length=4000)]] = Field(
        default_factory=dict, max_length=32,
        description="Computed columns, in order (each may use the ones before it); usable in "
                    "filter, group_by, aggregations, columns and order_by.")
    filter: str | None = Field(default=None, max_length=4000)
    group_by: list[Annotated[str, StringConstraints(min_length=1, max_length=200)]
                   | GroupKey] = Field(default_factory=list, max_length=16)
    aggregations: list[s.Aggregation] = Field(default_factory=list, max_length=64)
    columns: list[Annotated[str, StringConstraints(min_length=1, max_length=200)]] | None = \
        Field(default=None, max_length=500)
    order_by: list[s.SortKey] = Field(default_factory=list, max_length=16)
    limit: int = Field(default=1000, ge=1, le=MAX_ROWS)

    @model_validator(mode="after")
    def _shape(self) -> Query:
        if self.group_by and not self.aggregations:
            raise ValueError("group_by needs at least one aggregation")
        if self.columns is not None and self.aggregations:
            raise ValueError("give either columns (rows) or aggregations, not both")
        return self

    def keys(self) -> list[GroupKey]:
        return [k if isinstance(k, GroupKey) else GroupKey(column=k) for k in self.group_by]

    def sort_keys(self) -> list[s.SortKey]:
        """`order_by` with a bucketed group key's source column (`time_hour`) read as
        that key's result column (`time_hour_month`): ordering a time series by the
        column it was bucketed from is what a user means."""
        bucketed = {k.column: k.output_name() for k in self.keys()
                    if k.bucket and k.column != k.output_name()}
        plain = {k.output_name() for k in self.keys()} | set(self.derive)
        return [s.SortKey(column=bucketed[k.column], desc=k.desc)
                if k.column in bucketed and k.column not in plain else k
                for k in self.order_by]

    def canonical_hash(self) -> str:
        """Same meaning -> same hash (key order, defaults and group-by shorthand ignored)."""
        body = self.model_dump(mode="json", by_alias=True)
        body["group_by"] = [k.model_dump(mode="json") for k in self.keys()]
        return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":"))
                              .encode()).hexdigest()


def derived_schema(query: Query, schema: dict[str, str]) -> dict[str, str]:
    """The scanned schema plus the query's computed columns."""
    full = dict(schema)
    growth: dict[str, int] = {}
    for name, text in query.derive.items():
        t = s._expr(text, full, ("derive", name))
        if t == "null":
            raise s.SpecError(("derive", name), "a computed column cannot be always null")
        full[name] = t
        growth[name] = s.derive_growth(text, growth, ("derive", name))
    return full


def validate_query(query: Query, schema: dict[str, str]) -> dict[str, str]:
    """The result's schema; SpecError with the path to the field at fault."""
    schema = derived_schema(query, schema)
    if query.filter is not None:
        s._expr(query.filter, schema, ("filter",), want="bool")
    group_types: dict[str, str] = {}
    for i, key in enumerate(query.keys()):
        t = s._need(schema, key.column, ("group_by", i, "column") if key.bucket else
                    ("group_by", i))
        if key.bucket and t not in ("timestamp", "date"):
            raise s.SpecError(("group_by", i, "bucket"),
                              f"time buckets need a timestamp or date column; "
                              f"'{key.column}' is {t}")
        group_types[key.output_name()] = "timestamp" if key.bucket and t == "timestamp" else t
    if query.aggregations:
        out = s.aggregate_schema(list(group_types), query.aggregations, schema, (),
                                 group_types=group_types)
    else:
        names = query.columns if query.columns is not None else list(schema)
        out = {c: s._need(schema, c, ("columns", i)) for i, c in enumerate(names)}
    for i, sort_key in enumerate(query.sort_keys()):
        if sort_key.column not in out:
            raise s.SpecError(("order_by", i, "column"),
                              f"order_by column '{sort_key.column}' is not in the result; "
                              f"result columns are: {', '.join(out)}")
    return out


@dataclass(frozen=True, slots=True)
class QueryLimits:
    """What one query task may use (HELIO_QUERY_MEMORY_MB, HELIO_QUERY_MAX_RESULT_MB)."""

    memory_mb: int = 2048
    max_result_bytes: int = 64 << 20


def limits_from(settings: Any) -> QueryLimits:
    """The limits the platform's settings give each query task."""
    return QueryLimits(memory_mb=settings.query_memory_mb,
                       max_result_bytes=settings.query_max_result_mb << 20)


class QueryFailed(ValueError):
    """A query that failed on its values or its limits, not on Helio: a value DuckDB
    cannot convert, an overflow, a result or memory over its limit (a 422)."""

    @staticmethod
    def message(exc: BaseException) -> str:
        """The message of a QueryFailed, also when Ray raised it from a task (as a
        RayTaskError that is an instance of its cause's class)."""
        cause = getattr(exc, "cause", None)
        return str(cause if isinstance(cause, QueryFailed) else exc).strip().splitlines()[0]


# DuckDB's errors that are about the query's values, not the platform.
_VALUE_ERRORS = (duckdb.ConversionException, duckdb.OutOfRangeException,
                 duckdb.InvalidInputException, duckdb.TypeMismatchException,
                 duckdb.OutOfMemoryException)


@functools.cache
def _sandbox(data_root: str, threads: int, memory_mb: int) -> duckdb.DuckDBPyConnection:
    """One connection per worker process (each query takes a cursor): it stays open
    between queries, so DuckDB keeps the Parquet footers it has read (versions are
    immutable: a new version is a new path)."""
    return duckdb_connection(threads=threads, allowed_directories=[data_root],
                             memory_limit=f"{memory_mb}MB", parquet_metadata_cache=True)


def _value_error(exc: duckdb.Error, limits: QueryLimits) -> QueryFailed:
    message = str(exc).split("\n")[0].strip()
    if isinstance(exc, duckdb.OutOfMemoryException):
        return QueryFailed(f"the query needs more memory than its limit "
                           f"({limits.memory_mb} MB, HELIO_QUERY_MEMORY_MB): {message}")
    return QueryFailed(f"the query failed on its values: {message}")


def _scan_source(files: Sequence[str], columns: Sequence[str], sql: Sql) -> str:
    projection = ", ".join(quote_ident(c) for c in columns) if columns else "*"
    return f"(SELECT {projection} FROM read_parquet({sql.bind(list(files))}))"


def _plan(query: Query, schema: dict[str, str], out: dict[str, str]
          ) -> tuple[list[str], Literal["partial", "single", "rows"]]:
    """Columns the scan needs and the execution shape."""
    from pipelines.expr import columns_of, parse

    needed: list[str] = []
    for text in query.derive.values():
        needed += sorted(columns_of(parse(text)))
    if query.filter:
        needed += sorted(columns_of(parse(query.filter)))
    needed += [k.column for k in query.keys()]
    if query.aggregations:
        needed += [a.column for a in query.aggregations if a.column]
        shape: Literal["partial", "single", "rows"] = \
            "partial" if kernels.decomposable(query.aggregations) else "single"
    else:
        needed += list(out)
        shape = "rows"
    return [c for c in dict.fromkeys(needed) if c in schema and c not in query.derive], shape


def _group_select(query: Query, schema: dict[str, str]) -> tuple[list[str], list[str]]:
    exprs, names = [], []
    for key in query.keys():
        col = quote_ident(key.column)
        if key.bucket:
            cast = "TIMESTAMP" if schema[key.column] == "timestamp" else "DATE"
            exprs.append(f"CAST(date_trunc('{key.bucket}', {col}) AS {cast})")
        else:
            exprs.append(col)
        names.append(key.output_name())
    return exprs, names


def scan_sql(query: Query, schema: dict[str, str], out: dict[str, str], files: Sequence[str],
             shape: str, needed: Sequence[str]) -> tuple[str, list[Any]]:
    """The per-partition SQL: partial aggregates, a full aggregate, or filtered rows."""
    sql = Sql([])
    source = _scan_source(files, needed, sql)
    if query.derive:
        full = dict(schema)
        for name, text in query.derive.items():
            value, _, t = compile_expression(text, full, params=sql.params)
            source = f"(SELECT *, {value} AS {quote_ident(name)} FROM {source})"
            full[name] = t
        schema = full
    where = ""
    if query.filter:
        cond, _, _ = compile_expression(query.filter, schema, want="bool", params=sql.params)
        where = f" WHERE {cond}"
    exprs, names = _group_select(query, schema)
    keyed = [f"{e} AS {quote_ident(n)}" for e, n in zip(exprs, names, strict=True)]
    inner = f"SELECT *{''.join(', ' + k for k in keyed)} FROM {source} AS src{where}" \
        if keyed else f"SELECT * FROM {source} AS src{where}"
    if shape == "partial":
        return kernels.partial_aggregate_sql(names, query.aggregations, f"({inner})"), sql.params
    if shape == "single":
        return _ordered(kernels.aggregate_sql(names, query.aggregations, f"({inner})"),
                        query), sql.params
    cols = ", ".join(quote_ident(c) for c in out)
    return _ordered(f"SELECT {cols} FROM ({inner})", query), sql.params


def _ordered(sql: str, query: Query) -> str:
    if query.order_by:
        order = ", ".join(f"{quote_ident(k.column)} {'DESC' if k.desc else 'ASC'} NULLS LAST"
                          for k in query.sort_keys())
        sql += f" ORDER BY {order}"
    return sql + f" LIMIT {int(query.limit) + 1}"  # one extra row tells us it was truncated


def combine(query: Query, out: dict[str, str], partials: list[pa.Table], shape: str
            ) -> pa.Table:
    names = [k.output_name() for k in query.keys()]
    tables = [p for p in partials if p.num_rows] or partials[:1]
    merged = pa.concat_tables(tables, promote_options="permissive") if tables else None
    if merged is None:
        return kernels.empty_table(out)
    if shape == "partial":
        sql = _ordered(kernels.combine_sql(names, query.aggregations), query)
    else:
        sql = _ordered("SELECT * FROM t", query)
    return kernels.cast_outputs(kernels.run_sql(sql, [], {"t": merged}), out)


def scan(data_root: str, sql: str, params: list[Any], threads: int = 1,
         limits: QueryLimits = QueryLimits()) -> pa.Table:
    """Run one partition's SQL in the sandbox (in a Ray task or in-process); `threads`
    0: all of this node's CPUs. QueryFailed for errors on the query's values and for a
    result over `limits.max_result_bytes` (it never leaves the task)."""
    cursor = _sandbox(data_root, threads or os.cpu_count() or 1, limits.memory_mb).cursor()
    try:
        table = cursor.sql(sql, params=params).to_arrow_table()
    except _VALUE_ERRORS as exc:
        raise _value_error(exc, limits) from None
    finally:
        cursor.close()
    if table.nbytes > limits.max_result_bytes:
        raise QueryFailed(f"the result holds {table.nbytes / (1 << 20):.1f} MiB, over the "
                          f"limit of {limits.max_result_bytes / (1 << 20):.0f} MiB "
                          "(HELIO_QUERY_MAX_RESULT_MB): select fewer or shorter columns")
    return table


def split(files: Sequence[str], parts: int) -> list[list[str]]:
    parts = max(1, min(parts, len(files)))
    return [list(files[i::parts]) for i in range(parts)]


def execute_local(query: Query, schema: dict[str, str], files: Sequence[str], data_root: str,
                  threads: int = 2, limits: QueryLimits = QueryLimits()
                  ) -> dict[str, Any]:
    """Run a query in this process (used when Ray is not connected, and in tests)."""
    started = time.perf_counter()
    out = validate_query(query, schema)
    needed, shape = _plan(query, schema, out)
    sql, params = scan_sql(query, schema, out, files, shape, needed)
    partial = scan(data_root, sql, params, threads, limits)
    table = partial if shape == "single" else combine(query, out, [partial], shape)
    return result_payload(table, out, query.limit, started)


def result_payload(table: pa.Table, out: dict[str, str], limit: int, started: float
                   ) -> dict[str, Any]:
    table = kernels.cast_outputs(table, out)
    truncated = table.num_rows > limit
    table = table.slice(0, limit)
    return {
        "columns": [{"name": n, "type": t} for n, t in out.items()],
        "rows": rows_of(table),
        "row_count": table.num_rows,
        "truncated": truncated,
        "elapsed_ms": round((time.perf_counter() - started) * 1000, 3),
    }


@functools.cache
def _remote_scan(num_cpus: float) -> Any:
    import ray

    return ray.remote(num_cpus=num_cpus, max_retries=1)(scan)


async def warm_on_ray(data_root: str, *, task_cpus: float, max_workers: int = 8) -> int:
    """Run a trivial scan on as many Ray workers as the cluster's CPUs allow (up to
    `max_workers`), so the first real query after a start does not pay for a fresh worker
    importing DuckDB and this module (about a second here). Returns the task count."""
    import asyncio

    import ray

    cpus = ray.cluster_resources().get("CPU", 1)  # type: ignore[no-untyped-call]
    workers = max(1, min(max_workers, int(cpus // task_cpus)))
    remote = _remote_scan(task_cpus)
    await asyncio.gather(*[remote.remote(data_root, "SELECT 1 AS warm", [], 0)
                           for _ in range(workers)])
    return workers


async def execute_on_ray(query: Query, schema: dict[str, str], files: Sequence[str],
                         data_root: str, *, task_cpus: float, max_partitions: int,
                         num_bytes: int | None = None, local_max_bytes: int = 0,
                         limits: QueryLimits = QueryLimits()
                         ) -> dict[str, Any]:
    """A version of at most `local_max_bytes` of Parquet is answered by one Ray task: the
    whole query as one DuckDB plan with all of the node's threads. Larger ones scan
    partitions in parallel Ray tasks (DuckDB each) and combine the partials here."""
    import asyncio

    started = time.perf_counter()
    out = validate_query(query, schema)
    needed, shape = _plan(query, schema, out)
    threads = max(1, int(task_cpus))
    remote = _remote_scan(task_cpus)
    local = num_bytes is not None and num_bytes <= local_max_bytes
    if local:  # the whole query in one task with all of the node's threads (0)
        shape, threads = ("single" if query.aggregations else "rows"), 0
    if local or shape == "single":
        sql, params = scan_sql(query, schema, out, files, shape, needed)
        table = await remote.remote(data_root, sql, params, threads, limits)
        return result_payload(table, out, query.limit, started)
    refs = []
    for group in split(files, max_partitions):
        sql, params = scan_sql(query, schema, out, group, shape, needed)
        refs.append(remote.remote(data_root, sql, params, threads, limits))
    partials = list(await asyncio.gather(*refs))
    try:
        table = await asyncio.to_thread(combine, query, out, partials, shape)
    except _VALUE_ERRORS as exc:  # e.g. partial sums that overflow when added up
        raise _value_error(exc, limits) from None
    return result_payload(table, out, query.limit, started)
