"""Request and response models (one family per entity; never ORM objects)."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from cluster.models import Role
from cluster.passwords import MAX_LENGTH, MIN_LENGTH, password_problem

_EMAIL_RE = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@"
    r"(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"
)


def _email(value: str) -> str:
    value = value.strip()
    if not _EMAIL_RE.match(value):
        raise ValueError("not a valid email address")
    local, _, domain = value.rpartition("@")
    return f"{local}@{domain.lower()}"


Email = Annotated[str, Field(max_length=320), AfterValidator(_email)]
def _password(value: str) -> str:
    problem = password_problem(value)
    if problem:
        raise ValueError(problem)
    return value


Password = Annotated[str, Field(min_length=MIN_LENGTH, max_length=MAX_LENGTH,
                                description="At least 12 characters, not a commonly used "
                                            "password (NIST SP 800-63B)."),
                     AfterValidator(_password)]


def _not_the_email(password: str | None, info: ValidationInfo) -> str | None:
    email = info.data.get("email")
    if password and email and password_problem(password, email):
        raise ValueError("the password must not be the email address")
    return password


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Token(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - OAuth2 token type
    expires_in: int


class RefreshRequest(StrictModel):
    refresh_token: Annotated[str | None, Field(max_length=256)] = None


class UserCreate(StrictModel):
    email: Email
    password: Password
    role: Role = Role.viewer

    _password_not_email = field_validator("password")(_not_the_email)


class UserUpdate(StrictModel):
    email: Email | None = None
    password: Password | None = None
    role: Role | None = None
    is_active: bool | None = None

    _password_not_email = field_validator("password")(_not_the_email)


class UserPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    email: str
    role: Role
    is_active: bool
    created_at: datetime


class UsersPublic(BaseModel):
    items: list[UserPublic]
    total: int


class ApiKeyRef(BaseModel):
    id: uuid.UUID
    name: str
    prefix: str


class Me(UserPublic):
    """The signed-in principal; `role` is the effective role (for API keys the lower of the
    key's and its owner's, for a script job's token at most viewer)."""

    auth: Literal["jwt", "api_key", "job"] = Field(
        description="How the request authenticated: a sign-in token, an API key, or a "
                    "script job's token (read-only)")
    api_key: ApiKeyRef | None = None


class ApiKeyCreate(StrictModel):
    name: Annotated[str, Field(min_length=1, max_length=100)]
    role: Role = Role.app


class ApiKeyPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    prefix: str
    role: Role
    owner_id: uuid.UUID
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyPublic):
    key: str = Field(description="The secret; shown only in this response.")


class ApiKeysPublic(BaseModel):
    items: list[ApiKeyPublic]
    total: int


class AuditEntry(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    actor_id: uuid.UUID | None
    actor_email: str | None
    action: str
    target: str | None
    success: bool
    ip: str | None
    request_id: str | None
    detail: dict[str, Any]


class AuditPage(BaseModel):
    items: list[AuditEntry]
    total: int


class Health(BaseModel):
    status: Literal["ok"]


class PlatformInfo(BaseModel):
    version: str
    ray_dashboard_url: str
    ingress: str


class Readiness(BaseModel):
    status: Literal["ready", "not_ready"]
    checks: dict[str, str]


Limit = Annotated[int, Field(ge=1, le=500)]
Offset = Annotated[int, Field(ge=0, le=10_000_000)]


class FieldError(BaseModel):
    loc: list[str]
    msg: str


class Problem(BaseModel):
    """RFC 9457 problem details, the body of every error response."""

    type: str
    title: str
    status: int
    detail: str
    request_id: str | None
    errors: list[FieldError] | None = None


# ---------------------------------------------------------------- data

class ColumnPublic(BaseModel):
    name: str
    type: str


class DatasetVersionPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    version: int
    columns: list[ColumnPublic]
    num_rows: int
    num_bytes: int
    num_files: int
    created_at: datetime
    created_by: uuid.UUID | None
    job_id: uuid.UUID | None
    lineage: dict[str, Any]
    has_profile: bool = False


class DatasetPublic(BaseModel):
    id: uuid.UUID
    name: str
    description: str | None
    owner_id: uuid.UUID | None
    source: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    latest: DatasetVersionPublic | None


class DatasetDetail(DatasetPublic):
    versions: list[DatasetVersionPublic]
    profile: dict[str, Any] | None = Field(
        default=None, description="Profile of the latest version, once a profile job ran.")


class DatasetsPublic(BaseModel):
    items: list[DatasetPublic]
    total: int


DatasetName = Annotated[str, Field(min_length=1, max_length=200,
                                   pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\- ]*$")]


class SqlDatasetCreate(StrictModel):
    name: DatasetName
    description: str | None = Field(default=None, max_length=2000)
    source: str = Field(min_length=1, max_length=100,
                        description="A SQL source configured on the cluster (HELIO_SQL_SOURCES).")
    query: str = Field(min_length=1, max_length=100_000)


class UploadInspection(BaseModel):
    format: str
    columns: list[ColumnPublic]
    rows: list[list[Any]]
    hints: dict[str, str] = Field(description="Per column: where the inferred type would "
                                              "lose data, and what to choose instead.")


class Preview(BaseModel):
    version: int
    columns: list[ColumnPublic]
    rows: list[list[Any]]
    total_rows: int


class QueryResult(BaseModel):
    dataset_id: uuid.UUID
    version: int
    columns: list[ColumnPublic]
    rows: list[list[Any]]
    row_count: int
    truncated: bool
    cached: bool
    elapsed_ms: float


class PipelineSpecBody(StrictModel):
    spec: dict[str, Any] | None = Field(
        default=None, description="A pipeline spec: {source, steps, sink}.")
    spec_yaml: str | None = Field(default=None, max_length=200_000,
                                  description="The same spec as YAML, instead of `spec`.")

    @model_validator(mode="after")
    def _one_spec(self) -> PipelineSpecBody:
        if (self.spec is None) == (self.spec_yaml is None):
            raise ValueError("give exactly one of spec and spec_yaml")
        return self


class PipelineCreate(PipelineSpecBody):
    name: DatasetName


class PipelineCheck(BaseModel):
    """A valid spec, as it would be stored, and the columns it sees."""

    spec: dict[str, Any]
    schemas: list[dict[str, str]] = Field(
        description="Column name -> type: the source's (index 0), then after each step.")
    sink_exists: bool = Field(description="Whether the output dataset exists (a run adds "
                                          "a version to it) or is created by the first run.")


class PipelineUpdate(PipelineCreate):
    version: int = Field(ge=1, description="The version this edit started from; a stale "
                                           "version is a 409 conflict with the current copy.")


class PipelinePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    owner_id: uuid.UUID | None
    spec: dict[str, Any]
    version: int = 1
    last_job_id: uuid.UUID | None = Field(default=None, description="The latest run.")
    created_at: datetime
    updated_at: datetime


class PipelineVersionPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    version: int
    name: str
    spec: dict[str, Any]
    created_at: datetime
    created_by: uuid.UUID | None


class PipelineVersions(BaseModel):
    items: list[PipelineVersionPublic]


class PipelinesPublic(BaseModel):
    items: list[PipelinePublic]
    total: int


JobStatusName = Literal["queued", "running", "succeeded", "failed", "cancelled"]


class JobPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    kind: str
    owner_id: uuid.UUID | None
    status: JobStatusName
    progress: float
    spec: dict[str, Any]
    result: dict[str, Any] | None
    error: str | None
    ray_job_id: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    priority: int = 0
    attempt: int = 0
    max_attempts: int = 1
    attempts: list[dict[str, Any]] = Field(
        default_factory=list, description="Each start: runner, Ray task/actor/node ids, "
                                          "start and end, outcome, error")
    not_before: datetime | None = Field(default=None,
                                        description="A retry waits until then")
    timeout_s: float | None = None
    runner: str | None = None
    schedule_id: uuid.UUID | None = None
    scheduled_for: datetime | None = None
    position: int | None = Field(default=None, description="Place in the start order while "
                                                           "queued (1 = next)")


class JobsPublic(BaseModel):
    items: list[JobPublic]
    total: int


class JobLogs(BaseModel):
    job_id: uuid.UUID
    ray_job_id: str | None
    logs: str
    last_seq: int = Field(default=-1, description="Number of the last chunk returned; ask "
                                                  "with `after` for what came since")


ConcurrencyPolicy = Literal["forbid", "allow", "replace"]
MissedPolicy = Literal["skip", "run_once"]
ScheduleKind = Literal["pipeline", "train", "profile", "query", "text_index"]


class ScheduleTiming(BaseModel):
    cron: str | None = Field(default=None, max_length=200, examples=["0 2 * * *"],
                             description="Five-field cron expression (or give interval_s)")
    timezone: str = Field(default="UTC", max_length=64, examples=["Europe/Paris"])
    interval_s: int | None = Field(default=None, ge=1, le=366 * 86_400)
    concurrency_policy: ConcurrencyPolicy = "forbid"
    missed_policy: MissedPolicy = "run_once"
    priority: int = Field(default=0, ge=-100, le=100)
    max_attempts: int | None = Field(default=None, ge=1, le=20)
    retry_backoff_s: float | None = Field(default=None, ge=0, le=3600)
    timeout_s: float | None = Field(default=None, gt=0, le=7 * 86_400)


class ScheduleCreate(ScheduleTiming):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    kind: ScheduleKind
    target: dict[str, Any] = Field(description=(
        "pipeline: {pipeline_id}; profile: {dataset}; query: {dataset, query}; "
        "train: the body of POST /models/train; text_index: {index_id}"))
    paused: bool = False


class ScheduleUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    cron: str | None = Field(default=None, max_length=200)
    timezone: str | None = Field(default=None, max_length=64)
    interval_s: int | None = Field(default=None, ge=1, le=366 * 86_400)
    concurrency_policy: ConcurrencyPolicy | None = None
    missed_policy: MissedPolicy | None = None
    priority: int | None = Field(default=None, ge=-100, le=100)
    max_attempts: int | None = Field(default=None, ge=1, le=20)
    retry_backoff_s: float | None = Field(default=None, ge=0, le=3600)
    timeout_s: float | None = Field(default=None, gt=0, le=7 * 86_400)
    paused: bool | None = None


class SchedulePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    owner_id: uuid.UUID | None
    kind: str
    target: dict[str, Any]
    cron: str | None
    timezone: str
    interval_s: int | None
    concurrency_policy: str
    missed_policy: str
    paused: bool
    priority: int
    max_attempts: int | None
    retry_backoff_s: float | None
    timeout_s: float | None
    next_run_at: datetime | None
    last_run_at: datetime | None
    last_job_id: uuid.UUID | None
    created_at: datetime
    upcoming: list[datetime] = Field(default_factory=list,
                                     description="The next due times (none while paused)")


class SchedulesPublic(BaseModel):
    items: list[SchedulePublic]
    total: int


class JobLimitEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scope: Literal["role", "user"]
    key: str = Field(min_length=1, max_length=64,
                     description="A role name, or a user id")
    max_running: int = Field(ge=0, le=10_000)


class JobLimitsPublic(BaseModel):
    default_per_user: int
    limits: list[JobLimitEntry]
    runners: int | None = Field(default=None, description="Warm runners in the pool (how "
                                                          "many platform jobs run at once)")


class JobLimitsUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limits: list[JobLimitEntry] = Field(max_length=1000)


# ---------------------------------------------------------------- models

class ModelVersionPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    version: int
    status: Literal["ready", "broken"]
    task: str
    algorithm: str
    target: str
    features: list[dict[str, Any]]
    classes: list[Any] | None
    params: dict[str, Any]
    metrics: dict[str, Any]
    feature_importances: dict[str, Any]
    train_rows: int
    timings: dict[str, Any]
    lineage: dict[str, Any]
    job_id: uuid.UUID | None
    error: str | None
    created_at: datetime


class ModelPublic(BaseModel):
    id: uuid.UUID
    name: str
    description: str | None
    owner_id: uuid.UUID | None
    aliases: dict[str, int]
    created_at: datetime
    latest: ModelVersionPublic | None


class ModelDetail(ModelPublic):
    versions: list[ModelVersionPublic]


class ModelsPublic(BaseModel):
    items: list[ModelPublic]
    total: int


class AliasUpdate(StrictModel):
    version: int = Field(ge=1)


Record = dict[str, Any]


class PredictRequest(StrictModel):
    records: list[Record] = Field(min_length=1, max_length=10_000)


class Prediction(BaseModel):
    prediction: Any
    probabilities: dict[str, float] | None = None


class PredictResponse(BaseModel):
    model: str
    version: int
    predictions: list[Prediction]
    cached: bool


# ---------------------------------------------------------------- nlp

def _text(value: str) -> str:
    if not value.strip():
        raise ValueError("text is empty")
    return value


Text = Annotated[str, Field(min_length=1, max_length=10_000), AfterValidator(_text)]
MAX_TEXTS = 256


class EmbedRequest(StrictModel):
    texts: list[Text] = Field(min_length=1, max_length=MAX_TEXTS)


class EmbedResponse(BaseModel):
    model: str
    dim: int
    embeddings: list[list[float]]


class SimilarityRequest(StrictModel):
    a: list[Text] = Field(min_length=1, max_length=MAX_TEXTS)
    b: list[Text] = Field(min_length=1, max_length=MAX_TEXTS)


class SimilarityResponse(BaseModel):
    scores: list[list[float]] = Field(description="Cosine similarity of a[i] and b[j].")


class ClassifyRequest(StrictModel):
    """Zero-shot with `labels`, or a trained text model from the registry with `model`."""

    texts: list[Text] = Field(min_length=1, max_length=MAX_TEXTS)
    labels: list[Annotated[str, Field(min_length=1, max_length=500)]] | None = Field(
        default=None, min_length=2, max_length=50,
        description="Label descriptions, e.g. 'about sports' (zero-shot).")
    model: str | None = Field(default=None, min_length=1, max_length=200,
                              description="A text_classification model in the registry.")
    version: int | None = Field(default=None, ge=1)
    alias: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_-]{0,31}$")

    @model_validator(mode="after")
    def _one_mode(self) -> ClassifyRequest:
        if (self.labels is None) == (self.model is None):
            raise ValueError("give either 'labels' (zero-shot) or 'model' (a trained text "
                             "classifier), not both or neither")
        if self.model is None and (self.version is not None or self.alias is not None):
            raise ValueError("'version' and 'alias' go with 'model'")
        return self


class Classification(BaseModel):
    label: str
    scores: dict[str, float] = Field(description="Softmax over label similarities, or the "
                                                 "model's class probabilities.")
    similarities: dict[str, float] | None = None


class ClassifyResponse(BaseModel):
    results: list[Classification]
    model: str | None = None
    version: int | None = None


class IndexCreate(StrictModel):
    dataset: str = Field(min_length=1, max_length=200)
    version: int | None = Field(default=None, ge=1)
    column: str = Field(min_length=1, max_length=200)


class IndexPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    dataset_id: uuid.UUID
    version: int
    column: str
    status: str
    num_rows: int
    dim: int
    model: str | None
    job_id: uuid.UUID | None
    created_at: datetime


class IndexesPublic(BaseModel):
    items: list[IndexPublic]
    total: int


class IndexCreated(BaseModel):
    index: IndexPublic
    job: JobPublic


class SearchRequest(StrictModel):
    query: Text
    k: int = Field(default=10, ge=1, le=100)


class SearchHit(BaseModel):
    score: float
    row: dict[str, Any]


class SearchResponse(BaseModel):
    index_id: uuid.UUID
    results: list[SearchHit]


# ---------------------------------------------------------------- dashboards

ChartKind = Literal["line", "bar", "area", "table", "big_number", "pie", "donut", "scatter",
                   "histogram", "heatmap", "pivot"]
Label = Annotated[str, Field(min_length=1, max_length=200)]


class ChartLayout(StrictModel):
    """The chart's cell on the dashboard's 12-column grid (rows are 40 px)."""

    x: int = Field(default=0, ge=0, le=11)
    y: int = Field(default=0, ge=0, le=10_000)
    w: int = Field(default=6, ge=1, le=12)
    h: int = Field(default=7, ge=2, le=40)


class FieldFormat(StrictModel):
    """How one result column is written on axes, tooltips and tables (locale-aware)."""

    style: Literal["number", "percent", "currency", "compact", "date", "month", "datetime",
                   "text"] = "number"
    decimals: int | None = Field(default=None, ge=0, le=10)
    unit: str | None = Field(default=None, max_length=20,
                             description="Written after the value, e.g. 'min' or 'kg'.")
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")


class ChartSpec(StrictModel):
    """One chart: an analytics query on a dataset and how to draw its result."""

    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    title: str = Field(min_length=1, max_length=200)
    dataset_id: uuid.UUID
    query: dict[str, Any] = Field(description="An analytics query, as for "
                                              "`POST /datasets/{id}/query`.")
    kind: ChartKind = "bar"
    x: str = Field(min_length=1, max_length=200)
    y: list[Label] = Field(min_length=1, max_length=10)
    series: str | None = Field(default=None, max_length=200,
                               description="A result column whose values split each metric "
                                           "into one series per value.")
    labels: dict[Label, Label] = Field(default_factory=dict, max_length=50,
                                       description="Human names for result columns.")
    formats: dict[Label, FieldFormat] = Field(default_factory=dict, max_length=50)
    x_title: str | None = Field(default=None, max_length=200)
    y_title: str | None = Field(default=None, max_length=200)
    sort: Literal["x", "value_desc", "value_asc"] = "x"
    top_n: int | None = Field(default=None, ge=1, le=1000,
                              description="Keep the N largest categories; the rest add up "
                                          "to 'Other'.")
    layout: ChartLayout | None = None


FilterValue = str | int | float | bool


class DashboardFilter(StrictModel):
    """Keep rows whose `column` is one of `values`, in every chart on `dataset_id`."""

    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    dataset_id: uuid.UUID
    column: Label
    values: list[FilterValue] = Field(default_factory=list, max_length=200)


class TimeRange(StrictModel):
    """Keep rows with `start <= column < end` (ISO dates or timestamps; either may be
    open), in every chart on `dataset_id`."""

    dataset_id: uuid.UUID
    column: Label
    start: str | None = Field(default=None, max_length=40)
    end: str | None = Field(default=None, max_length=40)

    @model_validator(mode="after")
    def _bounds(self) -> TimeRange:
        for name in ("start", "end"):
            value = getattr(self, name)
            if value is not None:
                try:
                    datetime.fromisoformat(value)
                except ValueError:
                    raise ValueError(f"{name} is not an ISO date or timestamp: "
                                     f"{value!r}") from None
        if self.start and self.end and datetime.fromisoformat(self.start) >= \
                datetime.fromisoformat(self.end):
            raise ValueError("start must be before end")
        return self


class DashboardSettings(StrictModel):
    filters: list[DashboardFilter] = Field(default_factory=list, max_length=20)
    time_range: TimeRange | None = None
    refresh_s: int | None = Field(default=None, ge=10, le=86_400,
                                  description="Re-run every chart this often (seconds).")


class DashboardCreate(StrictModel):
    name: str = Field(min_length=1, max_length=200)
    charts: list[ChartSpec] = Field(default_factory=list, max_length=50)
    settings: DashboardSettings = Field(default_factory=DashboardSettings)


class DashboardUpdate(StrictModel):
    name: str = Field(min_length=1, max_length=200)
    charts: list[ChartSpec] = Field(max_length=50)
    settings: DashboardSettings | None = Field(
        default=None, description="Omitted: the settings are kept as they are.")
    version: int = Field(ge=1, description="The version this edit started from; a stale "
                                           "version is a 409 conflict with the current copy.")


class DashboardPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    owner_id: uuid.UUID | None
    charts: list[ChartSpec]
    settings: DashboardSettings = Field(default_factory=DashboardSettings)
    version: int
    created_at: datetime
    updated_at: datetime

    @field_validator("settings", mode="before")
    @classmethod
    def _empty_settings(cls, value: Any) -> Any:
        return value or {}


class DashboardsPublic(BaseModel):
    items: list[DashboardPublic]
    total: int


# ---------------------------------------------------------------- usage

class UsageRow(BaseModel):
    hour: datetime
    user_id: uuid.UUID
    email: str | None = Field(description="Null once the user is deleted.")
    api_key_id: uuid.UUID | None = Field(description="Null for the user's own (JWT) calls.")
    api_key_name: str | None
    requests: int
    errors: int
    rate_limited: int
    mean_latency_ms: float


class UsagePage(BaseModel):
    items: list[UsageRow]
    total: int


# ---------------------------------------------------------------- errors

class ErrorEventPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    request_id: str
    method: str
    path: str
    route: str | None
    user_id: uuid.UUID | None
    error_type: str
    message: str
    stack: str


class ErrorEventsPage(BaseModel):
    items: list[ErrorEventPublic]
    total: int
