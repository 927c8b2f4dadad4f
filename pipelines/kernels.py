"""Vectorised per-batch kernels: each pipeline step as DuckDB SQL over an Arrow table.

These are plain functions of Arrow tables (no Ray), so they are tested directly and
reused by the Ray Data executor (`pipelines.engine`) and the query engine.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Sequence
from typing import Any

import duckdb
import pyarrow as pa

from pipelines import spec as s
from pipelines.expr import SQL_TYPES, Sql, compile_expression, quote_ident
from pipelines.sandbox import duckdb_connection
from pipelines.tables import canonicalize

_local = threading.local()


@functools.cache
def _database() -> duckdb.DuckDBPyConnection:
    # In-memory only: kernels see the Arrow tables handed to them and nothing else.
    return duckdb_connection(threads=int(os.environ.get("HELIO_DUCKDB_THREADS", "1")))


def connection() -> duckdb.DuckDBPyConnection:
    """A per-thread cursor on this process's in-memory DuckDB."""
    con: duckdb.DuckDBPyConnection | None = getattr(_local, "con", None)
    if con is None:
        con = _database().cursor()
        _local.con = con
    return con


def run_sql(sql: str, params: Sequence[Any], tables: dict[str, pa.Table]) -> pa.Table:
    con = connection()
    for name, table in tables.items():
        con.register(name, table)
    try:
        result = con.sql(sql, params=list(params) or None).to_arrow_table()
    finally:
        for name in tables:
            con.unregister(name)
    return canonicalize(result)


def cast_sql(column: str, logical: str, *, lenient: bool) -> str:
    fn = "TRY_CAST" if lenient else "CAST"
    return f"{fn}({quote_ident(column)} AS {SQL_TYPES[logical]})"


def row_step_sql(step: Any, schema: dict[str, str], source: str = "t",
                 params: list[Any] | None = None) -> tuple[str, list[Any]]:
    """One row-local step as `SELECT ... FROM <source>`; its parameters are appended to
    `params` (numbered after those already there, so steps chain into one statement)."""
    params = [] if params is None else params
    t = source
    match step:
        case s.Select(columns=columns):
            return f"SELECT {', '.join(quote_ident(c) for c in columns)} FROM {t}", params
        case s.Rename(mapping=mapping):
            cols = ", ".join(f"{quote_ident(c)} AS {quote_ident(mapping.get(c, c))}"
                             for c in schema)
            return f"SELECT {cols} FROM {t}", params
        case s.Cast(columns=columns, on_error=on_error):
            cols = ", ".join(
                f"{cast_sql(c, columns[c], lenient=on_error == 'null')} AS {quote_ident(c)}"
                if c in columns else quote_ident(c) for c in schema)
            return f"SELECT {cols} FROM {t}", params
        case s.Filter(expr=text):
            where, params, _ = compile_expression(text, schema, want="bool", params=params)
            return f"SELECT * FROM {t} WHERE {where}", params
        case s.Derive(column=column, expr=text):
            value, params, _ = compile_expression(text, schema, params=params)
            if column in schema:
                cols = ", ".join(f"{value} AS {quote_ident(c)}" if c == column else quote_ident(c)
                                 for c in schema)
                return f"SELECT {cols} FROM {t}", params
            return f"SELECT *, {value} AS {quote_ident(column)} FROM {t}", params
        case s.FillNull(values=values):
            sql = Sql(params)
            cols = ", ".join(
                f"coalesce({quote_ident(c)}, {sql.bind(values[c], SQL_TYPES[schema[c]])}) "
                f"AS {quote_ident(c)}" if c in values else quote_ident(c) for c in schema)
            return f"SELECT {cols} FROM {t}", params
        case s.DropNull(columns=columns):
            names = columns or list(schema)
            where = " AND ".join(f"{quote_ident(c)} IS NOT NULL" for c in names)
            return f"SELECT * FROM {t} WHERE {where}", params
    raise TypeError(f"not a row-local step: {step!r}")


def empty_table(schema: dict[str, str]) -> pa.Table:
    from pipelines.tables import CANONICAL

    return pa.table({name: pa.array([], type=CANONICAL.get(t, pa.null()))
                     for name, t in schema.items()})


# ---------------------------------------------------------------- aggregation

def _agg_sql(agg: s.Aggregation) -> str:
    col = quote_ident(agg.column) if agg.column else None
    match agg.op:
        case "count":
            return f"count({col})" if col else "count(*)"
        case "sum":
            return f"sum({col})"
        case "mean":
            return f"avg({col})"
        case "min":
            return f"min({col})"
        case "max":
            return f"max({col})"
        case "std":
            return f"stddev_samp({col})"
        case "quantile":
            return f"quantile_cont({col}, {float(agg.q or 0)!r})"
        case "count_distinct":
            return f"count(DISTINCT {col})"
    raise ValueError(agg.op)  # pragma: no cover


DECOMPOSABLE = frozenset({"count", "sum", "mean", "min", "max"})


def decomposable(aggregations: Sequence[s.Aggregation]) -> bool:
    return all(a.op in DECOMPOSABLE for a in aggregations)


def _partial_sql(i: int, agg: s.Aggregation) -> list[str]:
    """Map-side partial aggregates for aggregation `i` (columns named __a<i>_*)."""
    col = quote_ident(agg.column) if agg.column else None
    match agg.op:
        case "count":
            return [f"{'count(' + col + ')' if col else 'count(*)'} AS __a{i}_n"]
        case "sum":
            return [f"sum({col}) AS __a{i}_s"]
        case "mean":
            return [f"sum(CAST({col} AS DOUBLE)) AS __a{i}_s", f"count({col}) AS __a{i}_n"]
        case "min" | "max":
            return [f"{agg.op}({col}) AS __a{i}_m"]
    raise ValueError(agg.op)  # pragma: no cover


def _combine_sql(i: int, agg: s.Aggregation) -> str:
    match agg.op:
        case "count":
            return f"CAST(coalesce(sum(__a{i}_n), 0) AS BIGINT)"
        case "sum":
            return f"sum(__a{i}_s)"
        case "mean":
            return f"sum(__a{i}_s) / NULLIF(sum(__a{i}_n), 0)"
        case "min" | "max":
            return f"{agg.op}(__a{i}_m)"
    raise ValueError(agg.op)  # pragma: no cover


def group_keys_sql(group_by: Sequence[str]) -> str:
    return ", ".join(quote_ident(c) for c in group_by)


def aggregate_sql(group_by: Sequence[str], aggregations: Sequence[s.Aggregation],
                  source: str = "t") -> str:
    """Full aggregation of raw rows."""
    select = [quote_ident(c) for c in group_by]
    select += [f"{_agg_sql(a)} AS {quote_ident(a.output_name())}" for a in aggregations]
    group = f" GROUP BY {group_keys_sql(group_by)}" if group_by else ""
    return f"SELECT {', '.join(select)} FROM {source}{group}"


def partial_aggregate_sql(group_by: Sequence[str], aggregations: Sequence[s.Aggregation],
                          source: str = "t") -> str:
    select = [quote_ident(c) for c in group_by]
    for i, agg in enumerate(aggregations):
        select += _partial_sql(i, agg)
    group = f" GROUP BY {group_keys_sql(group_by)}" if group_by else ""
    return f"SELECT {', '.join(select)} FROM {source}{group}"


def combine_sql(group_by: Sequence[str], aggregations: Sequence[s.Aggregation],
                source: str = "t") -> str:
    select = [quote_ident(c) for c in group_by]
    select += [f"{_combine_sql(i, a)} AS {quote_ident(a.output_name())}"
               for i, a in enumerate(aggregations)]
    group = f" GROUP BY {group_keys_sql(group_by)}" if group_by else ""
    return f"SELECT {', '.join(select)} FROM {source}{group}"


def cast_outputs(table: pa.Table, schema: dict[str, str]) -> pa.Table:
    """Make an aggregation's output match the declared logical schema exactly."""
    from pipelines.tables import CANONICAL

    columns = []
    for name in schema:
        col = table.column(name)
        target = CANONICAL.get(schema[name])
        columns.append(col.cast(target) if target is not None and col.type != target else col)
    return pa.Table.from_arrays(columns, names=list(schema))


# ---------------------------------------------------------------- join

def join_sql(step: s.Join, left: dict[str, str], right: dict[str, str],
             sources: tuple[str, str] = ("l", "r")) -> str:
    right_on = step.right_on or step.on
    same_keys = step.right_on is None
    cond = " AND ".join(f"l.{quote_ident(a)} = r.{quote_ident(b)}"
                        for a, b in zip(step.on, right_on, strict=True))
    select = []
    for name in left:
        if same_keys and name in step.on and step.how in ("right", "outer"):
            select.append(f"coalesce(l.{quote_ident(name)}, r.{quote_ident(name)}) "
                          f"AS {quote_ident(name)}")
        else:
            select.append(f"l.{quote_ident(name)}")
    for name in right:
        if same_keys and name in right_on:
            continue
        out = name + step.suffix if name in left else name
        select.append(f"r.{quote_ident(name)} AS {quote_ident(out)}")
    how = {"inner": "INNER", "left": "LEFT", "right": "RIGHT", "outer": "FULL OUTER"}[step.how]
    return (f"SELECT {', '.join(select)} FROM {sources[0]} AS l {how} JOIN {sources[1]} AS r "
            f"ON {cond}")


def dedupe_sql(columns: Sequence[str] | None, schema: dict[str, str], source: str = "t") -> str:
    if not columns:
        return f"SELECT DISTINCT * FROM {source}"
    keys = group_keys_sql(columns)
    names = ", ".join(quote_ident(c) for c in schema)
    # One row per key; which one is not specified (as in SQL DISTINCT ON).
    return f"SELECT DISTINCT ON ({keys}) {names} FROM {source}"


def sort_sql(by: Sequence[s.SortKey], limit: int | None = None, source: str = "t") -> str:
    order = ", ".join(f"{quote_ident(k.column)} {'DESC' if k.desc else 'ASC'} NULLS LAST"
                      for k in by)
    return f"SELECT * FROM {source} ORDER BY {order}" + (
        f" LIMIT {int(limit)}" if limit is not None else "")


def hash_partition_sql(keys: Sequence[str], schema: dict[str, str], partitions: int) -> str:
    """Adds `__p`, the partition of each row: the same key lands in the same partition
    whichever side or batch it comes from (keys hashed as their canonical type)."""
    parts = ", ".join(f"CAST({quote_ident(k)} AS {SQL_TYPES.get(schema[k], 'VARCHAR')})"
                      if schema[k] != "int" else f"CAST({quote_ident(k)} AS DOUBLE)"
                      for k in keys)
    return f"SELECT *, CAST(hash({parts}) % {int(partitions)} AS INTEGER) AS __p FROM t"
