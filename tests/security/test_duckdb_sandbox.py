"""Every DuckDB connection that runs SQL built from user input (the query engine's and the
pipeline kernels') is built by one function with the sandbox settings."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines import kernels, query
from pipelines.sandbox import duckdb_connection

ESCAPES = [
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM read_parquet('{outside}')",
    "COPY (SELECT 1) TO '/tmp/helio-duckdb-escape.csv'",
    "ATTACH '/tmp/helio-duckdb-escape.db'",
    "INSTALL httpfs",
    "LOAD httpfs",
    "SET enable_external_access = true",
    "SET allowed_directories = ['/']",
    "SET lock_configuration = false",
]


@pytest.fixture
def outside(tmp_path: Path) -> str:
    path = tmp_path / "outside" / "secret.parquet"
    path.parent.mkdir()
    pq.write_table(pa.table({"x": [1]}), path)
    return str(path)


def _connections(tmp_path: Path) -> dict[str, duckdb.DuckDBPyConnection]:
    root = tmp_path / "data"
    root.mkdir()
    return {"kernels": kernels.connection(), "query": query._sandbox(str(root), 1),
            "direct": duckdb_connection(threads=1, allowed_directories=[str(root)])}


def test_no_connection_reaches_outside_its_directories(tmp_path, outside):
    for name, con in _connections(tmp_path).items():
        for sql in ESCAPES:
            with pytest.raises(duckdb.Error):
                con.execute(sql.format(outside=outside))
                pytest.fail(f"{name}: {sql} ran")
    assert not Path("/tmp/helio-duckdb-escape.csv").exists()
    assert not Path("/tmp/helio-duckdb-escape.db").exists()


def test_kernels_still_compute_on_arrow_tables():
    table = pa.table({"a": [1, 2, 3]})
    result = kernels.run_sql("SELECT sum(a) AS s FROM t", [], {"t": table})
    assert result.column("s").to_pylist() == [6]


def test_the_query_sandbox_reads_inside_the_data_root(tmp_path):
    root = tmp_path / "data"
    (root / "d").mkdir(parents=True)
    pq.write_table(pa.table({"x": [1, 2]}), root / "d" / "p.parquet")
    table = query.scan(str(root), "SELECT count(*) AS n FROM read_parquet($1)",
                       [[str(root / "d" / "p.parquet")]])
    assert table.column("n").to_pylist() == [2]


def test_duckdb_is_opened_in_one_place():
    source = Path(__file__).resolve().parents[2]
    opened = [str(p.relative_to(source)) for folder in ("cluster", "deployments", "actors",
                                                         "pipelines")
              for p in (source / folder).rglob("*.py") if "duckdb.connect(" in p.read_text()]
    assert opened == ["pipelines/sandbox.py"], opened
