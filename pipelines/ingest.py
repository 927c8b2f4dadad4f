"""Uploaded files (CSV, JSON Lines, Parquet) -> canonical Parquet files of a new version.

Everything streams: the file is read block by block and written batch by batch, so
memory stays bounded whatever the file size. Types are inferred (CSV: a column whose
later values do not fit the inferred type is widened int -> float -> string and the
file re-read) and can be overridden per column.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.json as pjson
import pyarrow.parquet as pq

from pipelines.tables import CANONICAL, TYPE_ALIASES, canonicalize, columns_of, rows_of

FORMATS = ("csv", "jsonl", "parquet")
ROWS_PER_FILE = 1_000_000
CSV_BLOCK_BYTES = 8 << 20
MAX_COLUMNS = 2000
HEADER_MAX_BYTES = 1 << 20
# Below this many decoded bytes a file is never refused for its compression ratio.
EXPANSION_FLOOR = 64 << 20


@dataclass(frozen=True, slots=True)
class IngestLimits:
    """Bounds checked before (or while) a file is decoded, so a small file cannot make
    the converting process allocate gigabytes (HELIO_UPLOAD_MAX_*)."""

    max_columns: int = MAX_COLUMNS
    max_cell_bytes: int = 16 << 20
    max_row_group_bytes: int = 512 << 20
    max_expansion: float = 200.0  # decoded bytes per byte of the file


class IngestError(ValueError):
    """Bad input; `field` names the form field at fault (`file`, `schema`, `format`)."""

    def __init__(self, message: str, field: str = "file") -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def parse_overrides(raw: dict[str, Any]) -> dict[str, str]:
    out = {}
    for column, name in raw.items():
        key = str(name).strip().lower()
        if key not in TYPE_ALIASES:
            raise IngestError(f"unknown type {name!r} for column {column!r}; use int, float, "
                              "string, bool, timestamp or date", field=f"schema.{column}")
        out[str(column)] = TYPE_ALIASES[key]
    return out


def sniff_format(path: Path, filename: str | None, declared: str | None) -> str:
    """The file's format: declared, else from its first bytes (and name as a hint)."""
    with path.open("rb") as fh:
        head = fh.read(4096)
    if not head.strip():
        raise IngestError("the file is empty")
    looks_parquet = head[:4] == b"PAR1"
    first = head.lstrip()[:1]
    if declared is not None:
        if declared not in FORMATS:
            raise IngestError(f"format must be one of {', '.join(FORMATS)}", field="format")
        if declared == "parquet" and not looks_parquet:
            raise IngestError("declared parquet, but the file is not a Parquet file")
        if declared != "parquet" and looks_parquet:
            raise IngestError(f"declared {declared}, but the file is a Parquet file")
        return declared
    if looks_parquet:
        return "parquet"
    name = (filename or "").lower()
    if first in (b"{", b"[") or name.endswith((".jsonl", ".ndjson", ".json")):
        if first == b"[":
            raise IngestError("JSON arrays are not supported; upload JSON Lines "
                              "(one object per line)")
        return "jsonl"
    if b"\x00" in head:
        raise IngestError("the file is binary and not Parquet; upload CSV, JSON Lines or "
                          "Parquet")
    return "csv"


class _Writer:
    """Rolls Parquet files every ROWS_PER_FILE rows."""

    def __init__(self, directory: Path, overrides: dict[str, str]) -> None:
        self.directory = directory
        self.overrides = overrides
        self.writer: pq.ParquetWriter | None = None
        self.schema: pa.Schema | None = None
        self.rows_in_file = 0
        self.files: list[Path] = []
        self.rows = 0

    def write(self, batch: pa.RecordBatch | pa.Table) -> None:
        table = canonicalize(batch)
        if self.overrides:
            table = _apply_overrides(table, self.overrides)
        if self.schema is None:
            self.schema = table.schema
        elif table.schema != self.schema:
            table = table.cast(self.schema)
        if table.num_rows == 0:
            return
        try:
            if self.writer is None or self.rows_in_file >= ROWS_PER_FILE:
                self._roll()
            assert self.writer is not None
            self.writer.write_table(table)
        except (pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
            # A type Parquet cannot hold (a struct with no fields, ...).
            raise IngestError(f"the file's columns cannot be stored: {_short(str(exc))}") \
                from None
        self.rows_in_file += table.num_rows
        self.rows += table.num_rows

    def _roll(self) -> None:
        if self.writer is not None:
            self.writer.close()
        path = self.directory / f"part-{len(self.files):05d}.parquet"
        self.files.append(path)
        assert self.schema is not None
        self.writer = pq.ParquetWriter(path, self.schema, compression="zstd")
        self.rows_in_file = 0

    def close(self) -> dict[str, Any]:
        if self.writer is None:  # no rows: still publish the schema
            if self.schema is None:
                raise IngestError("the file has no columns")
            try:
                self._roll()
            except (pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
                raise IngestError("the file's columns cannot be stored: "
                                  f"{_short(str(exc))}") from None
        assert self.writer is not None and self.schema is not None
        self.writer.close()
        return {"columns": columns_of(self.schema), "num_rows": self.rows,
                "num_bytes": sum(f.stat().st_size for f in self.files),
                "num_files": len(self.files)}

    def discard(self) -> None:
        if self.writer is not None:
            self.writer.close()
        for f in self.files:
            f.unlink(missing_ok=True)
        self.files, self.writer, self.schema, self.rows = [], None, None, 0


def _apply_overrides(table: pa.Table, overrides: dict[str, str]) -> pa.Table:
    for name, logical in overrides.items():
        if name not in table.column_names:
            raise IngestError(f"schema override names column {name!r}, which the file "
                              f"does not have; columns are: {', '.join(table.column_names)}",
                              field=f"schema.{name}")
        index = table.column_names.index(name)
        column = table.column(index)
        target = CANONICAL[logical]
        if column.type == target:
            continue
        try:
            column = column.cast(target)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise IngestError(f"column {name!r} cannot be read as {logical}: "
                              f"{_short(str(exc))}", field=f"schema.{name}") from None
        table = table.set_column(index, name, column)
    return table


def _short(message: str) -> str:
    return message.splitlines()[0][:300]


def _check_columns(names: list[str], max_columns: int = MAX_COLUMNS) -> None:
    _check_column_count(len(names), max_columns)
    seen = set()
    for name in names:
        if not name.strip():
            raise IngestError("a column has an empty name")
        if name in seen:
            raise IngestError(f"column name {name!r} appears twice")
        seen.add(name)


def _check_column_count(count: int, max_columns: int) -> None:
    if count > max_columns:
        raise IngestError(f"the file has {count} columns; at most {max_columns} are allowed "
                          "(HELIO_UPLOAD_MAX_COLUMNS)")


def _first_line(path: Path) -> str:
    """The file's first line (its header), read with a bound."""
    with path.open("rb") as fh:
        head = fh.read(HEADER_MAX_BYTES + 1)
    end = head.find(b"\n")
    if end < 0:
        if len(head) > HEADER_MAX_BYTES:
            raise IngestError(f"the first line is longer than {HEADER_MAX_BYTES >> 20} MiB")
        end = len(head)
    return head[:end].decode("utf-8", "replace")


def _precheck_csv(path: Path, limits: IngestLimits) -> None:
    """Count the header's columns before Arrow builds a reader for them (300,000 columns
    in 2.9 MB grew the converting process by 2.5 GB)."""
    line = _first_line(path)
    try:
        count = len(next(csv.reader(io.StringIO(line, newline="")), []))
    except csv.Error:  # a stray quote or CR: Arrow's reader names it; bound it anyway
        count = line.count(",") + 1
    _check_column_count(count, limits.max_columns)


def _precheck_jsonl(path: Path, limits: IngestLimits) -> None:
    try:
        first = json.loads(_first_line(path))
    except ValueError:
        return  # Arrow's reader names the error and its line
    if isinstance(first, dict):
        _check_column_count(len(first), limits.max_columns)


def _precheck_parquet(path: Path, limits: IngestLimits) -> pq.FileMetaData:
    """The footer says how much each row group decodes to: refuse before decoding."""
    try:
        meta = pq.read_metadata(path)
        _check_column_count(meta.num_columns, limits.max_columns)
        sizes = [sum(meta.row_group(i).column(j).total_uncompressed_size
                     for j in range(meta.row_group(i).num_columns))
                 for i in range(meta.num_row_groups)]
    except (pa.ArrowException, OSError, ValueError) as exc:  # UnicodeDecodeError included
        if isinstance(exc, IngestError):
            raise
        raise IngestError(f"invalid Parquet file: {_short(str(exc))}") from None
    total = 0
    for i, decoded in enumerate(sizes):
        if decoded > limits.max_row_group_bytes:
            raise IngestError(f"row group {i} decodes to {decoded / (1 << 20):.0f} MiB; at most "
                              f"{limits.max_row_group_bytes >> 20} MiB per row group "
                              "(HELIO_UPLOAD_MAX_ROW_GROUP_MB)")
        total += decoded
    size = max(1, path.stat().st_size)
    if total > EXPANSION_FLOOR and total > size * limits.max_expansion:
        raise IngestError(f"the file decodes to {total / (1 << 20):.0f} MiB from "
                          f"{size / 1024:.1f} kB ({total / size:.0f}x its size); at most "
                          f"{limits.max_expansion:g}x (HELIO_UPLOAD_MAX_EXPANSION)")
    return meta


def _check_cells(batch: pa.RecordBatch, limits: IngestLimits) -> None:
    for name, column in zip(batch.schema.names, batch.columns, strict=True):
        kind = column.type
        if pa.types.is_dictionary(kind):
            column, kind = column.dictionary, kind.value_type
        if pa.types.is_string(kind) or pa.types.is_binary(kind) or \
                pa.types.is_large_string(kind) or pa.types.is_large_binary(kind):
            longest = pc.max(pc.binary_length(column)).as_py() or 0
            if longest > limits.max_cell_bytes:
                raise IngestError(f"column {name!r} has a value of {longest / (1 << 20):.1f} "
                                  f"MiB; at most {limits.max_cell_bytes >> 20} MiB per value "
                                  "(HELIO_UPLOAD_MAX_CELL_MB)")


_CONVERSION = re.compile(r"In CSV column #(\d+): .*CSV conversion error to (\w+): "
                         r"invalid value '(.*)'", re.S)
_WIDER = {"int64": pa.float64(), "double": pa.string(), "bool": pa.string(),
          "timestamp": pa.string(), "date32": pa.string()}


def _open_csv(path: Path, column_types: dict[str, pa.DataType],
              bad_rows: list[tuple[int | None, str]]) -> pcsv.CSVStreamingReader:
    def on_invalid(row: Any) -> str:
        bad_rows.append((row.number, row.text))
        return "error"

    reader = pcsv.open_csv(
        path,
        read_options=pcsv.ReadOptions(block_size=CSV_BLOCK_BYTES, use_threads=False),
        parse_options=pcsv.ParseOptions(newlines_in_values=True, invalid_row_handler=on_invalid),
        convert_options=pcsv.ConvertOptions(column_types=column_types, strings_can_be_null=True),
    )
    _check_columns(reader.schema.names)
    for name in column_types:
        if name not in reader.schema.names:
            raise IngestError(f"schema override names column {name!r}, which the file does "
                              f"not have; columns are: {', '.join(reader.schema.names)}",
                              field=f"schema.{name}")
    return reader


def _convert_csv(path: Path, writer: _Writer, overrides: dict[str, str]) -> None:
    column_types: dict[str, pa.DataType] = {k: CANONICAL[v] for k, v in overrides.items()}
    while True:
        bad_rows: list[tuple[int | None, str]] = []
        names: list[str] = []
        try:
            reader = _open_csv(path, column_types, bad_rows)
            names = reader.schema.names
            writer.write(reader.schema.empty_table())  # a header-only file still has columns
            for batch in reader:
                writer.write(batch)
            return
        except pa.ArrowInvalid as exc:
            message = str(exc)
            if bad_rows:
                number, text = bad_rows[0]
                where = f"row {number} (the header is row 1)" if number else "a row"
                raise IngestError(f"malformed CSV at {where}: {_short(message)}; "
                                  f"the row reads {text[:200]!r}") from None
            match = _CONVERSION.search(message)
            if match is None:
                raise IngestError(f"could not read the CSV: {_short(message)}") from None
            index, type_name, value = int(match.group(1)), match.group(2), match.group(3)
            names = names or _header(path)
            column = names[index] if index < len(names) else f"#{index}"
            if column in overrides:
                raise IngestError(f"column {column!r} has value {value[:100]!r}, which is "
                                  f"not a valid {overrides[column]}",
                                  field=f"schema.{column}") from None
            if column_types.get(column) == pa.string():
                raise IngestError(f"could not read column {column!r}: {_short(message)}") \
                    from None
            # A later block disagrees with the type inferred from the first: widen, re-read.
            column_types[column] = _WIDER.get(type_name.split("[")[0], pa.string())
            writer.discard()


def _header(path: Path) -> list[str]:
    reader = pcsv.open_csv(path, read_options=pcsv.ReadOptions(block_size=1 << 16))
    return list(reader.schema.names)


def _convert_jsonl(path: Path, writer: _Writer, overrides: dict[str, str]) -> None:
    line = 0
    try:
        reader = pjson.open_json(path, read_options=pjson.ReadOptions(block_size=CSV_BLOCK_BYTES))
        _check_columns(reader.schema.names)
        for batch in reader:
            writer.write(batch)
            line += batch.num_rows
    except pa.ArrowInvalid as exc:
        message = _short(str(exc))
        match = re.search(r" in row (\d+)$", message)
        if match:
            where = int(match.group(1)) + line + 1
            message = message[: match.start()] + f" (near line {where})"
        raise IngestError(f"invalid JSON Lines: {message}") from None
    del overrides


def _convert_parquet(path: Path, writer: _Writer, limits: IngestLimits) -> None:
    meta = _precheck_parquet(path, limits)
    try:
        parquet = pq.ParquetFile(path)
        _check_columns(parquet.schema_arrow.names, limits.max_columns)
        if meta.num_rows == 0:
            writer.write(parquet.schema_arrow.empty_table())
        # Batches no larger than a row group's share, so one batch stays bounded too.
        for batch in parquet.iter_batches(batch_size=16 * 1024):
            _check_cells(batch, limits)
            writer.write(batch)
    except (pa.ArrowException, OSError, ValueError) as exc:
        if isinstance(exc, IngestError):
            raise
        # Corrupt pages, bad encodings, a value the canonical type cannot hold.
        raise IngestError(f"invalid Parquet file: {_short(str(exc))}") from None


def convert(path: Path, fmt: str, directory: Path, overrides: dict[str, str],
            limits: IngestLimits = IngestLimits()) -> dict[str, Any]:
    """Convert `path` into Parquet files in `directory`; returns the version's metadata."""
    writer = _Writer(directory, overrides)
    try:
        if fmt == "csv":
            _precheck_csv(path, limits)
            # CSV overrides are applied by the reader itself (exact errors per value).
            writer.overrides = {}
            _convert_csv(path, writer, overrides)
        elif fmt == "jsonl":
            _precheck_jsonl(path, limits)
            _convert_jsonl(path, writer, overrides)
        else:
            _convert_parquet(path, writer, limits)
        return writer.close()
    except BaseException:
        writer.discard()
        raise


_LEADING_ZERO = re.compile(r"^[+-]?0\d")


def inspect(path: Path, fmt: str, overrides: dict[str, str], directory: Path,
            rows: int = 10, limits: IngestLimits = IngestLimits()
            ) -> dict[str, Any]:
    """What an upload of (the head of) this file would become, without keeping it: the
    inferred column types, the first `rows` rows, and hints where inference loses data
    (a number column whose text has leading zeros, such as a zip code)."""
    meta = convert(path, fmt, directory, overrides, limits)
    files = sorted(directory.glob("*.parquet"))
    head = pq.read_table(files[0]).slice(0, rows) if files else None
    hints: dict[str, str] = {}
    if fmt == "csv":
        numeric = [c["name"] for c in meta["columns"]
                   if c["type"] in ("int", "float") and c["name"] not in overrides]
        if numeric:
            text = pcsv.read_csv(path, convert_options=pcsv.ConvertOptions(
                column_types=dict.fromkeys(numeric, pa.string()), include_columns=numeric))
            for name in numeric:
                values = text.column(name).drop_null().to_pylist()
                if any(_LEADING_ZERO.match(v) for v in values):
                    hints[name] = ("values such as "
                                   f"{next(v for v in values if _LEADING_ZERO.match(v))!r} "
                                   "have leading zeros, which a number drops: keep it as "
                                   "string")
    return {"columns": meta["columns"], "rows": [] if head is None else rows_of(head),
            "hints": hints}
