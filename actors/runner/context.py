"""What a job handler works with: its job row (as claimed, with its attempt number),
data access through the catalog, progress, log lines, the ownership policy for what it
writes, and publishing its output (once, and only while its attempt holds the job).

A context lives in the thread that runs the handler and has its own event loop for the
database (`db`)."""

from __future__ import annotations

import asyncio
import shutil
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from actors.events import publish_from_driver
from actors.runner.common import JobCancelled, JobFailed
from actors.runner.logs import LogBuffer
from cluster import policy
from cluster.catalog import datasets as catalog_datasets
from cluster.catalog import jobs as catalog_jobs
from cluster.catalog.resolve import ResolvedSpec, dataset_version, resolve_spec, schema_map
from cluster.models import Dataset, DatasetVersion, Job, Role, User
from cluster.security import TokenSigner
from cluster.settings import Settings, resolve_jwt_secret
from cluster.storage import DataRoot, parquet_files
from pipelines import engine
from pipelines import spec as s

PROGRESS_INTERVAL_S = 0.5


class JobContext:
    def __init__(self, settings: Settings, job: Job, loop: asyncio.Runner,
                 sessions: async_sessionmaker[AsyncSession], logs: LogBuffer,
                 cancelled: threading.Event | None = None) -> None:
        self.settings = settings
        self.job = job
        self.job_id = job.id
        self.attempt = job.attempt
        self.loop = loop
        self.sessions = sessions
        self.logs = logs
        self.cancelled = cancelled or threading.Event()
        self.root = DataRoot(settings.resolved_data_root)
        self.staging: list[Path] = []
        self._last_progress = 0.0

    # ------------------------------------------------------------ bookkeeping

    def db(self, coro: Any) -> Any:
        return self.loop.run(coro)

    def event(self, **fields: Any) -> None:
        publish_from_driver(fields, self.settings.actor_namespace)

    def log(self, message: str) -> None:
        """One line in the job's log."""
        self.logs.line(f"helio: {message}")

    def check_cancelled(self) -> None:
        if self.cancelled.is_set():
            raise JobCancelled("cancelled")

    def progress(self, value: float, force: bool = False) -> None:
        self.check_cancelled()
        now = time.monotonic()
        if not force and now - self._last_progress < PROGRESS_INTERVAL_S:
            return
        self._last_progress = now
        value = max(0.0, min(1.0, value))

        async def update() -> bool:
            async with self.sessions() as session:
                return await catalog_jobs.progress(session, self.job_id, self.attempt, value)

        if not self.db(update()):
            # The attempt no longer holds the job: cancelled, or reaped and retried.
            self.cancelled.set()
            raise JobCancelled("the job was cancelled or taken over")
        self.event(type="job", job={"id": str(self.job_id), "kind": self.job.kind,
                                    "status": "running", "progress": value,
                                    "attempt": self.attempt,
                                    "max_attempts": self.job.max_attempts})

    def cleanup(self) -> None:
        for path in self.staging:
            shutil.rmtree(path, ignore_errors=True)
        shutil.rmtree(self.root.root / "jobs" / str(self.job_id) / "scratch", ignore_errors=True)

    # ------------------------------------------------------------ data access

    def resolve(self, ref: str, version: int | None) -> engine.ResolvedInput:
        async def find() -> tuple[Dataset, DatasetVersion]:
            async with self.sessions() as session:
                return await dataset_version(session, ref, version, ())

        try:
            dataset, row = self.db(find())
        except s.SpecError as exc:
            raise JobFailed(str(exc)) from None
        return as_input(dataset, row)

    def resolve_spec(self, spec: s.PipelineSpec) -> ResolvedSpec:
        async def find() -> ResolvedSpec:
            async with self.sessions() as session:
                return await resolve_spec(session, spec)

        resolved: ResolvedSpec = self.db(find())
        return resolved

    async def _owner(self) -> tuple[uuid.UUID | None, Role]:
        if self.job.owner_id is None:
            # Recorded by `helio run` or a schedule without an owner: an operator with the
            # platform's own credentials, acting as the platform.
            return None, Role.admin
        async with self.sessions() as session:
            user = await session.get(User, self.job.owner_id)
        if user is None or not user.is_active:
            raise JobFailed("the job's owner no longer exists or is deactivated")
        return user.id, Role(user.role)

    def owner(self) -> tuple[uuid.UUID | None, Role]:
        """The job owner's id and *current* role (a demotion since submission applies)."""
        result: tuple[uuid.UUID | None, Role] = self.db(self._owner())
        return result

    async def check_write_async(self, obj: Any, what: str) -> None:
        user_id, role = await self._owner()
        try:
            policy.check_write(user_id=user_id, role=role, obj=obj, what=what)
        except policy.OwnershipError as exc:
            raise JobFailed(str(exc)) from None

    def check_write(self, obj: Any, what: str) -> None:
        """The ownership policy, applied to what this job is about to change."""
        self.db(self.check_write_async(obj, what))

    def signer(self) -> TokenSigner:
        s_ = self.settings
        return TokenSigner(resolve_jwt_secret(s_), s_.jwt_algorithm, s_.access_token_ttl_s,
                           previous=[p.get_secret_value() for p in s_.jwt_previous_secrets])

    async def _find(self, ref: str) -> Dataset | None:
        async with self.sessions() as session:
            return await catalog_datasets.find_dataset(session, ref)

    def staging_for(self, sink_name: str) -> Path:
        existing = self.db(self._find(sink_name))
        dataset_id = existing.id if existing else uuid.uuid4()
        path = self.root.staging_dir(dataset_id)
        self.staging.append(path)
        return path

    def publish_output(self, *, sink: s.Sink, staged: Path, meta: dict[str, Any],
                       lineage: dict[str, Any], source: dict[str, Any]) -> DatasetVersion:
        """Publish the staged files as the sink's next version (once per job: a retried
        job that already published gets that version back)."""
        self.check_cancelled()
        existing = self.db(self._find(sink.dataset))
        self.check_write(existing, "dataset")
        dataset_id = existing.id if existing else uuid.UUID(staged.parent.parent.name)
        create = None if existing else Dataset(name=sink.dataset, description=sink.description,
                                              owner_id=self.job.owner_id, source=source)
        try:
            version: DatasetVersion = self.db(catalog_datasets.publish(
                self.sessions, self.root, dataset_id=dataset_id, staged=staged, meta=meta,
                lineage=lineage, created_by=self.job.owner_id, job_id=self.job_id,
                attempt=self.attempt, create=create))
        except catalog_datasets.Superseded:
            self.cancelled.set()
            raise JobCancelled("the job was cancelled or taken over") from None
        self.staging.remove(staged)
        self.log(f"published {sink.dataset} version {version.version} "
                 f"({version.num_rows} rows)")
        self.event(type="dataset_version", dataset={"id": str(dataset_id), "name": sink.dataset,
                                                    "version": version.version})
        return version


def as_input(dataset: Dataset, row: DatasetVersion) -> engine.ResolvedInput:
    return engine.ResolvedInput(dataset_id=str(dataset.id), version=row.version,
                                files=parquet_files(row.path), schema=schema_map(row.columns),
                                num_rows=row.num_rows, num_bytes=row.num_bytes)
