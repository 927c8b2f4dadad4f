"""Publishing dataset versions: files moved into place, then one DB commit makes them visible."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cluster.models import Dataset, DatasetVersion, Job, JobStatus, utcnow
from cluster.storage import DataRoot, parquet_files

PUBLISH_ATTEMPTS = 8


class Superseded(RuntimeError):
    """The attempt publishing a version no longer holds its job; nothing was published."""


async def find_dataset(session: AsyncSession, ref: str) -> Dataset | None:
    """A dataset by id or by name."""
    try:
        found = await session.get(Dataset, uuid.UUID(ref))
    except ValueError:
        found = None
    if found is not None:
        return found
    result = await session.execute(select(Dataset).where(Dataset.name == ref))
    return result.scalar_one_or_none()


async def latest_version(session: AsyncSession, dataset_id: uuid.UUID) -> DatasetVersion | None:
    result = await session.execute(
        select(DatasetVersion).where(DatasetVersion.dataset_id == dataset_id)
        .order_by(DatasetVersion.version.desc()).limit(1))
    return result.scalar_one_or_none()


async def get_version(session: AsyncSession, dataset_id: uuid.UUID,
                      version: int | None) -> DatasetVersion | None:
    if version is None:
        return await latest_version(session, dataset_id)
    result = await session.execute(select(DatasetVersion).where(
        DatasetVersion.dataset_id == dataset_id, DatasetVersion.version == version))
    return result.scalar_one_or_none()


async def publish(
    sessions: async_sessionmaker[AsyncSession],
    root: DataRoot,
    *,
    dataset_id: uuid.UUID,
    staged: Path,
    meta: dict[str, Any],
    lineage: dict[str, Any],
    created_by: uuid.UUID | None = None,
    job_id: uuid.UUID | None = None,
    attempt: int | None = None,
    create: Dataset | None = None,
) -> DatasetVersion:
    """Make the staged files version N+1 of the dataset. Until the commit nothing is
    visible; if anything fails, the files are removed and no version exists.
    `create`: the dataset row to insert in the same commit if it does not exist yet.

    A job publishes at most once: if an earlier attempt of `job_id` already published,
    that version is returned and the staged files dropped; if `attempt` no longer holds
    the job (it was cancelled, or reaped and retried elsewhere), nothing is published."""
    for _ in range(PUBLISH_ATTEMPTS):
        async with sessions() as session:
            if job_id is not None:
                earlier = await session.scalar(select(DatasetVersion).where(
                    DatasetVersion.job_id == job_id, DatasetVersion.dataset_id == dataset_id))
                if earlier is not None:
                    shutil.rmtree(staged, ignore_errors=True)
                    return earlier
                holder = await session.scalar(select(Job.attempt).where(
                    Job.id == job_id, Job.status == JobStatus.running.value)
                    .with_for_update())
                if attempt is not None and holder != attempt:
                    shutil.rmtree(staged, ignore_errors=True)
                    raise Superseded(f"job {job_id} attempt {attempt} no longer holds the job")
            current = await session.scalar(select(func.max(DatasetVersion.version))
                                           .where(DatasetVersion.dataset_id == dataset_id))
            number = max(current or 0, root.highest_version_dir(dataset_id)) + 1
            try:
                target = root.move_into_place(staged, dataset_id, number)
            except FileExistsError:
                continue  # a concurrent writer took this number
            row = DatasetVersion(
                dataset_id=dataset_id, version=number, path=str(target),
                columns=meta["columns"], num_rows=meta["num_rows"], num_bytes=meta["num_bytes"],
                num_files=len(parquet_files(target)), created_by=created_by, job_id=job_id,
                lineage=lineage)
            dataset = await session.get(Dataset, dataset_id)
            if dataset is None and create is not None:
                dataset = Dataset(id=dataset_id, name=create.name, description=create.description,
                                  owner_id=create.owner_id, source=create.source)
                session.add(dataset)
                await session.flush()
            session.add(row)
            if dataset is None:
                shutil.rmtree(target, ignore_errors=True)
                raise LookupError(f"dataset {dataset_id} was deleted")
            dataset.updated_at = utcnow()
            try:
                await session.commit()
            except IntegrityError:
                await session.rollback()
                target.rename(staged)
                continue
            except BaseException:
                shutil.rmtree(target, ignore_errors=True)
                raise
            await session.refresh(row)
            return row
    shutil.rmtree(staged, ignore_errors=True)
    raise RuntimeError("could not allocate a version number; too many concurrent writers")
