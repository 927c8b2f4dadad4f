"""Every DuckDB connection that runs SQL built from user input (the query engine's, the
pipeline kernels' and a pipeline's one-statement plan) is built by one function with the
sandbox settings."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines import engine, kernels, plan, query
from pipelines import spec as s
from pipelines.sandbox import duckdb_connection
from pipelines.tables import columns_of, schema_map

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
    return {"kernels": kernels.connection(), "query": query._sandbox(str(root), 1, 256),
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


def _dataset(root: Path, name: str, table: pa.Table) -> engine.ResolvedInput:
    path = root / name / "v1" / "part-0.parquet"
    path.parent.mkdir(parents=True)
    pq.write_table(table, path)
    return engine.ResolvedInput(dataset_id=name, version=1, files=[str(path)],
                                schema=schema_map(columns_of(table.schema)),
                                num_rows=table.num_rows, num_bytes=path.stat().st_size)


def test_a_local_plan_reads_only_its_inputs_and_writes_only_its_output(tmp_path, outside):
    """A pipeline's one-statement plan opens the directories of its input files, its
    output and its scratch: not another dataset under the same data root, not anything
    else on the machine."""
    root = tmp_path / "data"
    mine = _dataset(root, "mine", pa.table({"x": [1, 2, 3]}))
    theirs = _dataset(root, "theirs", pa.table({"x": [42]}))
    spec = s.PipelineSpec.model_validate({"source": {"dataset": "mine"}, "steps": [],
                                          "sink": {"dataset": "out"}})
    schemas = s.validate_steps(spec.steps, mine.schema)
    compiled = plan.compile_local(mine, spec.steps, schemas, lambda step: None)
    out = root / "out" / "staging"
    assert plan.run_local(compiled, out, tmp_path / "scratch", 1, "256MB")["rows"] == 3
    for target in (theirs.files[0], outside, "/etc/passwd"):
        crafted = dataclasses.replace(compiled, params=[[target]])
        with pytest.raises(engine.StepFailed, match="Permission Error"):
            plan.run_local(crafted, out / "again", tmp_path / "scratch", 1, "256MB")
    escape = dataclasses.replace(compiled, ctes=[
        "s0 AS (SELECT * FROM read_csv('/etc/passwd'))"])
    with pytest.raises(engine.StepFailed):
        plan.run_local(escape, out / "third", tmp_path / "scratch", 1, "256MB")


def test_values_in_a_local_plan_are_bound_not_spliced(tmp_path):
    root = tmp_path / "data"
    source = _dataset(root, "t", pa.table({"name": ["a", "x'); DROP TABLE s0; --"]}))
    spec = s.PipelineSpec.model_validate({"source": {"dataset": "t"}, "steps": [
        {"op": "filter", "expr": "name == 'x''); DROP TABLE s0; --'"},
        {"op": "fill_null", "values": {"name": "'; COPY (SELECT 1) TO '/tmp/x.csv"}}],
        "sink": {"dataset": "out"}})
    schemas = s.validate_steps(spec.steps, source.schema)
    compiled = plan.compile_local(source, spec.steps, schemas, lambda step: None)
    assert "DROP" not in compiled.sql() and "COPY" not in compiled.sql()
    out = root / "out"
    assert plan.run_local(compiled, out, tmp_path / "scratch", 1, "256MB")["rows"] == 1
    assert pq.read_table(out / plan.OUTPUT_FILE).column("name").to_pylist() == [
        "x'); DROP TABLE s0; --"]
