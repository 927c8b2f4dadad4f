"""Dataset profiling: per-column statistics computed by DuckDB over a version's files."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from pipelines.expr import quote_ident
from pipelines.query import scan
from pipelines.tables import OPAQUE_TYPES

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
TOP_VALUES = 10
HISTOGRAM_BINS = 20


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def profile_version(files: Sequence[str], columns: list[dict[str, Any]], data_root: str,
                    progress: Callable[[float], None] | None = None) -> dict[str, Any]:
    """{"num_rows", "columns": [{name, type, nulls, null_fraction, distinct_approx, min, max,
    mean, std, quantiles, top_values, histogram}]}."""
    src_params: list[Any] = [list(files)]
    # One scan for the row count and every column's summary statistics.
    select = ["count(*) AS __rows"]
    for i, column in enumerate(columns):
        col, logical = quote_ident(column["name"]), column["type"]
        select += [f"count(*) - count({col}) AS c{i}_nulls",
                   f"approx_count_distinct({col}) AS c{i}_distinct_approx"]
        if logical not in OPAQUE_TYPES:
            select += [f"min({col}) AS c{i}_min", f"max({col}) AS c{i}_max"]
        if logical in ("int", "float"):
            select += [f"avg({col}) AS c{i}_mean", f"stddev_samp({col}) AS c{i}_std"]
            select += [f"approx_quantile({col}, {q!r}) AS c{i}_q{int(q * 100):02d}"
                       for q in QUANTILES]
    summary = scan(data_root, f"SELECT {', '.join(select)} FROM read_parquet($1)",
                   src_params, 2).to_pylist()[0]
    num_rows = int(summary["__rows"])
    out = []
    for i, column in enumerate(columns):
        name, logical = column["name"], column["type"]
        col = quote_ident(name)
        values = {k[len(f"c{i}_"):]: v for k, v in summary.items() if k.startswith(f"c{i}_")}
        stats: dict[str, Any] = {"name": name, "type": logical}
        stats["nulls"] = int(values.pop("nulls"))
        stats["null_fraction"] = stats["nulls"] / num_rows if num_rows else 0.0
        stats["distinct_approx"] = int(values.pop("distinct_approx") or 0)
        quantiles = {k: _clean(values.pop(k)) for k in list(values) if k.startswith("q")}
        stats.update({k: _clean(v) for k, v in values.items()})
        if quantiles:
            stats["quantiles"] = {str(q): quantiles[f"q{int(q * 100):02d}"] for q in QUANTILES}
        top = scan(data_root,
                   f"SELECT {col} AS value, count(*) AS count FROM read_parquet($1) "
                   f"WHERE {col} IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT {TOP_VALUES}",
                   src_params, 2).to_pylist() if logical not in OPAQUE_TYPES else []
        stats["top_values"] = [{"value": _clean(r["value"]), "count": int(r["count"])}
                               for r in top]
        if logical in ("int", "float") and stats.get("min") is not None \
                and stats.get("max") is not None:
            stats["histogram"] = _histogram(files, col, float(stats["min"]), float(stats["max"]),
                                            data_root)
        out.append(stats)
        if progress is not None:
            progress((i + 1) / max(1, len(columns)))
    return {"num_rows": num_rows, "columns": out}


def _histogram(files: Sequence[str], col: str, low: float, high: float,
               data_root: str) -> list[dict[str, Any]]:
    width = (high - low) / HISTOGRAM_BINS if high > low else 1.0
    rows = scan(
        data_root,
        f"SELECT least(CAST(floor((CAST({col} AS DOUBLE) - ?) / ?) AS BIGINT), ?) AS bin, "
        f"count(*) AS count FROM read_parquet(?) WHERE {col} IS NOT NULL GROUP BY 1 ORDER BY 1",
        [low, width, HISTOGRAM_BINS - 1, list(files)], 2).to_pylist()
    counts = {int(r["bin"]): int(r["count"]) for r in rows}
    bins = HISTOGRAM_BINS if high > low else 1
    return [{"start": low + b * width, "end": low + (b + 1) * width, "count": counts.get(b, 0)}
            for b in range(bins)]
