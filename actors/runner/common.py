"""What the handlers share: failures with a message for the user, progress while the
work runs in a thread, and joining the cluster with Helio's Ray Data settings."""

from __future__ import annotations

import re
import resource
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog

from pipelines import spec as s

if TYPE_CHECKING:
    from actors.runner.context import JobContext

log = structlog.get_logger("helio.job")
PROGRESS_INTERVAL_S = 0.5
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class JobCancelled(BaseException):
    """Raised in the handler when the job is cancelled (SIGTERM to a Ray Job driver, or
    the cancel flag of a warm runner)."""


class JobFailed(Exception):
    """An expected failure with a message for the user (bad spec, missing data); not
    retried."""


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:1000] if text else ""


def user_message(exc: BaseException) -> str:
    """The root cause of a failure, without Ray's task wrappers."""
    from pipelines import engine

    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, JobFailed | s.SpecError | engine.StepFailed):
            return str(current)
        nested = getattr(current, "cause", None)
        current = nested if isinstance(nested, BaseException) else (
            current.__cause__ or current.__context__)
    text = _ANSI.sub("", str(exc))
    # A Ray task's exception arrives as text inside RayTaskError: find ours in it.
    found = re.search(r"(?:StepFailed|JobFailed|SpecError): (.+)", text)
    if found:
        return found.group(1).strip()[:1000]
    lines = [line for line in text.splitlines() if line.strip()]
    return f"{type(exc).__name__}: {lines[-1][:1000] if lines else ''}"


def is_user_error(exc: BaseException) -> bool:
    """A failure that another attempt would repeat (bad spec, missing data, a step that
    rejects the data): not retried."""
    from pipelines import engine

    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, JobFailed | s.SpecError | engine.StepFailed):
            return True
        nested = getattr(current, "cause", None)
        current = nested if isinstance(nested, BaseException) else (
            current.__cause__ or current.__context__)
    return bool(re.search(r"(?:StepFailed|JobFailed|SpecError): ", _ANSI.sub("", str(exc))))


def root_cause(exc: BaseException) -> str:
    """The first line of the innermost exception (e.g. the database's own message under
    Ray's task wrappers)."""
    seen: set[int] = set()
    current = exc
    while id(current) not in seen:
        seen.add(id(current))
        nested = getattr(current, "cause", None)
        nested = nested if isinstance(nested, BaseException) else current.__cause__
        if nested is None:
            break
        current = nested
    return _ANSI.sub("", first_line(current))


def _status_kb(field: str) -> int | None:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


class PeakRss:
    """This process's peak resident memory over one run. A warm runner lives across many
    jobs, so its lifetime peak (`ru_maxrss`) says nothing about the current one: on Linux
    the peak is reset at the start (`/proc/self/clear_refs`), elsewhere the lifetime peak
    is reported."""

    def __init__(self) -> None:
        try:
            with open("/proc/self/clear_refs", "w") as refs:
                refs.write("5")
        except OSError:
            pass
        self.start_mb = round((_status_kb("VmRSS") or 0) / 1024, 1)

    def peak_mb(self) -> float:
        peak = _status_kb("VmHWM")
        if peak is None:
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return round(peak / 1024, 1)

    def summary(self) -> dict[str, float]:
        peak = self.peak_mb()
        return {"driver_rss_start_mb": self.start_mb, "driver_max_rss_mb": peak,
                "driver_rss_growth_mb": round(max(0.0, peak - self.start_mb), 1)}


def with_progress(ctx: JobContext, work: Callable[[], Any], fraction: Callable[[], float]
                  ) -> Any:
    """Run `work` in a thread; this thread reports progress (and so notices a cancel)."""
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = work()
        except BaseException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=target, name="helio-job-work", daemon=True)
    thread.start()
    while thread.is_alive():
        thread.join(PROGRESS_INTERVAL_S)
        if thread.is_alive():
            try:
                ctx.progress(fraction())
            except JobCancelled:
                raise
            except Exception as exc:
                log.warning("progress_failed", error=type(exc).__name__)
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


def connect_ray() -> None:
    """Join the cluster this job runs on, with the Ray Data settings Helio's jobs rely on
    (a no-op inside a runner actor, which is connected already).

    Parquet is read through Ray Data's task-based (V1) reader: 2.60's default V2 reader
    lists files on a pool of `FooterReader` actors spread over the cluster, and a worker
    node lost while they run fails the read outright, where tasks are simply retried on
    the nodes that are left (tests/pipelines/test_multinode.py).
    """
    import ray
    from ray.data import DataContext

    if not ray.is_initialized():
        ray.init(ignore_reinit_error=True, log_to_driver=True)
    DataContext.get_current().use_datasource_v2 = False


def model_dir(ctx: JobContext) -> Path:
    from pipelines.text import ModelMissing, resolve_model_dir

    try:
        return resolve_model_dir(ctx.settings.nlp_model_dir)
    except ModelMissing as exc:
        raise JobFailed(str(exc)) from None
