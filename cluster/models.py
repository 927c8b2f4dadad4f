"""ORM models for Helio's metadata database (same schema on SQLite and PostgreSQL)."""

from __future__ import annotations

import enum
import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both backends (SQLite drops the offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Role(enum.StrEnum):
    admin = "admin"
    analyst = "analyst"
    viewer = "viewer"
    app = "app"


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime, dict[str, Any]: JSON}


class User(Base):
    __tablename__ = "users"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    email: Mapped[str] = mapped_column(String(320), unique=True, index=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


class RefreshToken(Base):
    __tablename__ = "refresh_tokens"
    __table_args__ = (Index("ix_refresh_tokens_family", "family_id"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    family_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


class AuditLog(Base):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_at", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    # No FK: audit rows outlive the users and keys they name.
    actor_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, default=None)
    actor_email: Mapped[str | None] = mapped_column(String(320), default=None)
    action: Mapped[str] = mapped_column(String(64), index=True)
    target: Mapped[str | None] = mapped_column(String(200), default=None)
    success: Mapped[bool] = mapped_column(Boolean, default=True)
    ip: Mapped[str | None] = mapped_column(String(64), default=None)
    request_id: Mapped[str | None] = mapped_column(String(128), default=None)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class RateLimitPlan(Base):
    """Requests per minute and burst for one role and route class (`read` or `write`)."""

    __tablename__ = "rate_limit_plans"

    role: Mapped[str] = mapped_column(String(16), primary_key=True)
    route_class: Mapped[str] = mapped_column(String(16), primary_key=True)
    requests_per_minute: Mapped[int] = mapped_column(Integer)
    burst: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Dataset(Base):
    """A named table whose content lives in immutable Parquet versions under the data root."""

    __tablename__ = "datasets"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str | None] = mapped_column(String(2000), default=None)
    owner_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None)
    # How versions come to be: {"kind": "upload"} | {"kind": "sql", "source", "query"}
    # | {"kind": "pipeline", "pipeline_id"}.
    source: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class DatasetVersion(Base):
    """One published version. The row is written last, so a version without a row
    (a crashed writer) is never visible."""

    __tablename__ = "dataset_versions"
    __table_args__ = (UniqueConstraint("dataset_id", "version"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    dataset_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"),
                                                  index=True)
    version: Mapped[int] = mapped_column(Integer)
    path: Mapped[str] = mapped_column(String(1000))
    # [{"name", "type"}] in column order; `type` is Helio's logical type.
    columns: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    num_rows: Mapped[int] = mapped_column(BigInteger)
    num_bytes: Mapped[int] = mapped_column(BigInteger)
    num_files: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[uuid.UUID | None] = mapped_column(Uuid, default=None)
    job_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, default=None)
    # {"inputs": [{"dataset_id", "version"}], "pipeline_id", "format", ...}
    lineage: Mapped[dict[str, Any]] = mapped_column(default=dict)
    profile: Mapped[dict[str, Any] | None] = mapped_column(default=None)


class Pipeline(Base):
    __tablename__ = "pipelines"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    owner_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None)
    spec: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Grows with every edit (optimistic locking); each version's spec is kept in
    # pipeline_versions.
    version: Mapped[int] = mapped_column(Integer, default=1)
    # The most recent run (a job id; the job row may have been pruned).
    last_job_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class PipelineVersion(Base):
    """One saved state of a pipeline (its name and spec), kept when it is edited."""

    __tablename__ = "pipeline_versions"
    __table_args__ = (UniqueConstraint("pipeline_id", "version",
                                       name="uq_pipeline_versions_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    pipeline_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("pipelines.id",
                                                              ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    spec: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None)


class JobStatus(enum.StrEnum):
    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"
    cancelled = "cancelled"

    @property
    def terminal(self) -> bool:
        return self in (JobStatus.succeeded, JobStatus.failed, JobStatus.cancelled)


class JobKind(enum.StrEnum):
    pipeline = "pipeline"
    profile = "profile"
    ingest_sql = "ingest_sql"
    query = "query"
    train = "train"
    text_index = "text_index"
    script = "script"


class Job(Base):
    """A unit of long work. Platform jobs are claimed from the queue by a warm runner actor
    (`runner` names it); script jobs (and every job with `HELIO_JOB_RUNNER=rayjob`) run as
    a Ray Job (`ray_job_id`). The lifecycle is cluster/catalog/jobs.py."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_created_at", "created_at"),
                      UniqueConstraint("schedule_id", "scheduled_for",
                                       name="uq_jobs_schedule_run"))

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    kind: Mapped[str] = mapped_column(String(32))
    owner_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None)
    status: Mapped[str] = mapped_column(String(16), default=JobStatus.queued.value, index=True)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    spec: Mapped[dict[str, Any]] = mapped_column(default=dict)
    result: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    ray_job_id: Mapped[str | None] = mapped_column(String(128), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    # The queue: higher priority first, then fair share between owners, then FIFO.
    priority: Mapped[int] = mapped_column(Integer, default=0)
    # Attempts: `attempt` counts starts; `attempts` records each one (runner, Ray task id,
    # node, start, end, outcome); a retry waits until `not_before`.
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=1)
    retry_backoff_s: Mapped[float] = mapped_column(Float, default=2.0)
    timeout_s: Mapped[float | None] = mapped_column(Float, default=None)
    not_before: Mapped[datetime | None] = mapped_column(default=None)
    attempts: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    runner: Mapped[str | None] = mapped_column(String(64), default=None)
    heartbeat_at: Mapped[datetime | None] = mapped_column(default=None)
    schedule_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("schedules.id", ondelete="SET NULL"), default=None, index=True)
    scheduled_for: Mapped[datetime | None] = mapped_column(default=None)


class JobLog(Base):
    """A job's output, in order (`seq`), kept with the job; bounded per job (the oldest
    chunks go first, see HELIO_JOB_LOG_MAX_BYTES)."""

    __tablename__ = "job_logs"
    __table_args__ = (UniqueConstraint("job_id", "seq", name="uq_job_logs_seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Schedule(Base):
    """A recurring job: a cron expression in a time zone, or a fixed interval. Each run is
    an ordinary job with `schedule_id` set; (schedule_id, scheduled_for) is unique, so a
    run time fires at most once whatever the scheduler does."""

    __tablename__ = "schedules"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    owner_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None)
    kind: Mapped[str] = mapped_column(String(32))
    target: Mapped[dict[str, Any]] = mapped_column(default=dict)
    cron: Mapped[str | None] = mapped_column(String(200), default=None)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    interval_s: Mapped[int | None] = mapped_column(Integer, default=None)
    concurrency_policy: Mapped[str] = mapped_column(String(16), default="forbid")
    missed_policy: Mapped[str] = mapped_column(String(16), default="run_once")
    paused: Mapped[bool] = mapped_column(default=False)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int | None] = mapped_column(Integer, default=None)
    retry_backoff_s: Mapped[float | None] = mapped_column(Float, default=None)
    timeout_s: Mapped[float | None] = mapped_column(Float, default=None)
    next_run_at: Mapped[datetime | None] = mapped_column(default=None, index=True)
    last_run_at: Mapped[datetime | None] = mapped_column(default=None)
    last_job_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class JobLimit(Base):
    """An admin's concurrency limit: at most `max_running` running jobs for one user
    (`scope="user"`, `key` = user id) or for each user of a role (`scope="role"`)."""

    __tablename__ = "job_limits"
    __table_args__ = (UniqueConstraint("scope", "key", name="uq_job_limits_scope_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    scope: Mapped[str] = mapped_column(String(8))
    key: Mapped[str] = mapped_column(String(64))
    max_running: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class MLModel(Base):
    """A named model in the registry; `aliases` maps e.g. "production" -> a version number."""

    __tablename__ = "models"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str | None] = mapped_column(String(2000), default=None)
    owner_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None)
    aliases: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ModelVersion(Base):
    """One trained version: its artifact (skops), feature schema, metrics and lineage."""

    __tablename__ = "model_versions"
    __table_args__ = (UniqueConstraint("model_id", "version"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    model_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"),
                                                index=True)
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="ready")  # ready | broken
    task: Mapped[str] = mapped_column(String(32))
    algorithm: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(200))
    # [{"name", "type", "categories"?}] in the order the model was trained with.
    features: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    classes: Mapped[list[Any] | None] = mapped_column(JSON, default=None)
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    feature_importances: Mapped[dict[str, Any]] = mapped_column(default=dict)
    artifact_path: Mapped[str] = mapped_column(String(1000))
    train_rows: Mapped[int] = mapped_column(BigInteger, default=0)
    timings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    lineage: Mapped[dict[str, Any]] = mapped_column(default=dict)
    job_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TextIndex(Base):
    """Embeddings of one text column of a dataset version, for semantic search."""

    __tablename__ = "text_indexes"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    dataset_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"),
                                                  index=True)
    version: Mapped[int] = mapped_column(Integer)
    column: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="building")  # building|ready|failed
    path: Mapped[str] = mapped_column(String(1000))
    num_rows: Mapped[int] = mapped_column(BigInteger, default=0)
    dim: Mapped[int] = mapped_column(Integer, default=0)
    model: Mapped[str | None] = mapped_column(String(200), default=None)
    owner_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None)
    job_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Dashboard(Base):
    """A saved set of analytics charts (the dashboard's Analytics page). `version` grows
    with every update: a writer must name the version it edited (optimistic locking), so
    an edit made offline against an old copy is reported as a conflict, never lost."""

    __tablename__ = "dashboards"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200))
    owner_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None)
    charts: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # Dashboard-wide filters, time range and auto-refresh (see DashboardSettings).
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class UsageHourly(Base):
    """Requests per principal and hour (UTC), flushed by the ingress replicas. `channel` is
    "jwt" or the API key's id, so one user's key traffic is told apart from their own."""

    __tablename__ = "usage_hourly"
    __table_args__ = (
        UniqueConstraint("hour", "user_id", "channel", name="uq_usage_hour_principal"),
        Index("ix_usage_hourly_hour", "hour"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    hour: Mapped[datetime] = mapped_column()
    # No FKs: usage outlives the users and keys it counts (like the audit log).
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    channel: Mapped[str] = mapped_column(String(40))
    api_key_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, default=None)
    requests: Mapped[int] = mapped_column(BigInteger, default=0)
    errors: Mapped[int] = mapped_column(BigInteger, default=0)
    rate_limited: Mapped[int] = mapped_column(BigInteger, default=0)
    latency_ms_sum: Mapped[float] = mapped_column(Float, default=0.0)


class ErrorEvent(Base):
    """An unhandled exception behind a 500: what the client was told (the request id) and
    what an operator needs (the stack), for `GET /api/v1/errors`."""

    __tablename__ = "error_events"
    __table_args__ = (Index("ix_error_events_at", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    request_id: Mapped[str] = mapped_column(String(128))
    method: Mapped[str] = mapped_column(String(16))
    path: Mapped[str] = mapped_column(String(2000))
    route: Mapped[str | None] = mapped_column(String(2000), default=None)
    user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, default=None)
    error_type: Mapped[str] = mapped_column(String(200))
    message: Mapped[str] = mapped_column(Text)
    stack: Mapped[str] = mapped_column(Text)
