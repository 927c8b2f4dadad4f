"""A dataset from a SQL query on a configured PostgreSQL source (read-only, time-limited)."""

from __future__ import annotations

from typing import Any

from actors.runner.common import JobFailed, connect_ray, root_cause, with_progress
from actors.runner.context import JobContext
from cluster.models import Job
from cluster.storage import parquet_files, parquet_meta
from pipelines import spec as s


def run(ctx: JobContext, job: Job) -> dict[str, Any]:
    import ray
    import ray.data

    spec = job.spec
    name = spec["source"]
    url = ctx.settings.sql_sources.get(name)
    if url is None:
        raise JobFailed(f"SQL source '{name}' is not configured on the cluster "
                        "(HELIO_SQL_SOURCES)")
    dsn = _libpq_dsn(url.get_secret_value())
    connect_ray()
    staged = ctx.staging_for(spec["dataset"])

    timeout_ms = int(ctx.settings.sql_source_statement_timeout_s * 1000)

    def connect() -> Any:
        import psycopg

        # Read-only, time-limited, and one statement per execute: every query is prepared
        # (the extended protocol refuses `...; DELETE ...`), so the source's credentials can
        # only read, even when the role behind them could write.
        connection = psycopg.connect(
            dsn, options=f"-c default_transaction_read_only=on -c statement_timeout={timeout_ms}")
        connection.prepare_threshold = 0
        return connection

    def work() -> dict[str, Any]:
        import pyarrow.parquet as pq

        from pipelines.tables import canonicalize, columns_of

        ds = ray.data.read_sql(spec["query"], connect)
        ds.map_batches(canonicalize, batch_format="pyarrow").write_parquet(str(staged))
        files = parquet_files(staged)
        if not files:
            raise JobFailed("the query returned no rows and no schema")
        return {"columns": columns_of(pq.read_schema(files[0])), **parquet_meta(staged)}

    try:
        meta = with_progress(ctx, work, lambda: 0.5)
    except JobFailed:
        raise
    except Exception as exc:
        raise JobFailed(f"the SQL query failed: {root_cause(exc)}") from None
    version = ctx.publish_output(
        sink=s.Sink(dataset=spec["dataset"]), staged=staged, meta=meta,
        lineage={"inputs": [], "sql": {"source": name, "query": spec["query"]},
                 "job_id": str(job.id)},
        source={"kind": "sql", "source": name, "query": spec["query"]})
    return {"dataset_id": str(version.dataset_id), "version": version.version,
            "rows_out": version.num_rows}


def _libpq_dsn(url: str) -> str:
    """SQLAlchemy-style URLs (postgresql+asyncpg://) -> a libpq URL psycopg accepts."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if not parsed.drivername.startswith("postgresql"):
        raise JobFailed("SQL sources must be PostgreSQL URLs")
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)
