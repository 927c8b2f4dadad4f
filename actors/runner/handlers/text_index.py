"""A text index: a column embedded with Ray Data and an actor pool, stored with the rows."""

from __future__ import annotations

import shutil
import uuid
from typing import Any

from sqlalchemy import update

from actors.runner.common import connect_ray, model_dir, with_progress
from actors.runner.context import JobContext
from cluster.models import Job
from cluster.storage import parquet_meta
from pipelines.inference import embed_map
from pipelines.text import encoder_name


def run(ctx: JobContext, job: Job) -> dict[str, Any]:
    """Embed a text column with Ray Data and an actor pool; store rows + embeddings."""
    import pyarrow.parquet as pq
    import ray
    import ray.data

    from cluster.models import TextIndex
    spec = job.spec
    index_id = uuid.UUID(spec["index_id"])

    async def mark(**values: Any) -> None:
        async with ctx.sessions() as session:
            await session.execute(update(TextIndex).where(TextIndex.id == index_id)
                                  .values(**values))
            await session.commit()

    try:
        directory = model_dir(ctx)
        source = ctx.resolve(spec["dataset_id"], spec.get("version"))
        connect_ray()
        target = ctx.root.root / "indexes" / str(index_id)
        shutil.rmtree(target, ignore_errors=True)

        def work() -> int:
            ds = embed_map(ray.data.read_parquet(source.files), spec["column"], directory)
            ds.write_parquet(str(target))
            return parquet_meta(target)["num_rows"]

        rows = with_progress(ctx, work, lambda: 0.5)
        dim = len(pq.read_table(next(iter(sorted(target.glob("*.parquet")))),
                                columns=["__embedding"]).column(0)[0]) if rows else 0
        ctx.db(mark(status="ready", num_rows=rows, dim=dim, model=encoder_name(directory)))
    except BaseException:
        ctx.db(mark(status="failed"))
        raise
    return {"index_id": str(index_id), "rows": rows, "dim": dim}
