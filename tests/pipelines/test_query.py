"""The analytics query engine against pandas, its cache key, and its DuckDB sandbox."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines.query import Query, QueryFailed, combine, execute_local, scan, split
from pipelines.tables import canonicalize

SCHEMA = {"user": "int", "country": "string", "amount": "float", "at": "timestamp"}


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> tuple[pd.DataFrame, list[str], str]:
    root = tmp_path_factory.mktemp("q")
    rng = np.random.default_rng(5)
    n = 20_000
    frame = pd.DataFrame({
        "user": rng.integers(0, 300, n),
        "country": rng.choice(["de", "fr", "us", None], n),
        "amount": np.where(rng.random(n) < 0.03, np.nan, rng.gamma(2, 10, n)),
        "at": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 24 * 120, n), "h"),
    })
    table = canonicalize(pa.Table.from_pandas(frame, preserve_index=False))
    for i in range(4):
        pq.write_table(table.slice(i * 5000, 5000), root / f"part-{i}.parquet")
    return frame, sorted(str(p) for p in root.glob("*.parquet")), str(root)


def _run(data, body):
    _, files, root = data
    return execute_local(Query.model_validate(body), SCHEMA, files, root)


def test_grouped_time_buckets_match_pandas(data):
    frame = data[0]
    result = _run(data, {
        "derive": {"eur": "amount * 0.9"}, "filter": "eur > 5 and country is not null",
        "group_by": ["country", {"column": "at", "bucket": "month"}],
        "aggregations": [{"op": "count"}, {"op": "sum", "column": "eur"},
                         {"op": "mean", "column": "amount"}, {"op": "max", "column": "user"}],
        "order_by": [{"column": "country"}, {"column": "at_month"}]})
    f = frame.assign(eur=frame.amount * 0.9)
    f = f[(f.eur > 5) & f.country.notna()]
    f = f.assign(at_month=f["at"].dt.to_period("M").dt.start_time)
    want = f.groupby(["country", "at_month"]).agg(
        count=("eur", "size"), eur_sum=("eur", "sum"), amount_mean=("amount", "mean"),
        user_max=("user", "max")).reset_index()
    assert [r[:2] for r in result["rows"]] == [
        [c, m.isoformat()] for c, m in zip(want.country, want.at_month, strict=True)]
    got = np.array([r[2:] for r in result["rows"]], dtype=float)
    np.testing.assert_allclose(got, want[["count", "eur_sum", "amount_mean", "user_max"]]
                               .to_numpy(dtype=float))
    json.dumps(result)  # JSON-native: the cache stores it as is


def test_order_by_the_bucketed_column_orders_its_buckets(data):
    """A monthly series ordered by `at` (the column it was bucketed from), as the
    dashboard's query builder asks for it."""
    by_source = _run(data, {"group_by": [{"column": "at", "bucket": "month"}],
                            "aggregations": [{"op": "count"}],
                            "order_by": [{"column": "at", "desc": True}]})
    by_output = _run(data, {"group_by": [{"column": "at", "bucket": "month"}],
                            "aggregations": [{"op": "count"}],
                            "order_by": [{"column": "at_month", "desc": True}]})
    assert [c["name"] for c in by_source["columns"]] == ["at_month", "count"]
    assert by_source["rows"] == by_output["rows"]
    months = [r[0] for r in by_source["rows"]]
    assert months == sorted(months, reverse=True) and len(months) == 4


def test_non_decomposable_aggregations(data):
    frame = data[0]
    result = _run(data, {"group_by": ["country"], "order_by": [{"column": "country"}],
                         "aggregations": [{"op": "quantile", "column": "amount", "q": 0.5},
                                          {"op": "count_distinct", "column": "user"},
                                          {"op": "std", "column": "amount"}]})
    g = frame.groupby("country", dropna=False)
    want = pd.DataFrame({"q": g.amount.quantile(0.5), "d": g.user.nunique(),
                         "s": g.amount.std()}).reset_index()
    want = want.sort_values("country", na_position="last")
    assert [r[0] for r in result["rows"]] == [None if pd.isna(c) else c for c in want.country]
    np.testing.assert_allclose(np.array([r[1:] for r in result["rows"]], dtype=float),
                               want[["q", "d", "s"]].to_numpy(dtype=float))


def test_rows_order_and_limit_across_partitions(data):
    frame, files, root = data
    query = Query.model_validate({"columns": ["user", "amount"], "filter": "amount > 30",
                                  "order_by": [{"column": "amount", "desc": True}],
                                  "limit": 7})
    from pipelines.query import _plan, scan_sql, validate_query

    out = validate_query(query, SCHEMA)
    needed, shape = _plan(query, SCHEMA, out)
    partials = [scan(root, *scan_sql(query, SCHEMA, out, group, shape, needed))
                for group in split(files, 3)]
    table = combine(query, out, partials, shape)
    want = frame[frame.amount > 30].nlargest(7, "amount")
    assert table.column("amount").to_pylist()[:7] == list(want.amount)  # +1 row: truncation
    assert _run(data, query.model_dump(by_alias=True))["truncated"] is True


def test_canonical_hash_ignores_spelling():
    a = Query.model_validate({"group_by": ["c"], "aggregations": [{"op": "count"}]})
    b = Query.model_validate({"aggregations": [{"op": "count", "column": None}], "limit": 1000,
                              "group_by": [{"column": "c"}]})
    c = Query.model_validate({"group_by": ["c"], "aggregations": [{"op": "count"}], "limit": 5})
    assert a.canonical_hash() == b.canonical_hash() != c.canonical_hash()


def test_sandbox_reads_only_the_data_root(data, tmp_path):
    outside = tmp_path / "secret.parquet"
    pq.write_table(pa.table({"x": [1]}), outside)
    _, files, root = data
    assert scan(root, "SELECT count(*) AS n FROM read_parquet($1)", [files]).num_rows == 1
    for sql, params in [("SELECT * FROM read_parquet($1)", [str(outside)]),
                        ("SELECT * FROM read_csv('/etc/passwd')", []),
                        ("COPY (SELECT 1) TO '/tmp/helio-escape.csv'", []),
                        ("SET enable_external_access = true", [])]:
        with pytest.raises((duckdb.Error, QueryFailed)):  # refused, as a 422 or by DuckDB
            scan(root, sql, params)
    assert not Path("/tmp/helio-escape.csv").exists()
