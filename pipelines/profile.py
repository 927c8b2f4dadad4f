"""Dataset profiling: per-column statistics computed by DuckDB over a version's files."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from pipelines.expr import quote_ident
from pipelines.query import scan

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
    total = scan(data_root, "SELECT count(*) AS n FROM read_parquet(?)", src_params, 2)
    num_rows = int(total.column("n")[0].as_py())
    out = []
    for i, column in enumerate(columns):
        name, logical = column["name"], column["type"]
        col = quote_ident(name)
        stats: dict[str, Any] = {"name": name, "type": logical}
        select = [f"count(*) - count({col}) AS nulls",
                  f"approx_count_distinct({col}) AS distinct_approx"]
        if logical in ("int", "float", "timestamp", "date", "string", "bool"):
            select += [f"min({col}) AS min", f"max({col}) AS max"]
        if logical in ("int", "float"):
            select += [f"avg({col}) AS mean", f"stddev_samp({col}) AS std"]
            select += [f"approx_quantile({col}, {q!r}) AS q{int(q * 100):02d}" for q in QUANTILES]
        row = scan(data_root, f"SELECT {', '.join(select)} FROM read_parquet(?)",
                   src_params, 2).to_pylist()[0]
        stats["nulls"] = int(row.pop("nulls"))
        stats["null_fraction"] = stats["nulls"] / num_rows if num_rows else 0.0
        stats["distinct_approx"] = int(row.pop("distinct_approx") or 0)
        quantiles = {k: _clean(row.pop(k)) for k in list(row) if k.startswith("q")}
        stats.update({k: _clean(v) for k, v in row.items()})
        if quantiles:
            stats["quantiles"] = {str(q): quantiles[f"q{int(q * 100):02d}"] for q in QUANTILES}
        top = scan(data_root,
                   f"SELECT {col} AS value, count(*) AS count FROM read_parquet(?) "
                   f"WHERE {col} IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT {TOP_VALUES}",
                   src_params, 2).to_pylist() if logical != "other" else []
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
