"""Datasets: upload, list, read, delete, preview, analytics queries."""

from __future__ import annotations

import asyncio
import io
import json
import re
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
from fastapi import UploadFile
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cluster.catalog.datasets import find_dataset, get_version, latest_version, publish
from cluster.models import Dataset, DatasetVersion
from cluster.settings import Settings
from cluster.storage import parquet_files
from deployments.api.context import ApiContext
from deployments.api.permissions import require_owner
from deployments.api.principals import Principal
from deployments.api.problems import ApiError, not_found
from pipelines import ingest
from pipelines.query import (
    Query,
    QueryFailed,
    execute_local,
    execute_on_ray,
    limits_from,
    validate_query,
)
from pipelines.spec import SpecError
from pipelines.tables import rows_of, schema_map

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\- ]{0,199}$")
COPY_CHUNK = 1 << 20


def invalid(loc: list[str | int], msg: str, detail: str | None = None) -> ApiError:
    return ApiError(422, detail or msg, title="Unprocessable Content",
                    errors=[{"loc": [str(part) for part in loc], "msg": msg}])


def spec_error(exc: SpecError, prefix: tuple[str, ...] = ("body",)) -> ApiError:
    return invalid([*prefix, *exc.loc], exc.message)


async def require_dataset(session: AsyncSession, dataset_id: uuid.UUID) -> Dataset:
    dataset = await session.get(Dataset, dataset_id)
    if dataset is None:
        raise not_found("Dataset")
    return dataset


async def require_version(session: AsyncSession, dataset: Dataset,
                          version: int | None) -> DatasetVersion:
    row = await get_version(session, dataset.id, version)
    if row is None:
        raise not_found(f"Version {version} of dataset '{dataset.name}'" if version
                        else f"A version of dataset '{dataset.name}'")
    return row


INSPECT_MAX_BYTES = 4 << 20


async def _save_upload(upload: UploadFile, path: Path) -> int:
    size = 0
    with path.open("wb") as out:
        while chunk := await upload.read(COPY_CHUNK):
            size += len(chunk)
            await asyncio.to_thread(out.write, chunk)
    return size


def _parse_schema(raw: str | None) -> dict[str, str]:
    if raw is None or not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ingest.IngestError(f"schema must be a JSON object of column -> type ({exc.msg})",
                                 field="schema") from None
    if not isinstance(value, dict):
        raise ingest.IngestError('schema must be a JSON object such as {"price": "float"}',
                                 field="schema")
    return ingest.parse_overrides(value)


def ingest_limits(settings: Settings) -> ingest.IngestLimits:
    return ingest.IngestLimits(max_columns=settings.upload_max_columns,
                               max_cell_bytes=settings.upload_max_cell_mb << 20,
                               max_row_group_bytes=settings.upload_max_row_group_mb << 20,
                               max_expansion=settings.upload_max_expansion)


async def create_from_upload(
    *, ctx: ApiContext, session: AsyncSession, principal: Principal, upload: UploadFile,
    name: str | None, description: str | None, fmt: str | None, schema: str | None,
) -> tuple[Dataset, DatasetVersion]:
    """Stream the upload to disk, convert it to Parquet off the event loop, publish v1."""
    chosen = (name or Path(upload.filename or "").stem or "").strip()
    if not NAME_RE.match(chosen):
        raise invalid(["body", "name"], "dataset names start with a letter or digit and use "
                      "letters, digits, spaces and _ . - (at most 200)")
    if await find_dataset(session, chosen) is not None:
        raise ApiError(409, f"A dataset named '{chosen}' already exists")
    dataset_id = uuid.uuid4()
    staged = ctx.data_root.staging_dir(dataset_id)
    raw = staged.parent / f"{staged.name}.upload"
    try:
        await _save_upload(upload, raw)
        try:
            overrides = _parse_schema(schema)
            detected = ingest.sniff_format(raw, upload.filename, fmt)
            meta = await asyncio.to_thread(ingest.convert, raw, detected, staged, overrides,
                                           ingest_limits(ctx.settings))
        except ingest.IngestError as exc:
            raise invalid(["body", *exc.field.split(".", 1)], exc.message) from None
        version = await publish(
            ctx.sessions, ctx.data_root, dataset_id=dataset_id, staged=staged, meta=meta,
            lineage={"inputs": [], "upload": {"filename": upload.filename, "format": detected}},
            created_by=principal.user_id,
            create=Dataset(name=chosen, description=description, owner_id=principal.user_id,
                           source={"kind": "upload", "format": detected}))
    except BaseException:
        shutil.rmtree(ctx.data_root.dataset_dir(dataset_id), ignore_errors=True)
        raise
    finally:
        raw.unlink(missing_ok=True)
    dataset = await session.get(Dataset, dataset_id)
    assert dataset is not None
    await ctx.events.publish({"type": "dataset_version", "dataset": {
        "id": str(dataset_id), "name": chosen, "version": version.version}})
    return dataset, version


async def inspect_upload(*, ctx: ApiContext, upload: UploadFile, fmt: str | None,
                         schema: str | None) -> dict[str, Any]:
    """Read (the head of) a file as an upload would, keep nothing, and say what types it
    would get. The dashboard sends the first megabyte, cut at a line end."""
    inspect_id = uuid.uuid4()
    scratch = ctx.data_root.staging_dir(inspect_id)
    raw = scratch.parent / f"{scratch.name}.inspect"
    try:
        if await _save_upload(upload, raw) > INSPECT_MAX_BYTES:
            raise invalid(["body", "file"], f"send at most {INSPECT_MAX_BYTES >> 20} MB (the "
                                            "head of the file) to inspect")
        try:
            overrides = _parse_schema(schema)
            detected = ingest.sniff_format(raw, upload.filename, fmt)
            result = await asyncio.to_thread(ingest.inspect, raw, detected, overrides, scratch,
                                             10, ingest_limits(ctx.settings))
        except ingest.IngestError as exc:
            raise invalid(["body", *exc.field.split(".", 1)], exc.message) from None
        return {"format": detected, **result}
    finally:
        shutil.rmtree(ctx.data_root.dataset_dir(inspect_id), ignore_errors=True)


async def list_datasets(*, session: AsyncSession, limit: int, offset: int, search: str | None
                        ) -> tuple[list[tuple[Dataset, DatasetVersion | None]], int]:
    query = select(Dataset)
    if search:
        query = query.where(Dataset.name.contains(search, autoescape=True))
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    rows = list((await session.execute(query.order_by(Dataset.updated_at.desc()).limit(limit)
                                       .offset(offset))).scalars())
    out = [(d, await latest_version(session, d.id)) for d in rows]
    return out, int(total or 0)


async def versions_of(session: AsyncSession, dataset_id: uuid.UUID) -> list[DatasetVersion]:
    result = await session.execute(select(DatasetVersion).where(
        DatasetVersion.dataset_id == dataset_id).order_by(DatasetVersion.version.desc()))
    return list(result.scalars())


async def delete_dataset(*, ctx: ApiContext, session: AsyncSession, principal: Principal,
                         dataset: Dataset) -> None:
    require_owner(principal, dataset, "dataset")
    await session.execute(delete(DatasetVersion).where(DatasetVersion.dataset_id == dataset.id))
    await session.delete(dataset)
    await session.commit()
    await asyncio.to_thread(ctx.data_root.remove_dataset, dataset.id)


def _head(files: list[str], limit: int) -> pa.Table:
    tables = []
    remaining = limit
    for path in files:
        if remaining <= 0:
            break
        for batch in pq.ParquetFile(path).iter_batches(batch_size=remaining):
            tables.append(pa.Table.from_batches([batch]))
            remaining -= batch.num_rows
            break
    if not tables:
        return pq.read_schema(files[0]).empty_table() if files else pa.table({})
    return pa.concat_tables(tables)


async def preview(version: DatasetVersion, limit: int) -> list[list[Any]]:
    table = await asyncio.to_thread(_head, parquet_files(version.path), limit)
    return rows_of(table)


def _csv_safe(batch: pa.RecordBatch) -> pa.RecordBatch:
    """CSV has no lists: embedding vectors and other nested values are written as JSON."""
    columns = [pa.array([None if v is None else json.dumps(v) for v in col.to_pylist()],
                        pa.string()) if pa.types.is_nested(col.type) else col
               for col in batch.columns]
    return pa.RecordBatch.from_arrays(columns, names=batch.schema.names)


def csv_chunks(files: list[str]) -> Iterator[bytes]:
    """The version as CSV (header once), one chunk per Parquet batch: streamed, never
    held whole in memory."""
    header = True
    for path in files:
        for batch in pq.ParquetFile(path).iter_batches(batch_size=65_536):
            out = io.BytesIO()
            pcsv.write_csv(_csv_safe(batch), out,
                           write_options=pcsv.WriteOptions(include_header=header))
            header = False
            yield out.getvalue()
    if header and files:  # no rows at all: still the header
        out = io.BytesIO()
        pcsv.write_csv(pq.read_schema(files[0]).empty_table(), out)
        yield out.getvalue()


def merged_parquet(files: list[str], target: Path) -> None:
    """The version's files as one Parquet file."""
    schema = pq.read_schema(files[0])
    with pq.ParquetWriter(target, schema, compression="zstd") as writer:
        for path in files:
            for batch in pq.ParquetFile(path).iter_batches(batch_size=65_536):
                writer.write_batch(batch)


async def run_query(*, ctx: ApiContext, dataset: Dataset, version: DatasetVersion,
                    query: Query) -> dict[str, Any]:
    """Validate, then answer from the cache (keyed by dataset, version and the query's
    canonical hash: a new version simply misses) or compute."""
    schema = schema_map(version.columns)
    try:
        validate_query(query, schema)
    except SpecError as exc:
        raise spec_error(exc) from None
    files = parquet_files(version.path)
    computed = False

    async def compute() -> dict[str, Any]:
        nonlocal computed
        computed = True
        limits = limits_from(ctx.settings)
        try:
            if ctx.use_ray:
                return await execute_on_ray(
                    query, schema, files, ctx.settings.resolved_data_root,
                    task_cpus=ctx.settings.query_task_cpus,
                    max_partitions=ctx.settings.query_max_partitions,
                    num_bytes=version.num_bytes,
                    local_max_bytes=ctx.settings.query_local_max_bytes, limits=limits)
            return await asyncio.to_thread(execute_local, query, schema, files,
                                           ctx.settings.resolved_data_root, 2, limits)
        except QueryFailed as exc:  # a Ray task's error is raised as its cause's class too
            raise invalid(["body"], QueryFailed.message(exc)[:1000]) from None

    started = time.perf_counter()
    key = f"query:{dataset.id}:{version.version}:{query.canonical_hash()}"
    if ctx.settings.query_cache_ttl_s > 0:
        result: dict[str, Any] = await ctx.cache.cached(
            key, ctx.settings.query_cache_ttl_s, (f"dataset:{dataset.id}",), compute)
    else:
        result = await compute()
    served_ms = round((time.perf_counter() - started) * 1000, 3)
    return {**result, "cached": not computed,
            "elapsed_ms": result["elapsed_ms"] if computed else served_ms}
