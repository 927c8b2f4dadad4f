"""A long analytics query run in the background; the result is stored on the job."""

from __future__ import annotations

import asyncio
from typing import Any

from actors.runner.common import JobFailed, connect_ray
from actors.runner.context import JobContext
from cluster.models import Job


def run(ctx: JobContext, job: Job) -> dict[str, Any]:
    """A long analytics query run in the background; the result is stored on the job."""
    import ray

    from pipelines.query import Query, QueryFailed, execute_on_ray, limits_from

    source = ctx.resolve(job.spec["dataset_id"], job.spec.get("version"))
    query = Query.model_validate(job.spec["query"])
    connect_ray()
    cpus = ray.cluster_resources().get("CPU", 1)  # type: ignore[no-untyped-call]
    try:
        result = asyncio.run(execute_on_ray(
            query, source.schema, source.files, ctx.settings.resolved_data_root,
            task_cpus=ctx.settings.query_task_cpus, max_partitions=max(1, int(cpus)),
            num_bytes=source.num_bytes, local_max_bytes=ctx.settings.query_local_max_bytes,
            limits=limits_from(ctx.settings)))
    except QueryFailed as exc:  # the query's own fault: not retried
        raise JobFailed(QueryFailed.message(exc)) from None
    return {"dataset_id": source.dataset_id, "version": source.version, **result}
