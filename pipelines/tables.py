"""Arrow schemas <-> Helio's logical column types, and the canonical storage types."""

from __future__ import annotations

import decimal
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

CANONICAL: dict[str, pa.DataType] = {
    "int": pa.int64(),
    "float": pa.float64(),
    "string": pa.string(),
    "bool": pa.bool_(),
    "timestamp": pa.timestamp("us"),
    "date": pa.date32(),
    "vector": pa.list_(pa.float32()),  # embeddings
}
# Types that expressions, casts, min/max and top values do not apply to.
OPAQUE_TYPES = ("other", "vector")
# Names accepted in schema overrides and casts, mapped to logical types.
TYPE_ALIASES: dict[str, str] = {
    "int": "int", "int64": "int", "integer": "int", "bigint": "int",
    "float": "float", "float64": "float", "double": "float", "number": "float",
    "string": "string", "str": "string", "text": "string", "varchar": "string",
    "bool": "bool", "boolean": "bool",
    "timestamp": "timestamp", "datetime": "timestamp",
    "date": "date",
}


def logical_type(t: pa.DataType) -> str:
    if pa.types.is_dictionary(t):
        return logical_type(t.value_type)
    if pa.types.is_boolean(t):
        return "bool"
    if pa.types.is_integer(t):
        return "int"
    if pa.types.is_floating(t) or pa.types.is_decimal(t):
        return "float"
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return "string"
    if pa.types.is_timestamp(t):
        return "timestamp"
    if pa.types.is_date(t):
        return "date"
    if (pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t)) \
            and pa.types.is_floating(t.value_type):
        return "vector"
    return "other"


def columns_of(schema: pa.Schema) -> list[dict[str, Any]]:
    return [{"name": f.name, "type": logical_type(f.type)} for f in schema]


def schema_map(columns: list[dict[str, Any]]) -> dict[str, str]:
    return {c["name"]: c["type"] for c in columns}


def canonical_type(t: pa.DataType) -> pa.DataType:
    """What a column of Arrow type `t` is stored as (tz-aware timestamps become UTC)."""
    logical = logical_type(t)
    return CANONICAL.get(logical, t)


def canonicalize(table: pa.Table | pa.RecordBatch) -> pa.Table:
    """Cast every column to its canonical storage type (int64, float64, string, ...)."""
    if isinstance(table, pa.RecordBatch):
        table = pa.Table.from_batches([table])
    arrays = []
    fields = []
    for field, column in zip(table.schema, table.columns, strict=True):
        target = canonical_type(field.type)
        if pa.types.is_dictionary(column.type):
            column = column.cast(column.type.value_type)
        if pa.types.is_timestamp(column.type) and column.type.tz is not None:
            column = pc.cast(column, pa.timestamp(column.type.unit, "UTC")).cast(
                pa.timestamp(column.type.unit))
        if column.type != target:
            column = column.cast(target)
        arrays.append(column)
        fields.append(pa.field(field.name, target))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def canonical_schema(schema: pa.Schema) -> pa.Schema:
    return pa.schema([pa.field(f.name, canonical_type(f.type)) for f in schema])


def json_safe(table: pa.Table) -> pa.Table:
    """NaN/inf become null (JSON has neither) and non-canonical columns become strings."""
    arrays, names = [], []
    for name, column in zip(table.column_names, table.columns, strict=True):
        if pa.types.is_floating(column.type):
            bad = pc.or_(pc.is_nan(column), pc.is_inf(column))
            column = pc.if_else(bad, pa.scalar(None, column.type), column)
        elif logical_type(column.type) == "other":
            try:
                column = column.cast(pa.string())
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                column = pa.array([None if v is None else repr(v) for v in column.to_pylist()],
                                  pa.string())
        arrays.append(column)
        names.append(name)
    return pa.Table.from_arrays(arrays, names=names)


def _json_value(value: Any) -> Any:
    if hasattr(value, "isoformat"):  # datetime, date, time: ISO 8601, as FastAPI writes them
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    return value


def rows_of(table: pa.Table) -> list[list[Any]]:
    """Rows as JSON-native lists (so results can be cached as JSON, in Redis too)."""
    return [[_json_value(v) for v in r.values()] for r in json_safe(table).to_pylist()]
