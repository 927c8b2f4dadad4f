"""Profile a dataset version: per-column statistics, stored on the version."""

from __future__ import annotations

import uuid
from typing import Any

from actors.runner.context import JobContext
from cluster.catalog.datasets import get_version
from cluster.models import Job


def run(ctx: JobContext, job: Job) -> dict[str, Any]:
    from pipelines.profile import profile_version

    source = ctx.resolve(job.spec["dataset_id"], job.spec.get("version"))
    columns = [{"name": n, "type": t} for n, t in source.schema.items()]
    profile = profile_version(source.files, columns, ctx.settings.resolved_data_root,
                              progress=lambda f: ctx.progress(0.95 * f))

    async def store() -> None:
        async with ctx.sessions() as session:
            row = await get_version(session, uuid.UUID(source.dataset_id), source.version)
            if row is not None:
                row.profile = profile
                await session.commit()

    ctx.db(store())
    return {"dataset_id": source.dataset_id, "version": source.version, "profile": profile}
