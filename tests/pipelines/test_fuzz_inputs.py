"""Fuzzing what users hand the platform: files (corrupt, truncated, huge values, odd
types) must convert or be refused with an IngestError (a 422 naming the file), and
query expressions that fail only when they run must raise QueryFailed or SpecError (a
422), never anything else (a 500)."""

from __future__ import annotations

import datetime as dt
import decimal
import io
import json
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines import ingest
from pipelines.query import Query, QueryFailed, execute_local
from pipelines.spec import SpecError

FUZZ = settings(max_examples=60, deadline=None, derandomize=True,
                suppress_health_check=list(HealthCheck))

ODD_COLUMNS = {
    "uint64": pa.array([0, 2**64 - 1, 5], pa.uint64()),
    "decimal": pa.array([decimal.Decimal("1.5"), None, decimal.Decimal("-2")],
                        pa.decimal128(10, 2)),
    "big_decimal": pa.array([decimal.Decimal(10) ** 30, None, 1], pa.decimal128(38, 0)),
    "list": pa.array([[1, 2], None, []], pa.list_(pa.int64())),
    "struct": pa.array([{"a": 1}, None, {"a": 2}], pa.struct([("a", pa.int64())])),
    "dictionary": pa.array(["x", "y", "x"]).dictionary_encode(),
    "large_string": pa.array(["a", None, "c"], pa.large_string()),
    "binary": pa.array([b"\x00\xff", None, b""], pa.binary()),
    "time": pa.array([dt.time(1, 2), None, dt.time(23, 59)], pa.time64("us")),
    "duration": pa.array([1, None, 3], pa.duration("s")),
    "float16": pa.array([1, None, 3], pa.int8()).cast(pa.float32()),
    "tz_timestamp": pa.array([0, None, 10**12], pa.timestamp("ms", tz="Europe/Berlin")),
    "date64": pa.array([dt.date(2024, 1, 1), None, dt.date(1, 1, 1)], pa.date64()),
    "nan": pa.array([float("nan"), float("inf"), None]),
    "null": pa.nulls(3),
}


def _convert(content: bytes, name: str) -> None:
    """Convert like an upload; only IngestError may come out."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(content)
        out = Path(tmp) / "out"
        out.mkdir()
        try:
            fmt = ingest.sniff_format(path, name, None)
            ingest.convert(path, fmt, out, {})
        except ingest.IngestError:
            pass


def _parquet(columns: list[str]) -> bytes:
    sink = io.BytesIO()
    pq.write_table(pa.table({c: ODD_COLUMNS[c] for c in columns}), sink)
    return sink.getvalue()


@pytest.mark.parametrize("column", sorted(ODD_COLUMNS))
def test_each_odd_parquet_type_converts_or_is_refused(column):
    _convert(_parquet([column]), f"{column}.parquet")


@FUZZ
@given(columns=st.lists(st.sampled_from(sorted(ODD_COLUMNS)), min_size=1, max_size=4,
                        unique=True),
       cut=st.floats(0.05, 0.99), flips=st.lists(st.tuples(st.floats(0, 1),
                                                           st.integers(1, 255)), max_size=8))
def test_corrupt_or_truncated_parquet_is_refused_cleanly(columns, cut, flips):
    raw = bytearray(_parquet(columns))
    for where, mask in flips:
        raw[int(where * (len(raw) - 1))] ^= mask
    _convert(bytes(raw), "flipped.parquet")
    _convert(bytes(raw[: int(len(raw) * cut)]) + b"PAR1", "truncated.parquet")


CSV_CELLS = st.one_of(
    st.integers(-(2**70), 2**70).map(str), st.floats(allow_nan=True).map(repr),
    st.text(alphabet=st.sampled_from('a,"\n\r\t;x0 é\\'), max_size=8),
    st.sampled_from(["2024-13-45", "2024-01-01T25:00", "true", "NaN", "", "0x1F", "1e400",
                     "-0", "01067", "\x00"]))


@FUZZ
@given(rows=st.lists(st.lists(CSV_CELLS, min_size=1, max_size=5), min_size=1, max_size=20))
def test_fuzzed_csv_converts_or_is_refused(rows):
    text = "\n".join(",".join(row) for row in rows)
    _convert(text.encode("utf-8", "surrogatepass"), "fuzz.csv")


JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(2**80), 2**80),
              st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=5)),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.text(max_size=3), inner, max_size=3)),
    max_leaves=8)


@FUZZ
@given(objects=st.lists(st.dictionaries(st.sampled_from(["a", "b", "c", ""]), JSON_VALUES,
                                        min_size=1, max_size=3), min_size=1, max_size=10))
def test_fuzzed_json_lines_convert_or_are_refused(objects):
    body = "\n".join(json.dumps(o) for o in objects)
    _convert(body.encode(), "fuzz.jsonl")


@pytest.fixture(scope="module")
def typed_data(tmp_path_factory):
    root = tmp_path_factory.mktemp("fuzzq")
    table = pa.table({
        "t": pa.array([dt.datetime(2024, 1, 1), dt.datetime(2262, 4, 11)], pa.timestamp("us")),
        "d": pa.array([dt.date(2024, 1, 1), dt.date(9999, 12, 31)], pa.date32()),
        "i": pa.array([2**62, -(2**63)], pa.int64()), "f": [1e308, -0.0],
        "s": ["a", "2024-01-01"], "b": [True, False]})
    pq.write_table(table, root / "part-0.parquet")
    schema = {"t": "timestamp", "d": "date", "i": "int", "f": "float", "s": "string",
              "b": "bool"}
    return str(root), [str(root / "part-0.parquet")], schema


LITERALS = st.one_of(st.integers(-(2**70), 2**70).map(str),
                     st.sampled_from(["'not-a-date'", "'2024-02-30'", "'9999-99-99 99:99'",
                                      "'2024-01-01'", "1e308", "0", "-1", "''",
                                      "99999999999"]))
TEMPLATES = st.sampled_from([
    "t >= {x}", "d < {x}", "i * {x} > 0", "abs(i * {x}) > 0", "i + {x} > 0",
    "round(f, {x}) > 0", "f * {x} > 0", "year(t) = {x}", "date_trunc('month', t) > {x}",
    "i % {x} = 0", "i / {x} > 1", "s = {x}", "length(concat(s, {x})) > 1",
    "coalesce(i, {x}) > 0", "floor(f * {x}) > 0", "ln(f * {x}) > 0",
])


@FUZZ
@given(template=TEMPLATES, literal=LITERALS)
def test_run_time_failures_in_expressions_are_a_422(typed_data, template, literal):
    root, files, schema = typed_data
    expression = template.format(x=literal)
    for body in ({"filter": expression, "columns": ["i"]},
                 {"derive": {"z": f"({expression})"}, "columns": ["z"]}):
        try:
            execute_local(Query.model_validate(body), schema, files, root)
        except (QueryFailed, SpecError):
            pass
