from __future__ import annotations

import asyncio
import re
import shutil
import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Query, Response, UploadFile
from fastapi.responses import FileResponse, StreamingResponse
from starlette.background import BackgroundTask

from cluster.catalog.datasets import find_dataset
from cluster.models import Dataset, DatasetVersion, JobKind
from cluster.storage import parquet_files
from deployments.api.deps import ContextDep, CurrentPrincipal, SessionDep
from deployments.api.permissions import require_owner
from deployments.api.problems import ApiError
from deployments.api.schemas import (
    ColumnPublic,
    DatasetDetail,
    DatasetPublic,
    DatasetsPublic,
    DatasetVersionPublic,
    JobPublic,
    Limit,
    Offset,
    Preview,
    QueryResult,
    SqlDatasetCreate,
    UploadInspection,
)
from deployments.api.services import datasets, jobs
from pipelines.query import Query as AnalyticsQuery
from pipelines.query import validate_query
from pipelines.spec import SpecError
from pipelines.tables import schema_map

router = APIRouter(prefix="/datasets", tags=["datasets"])

VersionParam = Annotated[int | None, Query(ge=1, description="Default: the latest version.")]


def _version(row: DatasetVersion | None) -> DatasetVersionPublic | None:
    if row is None:
        return None
    public = DatasetVersionPublic.model_validate(row)
    return public.model_copy(update={"has_profile": row.profile is not None})


def _public(dataset: Dataset, latest: DatasetVersion | None) -> DatasetPublic:
    return DatasetPublic(
        id=dataset.id, name=dataset.name, description=dataset.description,
        owner_id=dataset.owner_id, source=dataset.source, created_at=dataset.created_at,
        updated_at=dataset.updated_at, latest=_version(latest))


@router.post("", response_model=DatasetPublic, status_code=201)
async def upload_dataset(
    ctx: ContextDep,
    session: SessionDep,
    principal: CurrentPrincipal,
    file: Annotated[UploadFile, File(description="CSV, JSON Lines or Parquet")],
    name: Annotated[str | None, Form(max_length=200,
                                     description="Default: the file name without extension")]
    = None,
    description: Annotated[str | None, Form(max_length=2000)] = None,
    format: Annotated[str | None, Form(description="csv, jsonl or parquet; default: sniffed")]
    = None,
    schema_overrides: Annotated[str | None, Form(
        alias="schema", max_length=100_000,
        description='Column type overrides as JSON, e.g. {"zip": "string", "price": "float"}')]
    = None,
) -> DatasetPublic:
    """Upload a file as version 1 of a new dataset (streamed to disk, stored as Parquet)."""
    dataset, version = await datasets.create_from_upload(
        ctx=ctx, session=session, principal=principal, upload=file, name=name,
        description=description, fmt=format, schema=schema_overrides)
    return _public(dataset, version)


@router.post("/inspect", response_model=UploadInspection)
async def inspect_upload(
    ctx: ContextDep,
    file: Annotated[UploadFile, File(description="The head of a CSV / JSON Lines file (at "
                                                 "most 4 MB), or a Parquet file")],
    format: Annotated[str | None, Form(description="csv, jsonl or parquet; default: sniffed")]
    = None,
    schema_overrides: Annotated[str | None, Form(alias="schema", max_length=100_000)] = None,
) -> UploadInspection:
    """The column types an upload of this file would get, its first rows, and hints where
    a type would lose data (leading zeros). Nothing is stored."""
    result = await datasets.inspect_upload(ctx=ctx, upload=file, fmt=format,
                                           schema=schema_overrides)
    return UploadInspection(**result)


@router.post("/sql", response_model=JobPublic, status_code=202)
async def create_sql_dataset(
    body: SqlDatasetCreate, ctx: ContextDep, session: SessionDep, principal: CurrentPrincipal
) -> JobPublic:
    """Register a SQL query on a configured PostgreSQL source; a job reads it with
    `ray.data.read_sql` into version 1."""
    if body.source not in ctx.settings.sql_sources:
        configured = ", ".join(sorted(ctx.settings.sql_sources)) or "none configured"
        raise datasets.invalid(["body", "source"],
                               f"unknown SQL source '{body.source}' ({configured})")
    if await find_dataset(session, body.name) is not None:
        raise ApiError(409, f"A dataset named '{body.name}' already exists")
    job = await jobs.submit_job(ctx=ctx, session=session, principal=principal,
                                kind=JobKind.ingest_sql,
                                spec={"dataset": body.name, "source": body.source,
                                      "query": body.query})
    return JobPublic.model_validate(job)


@router.get("", response_model=DatasetsPublic)
async def list_datasets(
    session: SessionDep, limit: Limit = 100, offset: Offset = 0,
    search: Annotated[str | None, Query(max_length=200)] = None,
) -> DatasetsPublic:
    rows, total = await datasets.list_datasets(session=session, limit=limit, offset=offset,
                                               search=search)
    return DatasetsPublic(items=[_public(d, v) for d, v in rows], total=total)


@router.get("/{dataset_id}", response_model=DatasetDetail)
async def read_dataset(dataset_id: uuid.UUID, session: SessionDep) -> DatasetDetail:
    dataset = await datasets.require_dataset(session, dataset_id)
    versions = await datasets.versions_of(session, dataset.id)
    latest = versions[0] if versions else None
    base = _public(dataset, latest)
    return DatasetDetail(**base.model_dump(), versions=[v for v in map(_version, versions) if v],
                         profile=latest.profile if latest else None)


@router.delete("/{dataset_id}", status_code=204)
async def delete_dataset(dataset_id: uuid.UUID, ctx: ContextDep, session: SessionDep,
                         principal: CurrentPrincipal) -> Response:
    dataset = await datasets.require_dataset(session, dataset_id)
    await datasets.delete_dataset(ctx=ctx, session=session, principal=principal, dataset=dataset)
    await ctx.cache.invalidate_tag(f"dataset:{dataset_id}")
    return Response(status_code=204)


@router.get("/{dataset_id}/preview", response_model=Preview)
async def preview_dataset(
    dataset_id: uuid.UUID, session: SessionDep, version: VersionParam = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> Preview:
    """The first `limit` rows of a version."""
    dataset = await datasets.require_dataset(session, dataset_id)
    row = await datasets.require_version(session, dataset, version)
    return Preview(version=row.version, columns=[ColumnPublic(**c) for c in row.columns],
                   rows=await datasets.preview(row, limit), total_rows=row.num_rows)


@router.get("/{dataset_id}/download", response_class=Response,
            responses={200: {"content": {"text/csv": {}, "application/vnd.apache.parquet": {}},
                             "description": "The version's rows"}})
async def download_dataset(
    dataset_id: uuid.UUID, ctx: ContextDep, session: SessionDep, version: VersionParam = None,
    format: Annotated[Literal["csv", "parquet"], Query(description="csv or parquet")] = "csv",
) -> Response:
    """Download a version's rows as CSV (streamed) or as one Parquet file."""
    dataset = await datasets.require_dataset(session, dataset_id)
    row = await datasets.require_version(session, dataset, version)
    files = parquet_files(row.path)
    stem = f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', dataset.name)}-v{row.version}"
    if format == "csv":
        return StreamingResponse(datasets.csv_chunks(files), media_type="text/csv",
                                 headers={"Content-Disposition":
                                          f'attachment; filename="{stem}.csv"'})
    name = f'attachment; filename="{stem}.parquet"'
    if len(files) == 1:
        return FileResponse(files[0], media_type="application/vnd.apache.parquet",
                            headers={"Content-Disposition": name})
    scratch = ctx.data_root.job_dir(f"download-{uuid.uuid4().hex}")
    target = scratch / f"{stem}.parquet"
    await asyncio.to_thread(datasets.merged_parquet, files, target)
    return FileResponse(target, media_type="application/vnd.apache.parquet",
                        headers={"Content-Disposition": name},
                        background=BackgroundTask(shutil.rmtree, scratch, ignore_errors=True))


@router.post("/{dataset_id}/profile", response_model=JobPublic, status_code=202)
async def profile_dataset(dataset_id: uuid.UUID, ctx: ContextDep, session: SessionDep,
                          principal: CurrentPrincipal, version: VersionParam = None) -> JobPublic:
    """Start a profile job (nulls, distinct, min/max/mean/std, quantiles, top values,
    histograms); the result is stored with the version."""
    dataset = await datasets.require_dataset(session, dataset_id)
    require_owner(principal, dataset, "dataset")
    row = await datasets.require_version(session, dataset, version)
    job = await jobs.submit_job(ctx=ctx, session=session, principal=principal,
                                kind=JobKind.profile,
                                spec={"dataset_id": str(dataset.id), "version": row.version})
    return JobPublic.model_validate(job)


@router.post("/{dataset_id}/query/jobs", response_model=JobPublic, status_code=202)
async def query_dataset_as_job(dataset_id: uuid.UUID, body: AnalyticsQuery, ctx: ContextDep,
                               session: SessionDep, principal: CurrentPrincipal,
                               version: VersionParam = None) -> JobPublic:
    """Run a long query in the background as a job; its result (columns, rows) is the
    job's `result`."""
    dataset = await datasets.require_dataset(session, dataset_id)
    row = await datasets.require_version(session, dataset, version)
    try:
        validate_query(body, schema_map(row.columns))
    except SpecError as exc:
        raise datasets.spec_error(exc) from None
    job = await jobs.submit_job(ctx=ctx, session=session, principal=principal,
                                kind=JobKind.query,
                                spec={"dataset_id": str(dataset.id), "version": row.version,
                                      "query": body.model_dump(mode="json", by_alias=True)})
    return JobPublic.model_validate(job)


@router.post("/{dataset_id}/query", response_model=QueryResult)
async def query_dataset(dataset_id: uuid.UUID, body: AnalyticsQuery, ctx: ContextDep,
                        session: SessionDep, version: VersionParam = None) -> QueryResult:
    """Filter, group (with time buckets), aggregate, order and limit a version.
    Identical queries on the same version are answered from the cache."""
    dataset = await datasets.require_dataset(session, dataset_id)
    row = await datasets.require_version(session, dataset, version)
    await session.close()  # release the connection while the scan runs
    result = await datasets.run_query(ctx=ctx, dataset=dataset, version=row, query=body)
    return QueryResult(dataset_id=dataset.id, version=row.version, **result)
