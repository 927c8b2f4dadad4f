"""Every step and aggregation on both plans (one DuckDB statement, and Ray Data),
checked against pandas on the same data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines import engine, plan
from pipelines import spec as s
from pipelines.tables import canonicalize, columns_of, schema_map

pytestmark = pytest.mark.usefixtures("ray_session")


def _write(frame: pd.DataFrame, directory: Path, parts: int = 3) -> engine.ResolvedInput:
    directory.mkdir(parents=True)
    table = canonicalize(pa.Table.from_pandas(frame, preserve_index=False))
    step = -(-len(frame) // parts)
    for i in range(parts):
        pq.write_table(table.slice(i * step, step), directory / f"part-{i}.parquet")
    files = sorted(str(p) for p in directory.glob("*.parquet"))
    return engine.ResolvedInput(dataset_id=directory.name, version=1, files=files,
                                schema=schema_map(columns_of(table.schema)),
                                num_rows=len(frame),
                                num_bytes=sum(Path(f).stat().st_size for f in files))


@pytest.fixture(scope="module")
def events() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    n = 3000
    return pd.DataFrame({
        "user": rng.integers(0, 40, n),
        "country": rng.choice(["de", "fr", "us", None], n),
        "amount": np.where(rng.random(n) < 0.05, np.nan, rng.gamma(2.0, 10.0, n)).round(2),
        "at": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 90 * 24, n), "h"),
    })


@pytest.fixture(params=["distributed", "local"])
def run(request: pytest.FixtureRequest) -> Any:
    """Runs steps on the plan of the test's parameter; every test below runs both."""
    return lambda *args, **kwargs: _run(request.param, *args, **kwargs)


def _run(how: str, tmp_path: Path, frame: pd.DataFrame, steps: list[dict[str, Any]],
         right: pd.DataFrame | None = None) -> pd.DataFrame:
    source = _write(frame, tmp_path / "left")
    joined = _write(right, tmp_path / "right") if right is not None else None
    spec = s.PipelineSpec.model_validate({"source": {"dataset": "left"}, "steps": steps,
                                          "sink": {"dataset": "out"}})
    lookup = (lambda ref, version, loc: joined.schema) if joined else None
    schemas = s.validate_steps(spec.steps, source.schema, lookup)
    out = tmp_path / "out"
    if how == "local":
        assert plan.choose(source, [joined] if joined else [], spec.steps,
                           local_max_bytes=1 << 30) == "local"
        compiled = plan.compile_local(source, spec.steps, schemas, lambda step: joined)
        written = plan.run_local(compiled, out, tmp_path / "scratch", threads=2, memory="1GB")
        meta = {"num_rows": written["rows"]}
    else:
        executor = engine.Executor(scratch=tmp_path / "scratch", cpus=2)
        ds = executor.build(source, spec.steps, schemas, lambda step: joined)
        out.mkdir()
        meta = engine.write_output(ds, out, schemas[-1])
    table = pq.read_table(sorted(str(p) for p in out.glob("*.parquet")))
    assert meta["num_rows"] == table.num_rows
    assert table.column_names == list(schemas[-1])
    assert schema_map(columns_of(table.schema)) == schemas[-1]  # the declared types
    return table.to_pandas()


def _cell(value: Any) -> Any:
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)) \
            or value is pd.NaT:
        return None
    if isinstance(value, float | np.floating):
        return float(f"{float(value):.9g}")
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value


def _rows(frame: pd.DataFrame) -> list[tuple[Any, ...]]:
    rows = [tuple(_cell(v) for v in row) for row in frame.itertuples(index=False)]
    return sorted(rows, key=lambda r: tuple((v is None, str(v)) for v in r))


def same_rows(got: pd.DataFrame, want: pd.DataFrame) -> None:
    """Order-insensitive frame equality (floats to 9 digits, NaN == NA == None)."""
    assert list(got.columns) == list(want.columns)
    assert _rows(got) == _rows(want)


def test_select_rename_cast(run, tmp_path, events):
    got = run(tmp_path, events, [
        {"op": "select", "columns": ["user", "amount"]},
        {"op": "rename", "mapping": {"user": "customer"}},
        {"op": "cast", "columns": {"customer": "string", "amount": "int"}, "on_error": "null"},
    ])
    want = events[["user", "amount"]].rename(columns={"user": "customer"})
    want["customer"] = want["customer"].astype(str)
    want["amount"] = want["amount"].round().astype("Int64")  # DuckDB also rounds half to even
    same_rows(got, want)


def test_filter_derive_fill_drop(run, tmp_path, events):
    got = run(tmp_path, events, [
        {"op": "filter", "expr": "amount > 5 or amount is null"},
        {"op": "fill_null", "values": {"amount": 0.0}},
        {"op": "derive", "column": "eur", "expr": "amount * 0.9 + user"},
        {"op": "drop_null"},
    ])
    want = events[(events.amount > 5) | events.amount.isna()].copy()
    want["amount"] = want["amount"].fillna(0.0)
    want["eur"] = want["amount"] * 0.9 + want["user"]
    same_rows(got, want.dropna())


def test_dedupe_whole_rows_and_by_key(run, tmp_path, events):
    doubled = pd.concat([events, events.iloc[:500]])
    same_rows(run(tmp_path / "a", doubled, [{"op": "dedupe"}]), events)
    by_user = run(tmp_path / "b", doubled, [{"op": "dedupe", "columns": ["user"]}])
    assert sorted(by_user.user) == sorted(events.user.unique())


def test_every_aggregation(run, tmp_path, events):
    got = run(tmp_path, events, [{"op": "aggregate", "group_by": ["country"], "aggregations": [
        {"op": "count"}, {"op": "count", "column": "amount", "as": "n_amount"},
        {"op": "sum", "column": "amount"}, {"op": "mean", "column": "amount"},
        {"op": "min", "column": "amount"}, {"op": "max", "column": "at"},
        {"op": "std", "column": "amount"}, {"op": "quantile", "column": "amount", "q": 0.9},
        {"op": "count_distinct", "column": "user"},
    ]}])
    g = events.groupby("country", dropna=False)
    want = pd.DataFrame({
        "count": g.size(), "n_amount": g.amount.count(), "amount_sum": g.amount.sum(),
        "amount_mean": g.amount.mean(), "amount_min": g.amount.min(), "at_max": g.at.max(),
        "amount_std": g.amount.std(), "amount_q90": g.amount.quantile(0.9),
        "user_count_distinct": g.user.nunique(),
    }).reset_index()
    same_rows(got, want)


def test_decomposable_aggregation_without_groups(run, tmp_path, events):
    got = run(tmp_path, events, [{"op": "aggregate", "aggregations": [
        {"op": "count"}, {"op": "mean", "column": "amount"}, {"op": "max", "column": "user"}]}])
    assert got.to_dict("records") == [pytest.approx({
        "count": len(events), "amount_mean": events.amount.mean(),
        "user_max": events.user.max()})]


@pytest.mark.parametrize("how", ["inner", "left", "right", "outer"])
def test_join(run, tmp_path, events, how):
    users = pd.DataFrame({"user": np.arange(20, 60), "tier": [f"t{i % 3}" for i in range(40)],
                          "amount": np.arange(40) * 1.0})
    got = run(tmp_path, events, [{"op": "join", "dataset": "users", "on": ["user"], "how": how}],
              right=users)
    want = events.merge(users, on="user", how=how, suffixes=("", "_right"))
    same_rows(got, want)


def test_sort_limit_sample(run, tmp_path, events):
    top = run(tmp_path / "a", events, [
        {"op": "filter", "expr": "amount is not null"},
        {"op": "sort", "by": [{"column": "amount", "desc": True}, {"column": "user"}]},
        {"op": "limit", "n": 25}])
    want = events.dropna(subset=["amount"]).sort_values(["amount", "user"],
                                                        ascending=[False, True]).head(25)
    assert list(top.amount) == list(want.amount)
    ordered = run(tmp_path / "b", events, [{"op": "sort", "by": [{"column": "at"}]}])
    assert ordered["at"].is_monotonic_increasing and len(ordered) == len(events)
    sampled = run(tmp_path / "c", events, [{"op": "sample", "fraction": 0.3, "seed": 1}])
    assert 0.2 * len(events) < len(sampled) < 0.4 * len(events)
    assert set(map(tuple, sampled.astype(str).values)) <= set(map(tuple,
                                                                 events.astype(str).values))


def test_unknown_columns_and_type_errors_point_at_the_field(events):
    schema = schema_map(columns_of(canonicalize(pa.Table.from_pandas(events)).schema))
    cases = [
        ([{"op": "select", "columns": ["user", "nope"]}], ("steps", 0, "columns", 1)),
        ([{"op": "filter", "expr": "country > 3"}], ("steps", 0, "expr")),
        ([{"op": "derive", "column": "x", "expr": "upper(amount)"}], ("steps", 0, "expr")),
        ([{"op": "rename", "mapping": {"user": "u"}}, {"op": "sort", "by": [{"column": "user"}]}],
         ("steps", 1, "by", 0, "column")),
        ([{"op": "aggregate", "aggregations": [{"op": "sum", "column": "country"}]}],
         ("steps", 0, "aggregations", 0, "column")),
        ([{"op": "fill_null", "values": {"user": "zero"}}], ("steps", 0, "values", "user")),
    ]
    for steps, loc in cases:
        spec = s.PipelineSpec.model_validate({"source": {"dataset": "x"}, "steps": steps,
                                              "sink": {"dataset": "y"}})
        with pytest.raises(s.SpecError) as info:
            s.validate_steps(spec.steps, schema)
        assert info.value.loc == loc, (steps, info.value.message)


def test_a_shuffle_reads_only_the_files_of_successful_map_tasks(tmp_path):
    """A map task retried after its node was lost may leave files behind: the reduce side
    reads the manifest of reported files, not whatever lies in the directory."""
    directory = tmp_path / "shuffle"
    batch = pa.table({"k": [1, 2, 3], "v": [10, 20, 30]})
    result = engine._partition_writer(batch, sql="", directory=str(directory),
                                      hash_sql="SELECT *, CAST(0 AS INTEGER) AS __p FROM t")
    (files,) = result.column("files").to_pylist()
    assert result.column("written").to_pylist() == [3] and len(files) == 1
    # An orphan from a failed attempt, next to the committed file.
    pa.ipc.new_file(directory / "__p=0" / "orphan.arrow", batch.schema).close()
    engine._partition_writer(batch, sql="", directory=str(directory),
                             hash_sql="SELECT *, CAST(0 AS INTEGER) AS __p FROM t")
    (directory / engine.MANIFEST).write_text(json.dumps({"0": files}))
    table = engine._read_partition(str(directory), 0)
    assert table is not None and table.num_rows == 3
    assert engine._read_partition(str(directory), 1) is None


async def test_scan_workers_are_warmed_once_per_cpu_and_then_answer(tmp_path):
    """The API warms the analytics scan workers at start; a warmed worker then answers a
    real scan (the same remote function, the same sandbox)."""
    from pipelines.query import Query, execute_on_ray, warm_on_ray

    warmed = await warm_on_ray(str(tmp_path), task_cpus=1, max_workers=8)
    assert 1 <= warmed <= 8
    assert await warm_on_ray(str(tmp_path), task_cpus=1, max_workers=1) == 1
    frame = pd.DataFrame({"city": ["oslo", "rome", "oslo"], "n": [1, 2, 3]})
    source = _write(frame, tmp_path / "warm", parts=1)
    query = Query.model_validate({"group_by": ["city"], "aggregations": [
        {"op": "sum", "column": "n"}], "order_by": [{"column": "city"}]})
    result = await execute_on_ray(query, source.schema, source.files, str(tmp_path),
                                  task_cpus=1, max_partitions=2)
    assert result["rows"] == [["oslo", 4], ["rome", 2]]


def test_a_failing_fused_statement_names_the_step_at_fault(tmp_path, events):
    """A fused statement fails as a whole; the error still names the step at fault."""
    source = _write(events.assign(code=["7"] * (len(events) - 1) + ["seven"]), tmp_path / "in")
    spec = s.PipelineSpec.model_validate({"source": {"dataset": "in"}, "steps": [
        {"op": "filter", "expr": "user >= 0"},
        {"op": "cast", "columns": {"code": "int"}},
        {"op": "aggregate", "aggregations": [{"op": "sum", "column": "code"}]}],
        "sink": {"dataset": "out"}})
    schemas = s.validate_steps(spec.steps, source.schema)
    compiled = plan.compile_local(source, spec.steps, schemas, lambda step: None)
    with pytest.raises(engine.StepFailed, match=r"^step 1 failed: .*seven"):
        plan.run_local(compiled, tmp_path / "out", tmp_path / "scratch", 2, "1GB")
    # On Ray Data the filter and the cast are one statement per batch: the same answer.
    executor = engine.Executor(scratch=tmp_path / "scratch", cpus=2)
    with pytest.raises(Exception, match=r"step 1 failed: .*seven"):
        # The aggregate's shuffle runs the map side while the plan is built.
        ds = executor.build(source, spec.steps, schemas, lambda step: None)
        engine.write_output(ds, tmp_path / "out-ray", schemas[-1])


def test_the_plan_goes_by_size_and_step_kinds(tmp_path, events):
    source = _write(events, tmp_path / "in")
    sql = s.PipelineSpec.model_validate({"source": {"dataset": "in"}, "steps": [
        {"op": "filter", "expr": "user > 3"}], "sink": {"dataset": "o"}}).steps
    model = s.PipelineSpec.model_validate({"source": {"dataset": "in"}, "steps": [
        {"op": "predict", "model": "m"}], "sink": {"dataset": "o"}}).steps
    assert plan.choose(source, [], sql, local_max_bytes=source.num_bytes) == "local"
    assert plan.choose(source, [source], sql, local_max_bytes=source.num_bytes) == \
        "distributed"  # a join's input counts too
    assert plan.choose(source, [], sql, mode="distributed",
                       local_max_bytes=1 << 40) == "distributed"
    assert plan.choose(source, [], sql, mode="local", local_max_bytes=0) == "local"
    assert plan.choose(source, [], model, mode="local", local_max_bytes=1 << 40) == \
        "distributed"  # only Ray Data runs models


@pytest.mark.parametrize("body", [
    {"group_by": ["country"], "aggregations": [{"op": "count"}, {"op": "mean", "column": "amount"}],
     "order_by": [{"column": "country"}]},
    {"group_by": ["user"], "aggregations": [{"op": "quantile", "column": "amount", "q": 0.5},
                                            {"op": "count_distinct", "column": "country"}],
     "order_by": [{"column": "user"}]},
    {"filter": "amount > 30", "order_by": [{"column": "amount", "desc": True}], "limit": 7},
])
async def test_a_query_gives_the_same_answer_in_one_task_and_split(tmp_path, events, body):
    """Small versions are answered by one task with the node's threads; larger ones by
    partitions combined here: the same rows either way."""
    from pipelines.query import Query, execute_on_ray

    source = _write(events, tmp_path / "q", parts=4)
    query = Query.model_validate(body)
    answers = [await execute_on_ray(query, source.schema, source.files, str(tmp_path),
                                    task_cpus=1, max_partitions=4, num_bytes=source.num_bytes,
                                    local_max_bytes=limit) for limit in (1 << 30, 0)]
    one, split = ([[_cell(v) for v in row] for row in a["rows"]] for a in answers)
    assert one == split and one  # floats to 9 digits: partial sums add up in another order


def test_a_local_plan_reads_and_carries_only_the_columns_it_uses(tmp_path, events):
    source = _write(events, tmp_path / "in")
    spec = s.PipelineSpec.model_validate({"source": {"dataset": "in"}, "steps": [
        {"op": "filter", "expr": "amount > 1"},
        {"op": "derive", "column": "eur", "expr": "amount * 0.9"},
        {"op": "dedupe", "columns": ["user"]},
        {"op": "aggregate", "group_by": ["country"], "aggregations": [
            {"op": "sum", "column": "eur"}]}], "sink": {"dataset": "o"}})
    schemas = s.validate_steps(spec.steps, source.schema)
    live = plan.live_columns(spec.steps, schemas)
    assert live[0] == {"user", "country", "amount"}  # `at` is never read from Parquet
    assert live[1] == {"user", "country", "amount"}
    assert live[2] == {"user", "country", "eur"} and live[3] == {"country", "eur"}
    compiled = plan.compile_local(source, spec.steps, schemas, lambda step: None)
    assert '"at"' not in compiled.sql()
    # The dedupe keeps one whole row per user: `amount` is dropped before it.
    assert 'DISTINCT ON ("user") "user", "country", "eur"' in compiled.sql()
