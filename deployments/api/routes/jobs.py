from __future__ import annotations

import asyncio
import json
import re
import shutil
import uuid
import zipfile
import zlib
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, Form, Query, UploadFile

from cluster.models import Job, JobKind, Role
from cluster.sandbox import PackageRefused, install_packages, runner_mode
from deployments.api.deps import ContextDep, CurrentPrincipal, SessionDep
from deployments.api.principals import Principal
from deployments.api.problems import ApiError
from deployments.api.schemas import JobLogs, JobPublic, JobsPublic, JobStatusName, Limit, Offset
from deployments.api.services import jobs
from deployments.api.services.datasets import invalid

router = APIRouter(prefix="/jobs", tags=["jobs"])

_PIP_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-\[\],<>=!~ ]{0,199}$")
MAX_ZIP_ENTRIES = 10_000
MAX_UNZIPPED_BYTES = 512 << 20


@router.get("", response_model=JobsPublic)
async def list_jobs(
    session: SessionDep, principal: CurrentPrincipal, limit: Limit = 100, offset: Offset = 0,
    status: JobStatusName | None = None,
    kind: Annotated[JobKind | None, Query()] = None,
    schedule_id: Annotated[uuid.UUID | None, Query(description="Runs of this schedule")]
    = None,
) -> JobsPublic:
    """Jobs, newest first; a queued job carries its `position` in the start order."""
    rows, total = await jobs.list_jobs(session=session, principal=principal, status=status,
                                       kind=kind.value if kind else None, limit=limit,
                                       offset=offset, schedule_id=schedule_id)
    places = await jobs.positions(session, rows)
    return JobsPublic(items=[_public(j, principal, places) for j in rows], total=total)


def _public(job: Job, principal: Principal, places: dict[uuid.UUID, int] | None = None
            ) -> JobPublic:
    """Everyone who may list jobs sees their status; spec, result and the attempts'
    errors and process ids only the owner and admins."""
    public = JobPublic.model_validate(job)
    if places:
        public.position = places.get(job.id)
    if not jobs.sees_details(principal, job):
        public = public.model_copy(update={
            "spec": {}, "result": None,
            "attempts": [{k: v for k, v in a.items() if k not in ("error", "pid")}
                         for a in job.attempts]})
    return public


@router.get("/{job_id}", response_model=JobPublic)
async def read_job(job_id: uuid.UUID, ctx: ContextDep, session: SessionDep,
                   principal: CurrentPrincipal) -> JobPublic:
    job = await jobs.get_job(ctx=ctx, session=session, principal=principal, job_id=job_id)
    return _public(job, principal, await jobs.positions(session, [job]))


@router.get("/{job_id}/logs", response_model=JobLogs)
async def read_job_logs(
    job_id: uuid.UUID, ctx: ContextDep, session: SessionDep, principal: CurrentPrincipal,
    after: Annotated[int, Query(ge=-1, description="Only chunks after this one "
                                                   "(`last_seq` of an earlier read)")] = -1,
) -> JobLogs:
    """The job's output, kept with the job (a bounded tail), for its owner or an admin.
    Live chunks arrive over `WS /events` as `{"type": "job_log"}`; read with
    `after=last_seq` to continue without gaps or repeats."""
    job = await jobs.get_job(ctx=ctx, session=session, principal=principal, job_id=job_id)
    if not jobs.sees_details(principal, job):
        raise ApiError(403, "Only the job's owner or an admin may read its logs")
    text, last = await jobs.job_logs(ctx=ctx, session=session, job=job, after=after)
    return JobLogs(job_id=job.id, ray_job_id=job.ray_job_id, logs=text, last_seq=last)


@router.post("/{job_id}/cancel", response_model=JobPublic)
async def cancel_job(job_id: uuid.UUID, ctx: ContextDep, session: SessionDep,
                     principal: CurrentPrincipal) -> JobPublic:
    job = await jobs.get_job(ctx=ctx, session=session, principal=principal, job_id=job_id)
    job = await jobs.cancel_job(ctx=ctx, session=session, principal=principal, job=job)
    return _public(job, principal)


def _unpack(upload_path: Path, target: Path) -> None:
    """Extract a zipped working directory, refusing path traversal and zip bombs."""
    try:
        archive = zipfile.ZipFile(upload_path)
    except zipfile.BadZipFile:
        raise invalid(["body", "file"], "not a valid zip file") from None
    with archive:
        entries = archive.infolist()
        if len(entries) > MAX_ZIP_ENTRIES:
            raise invalid(["body", "file"], f"the zip has more than {MAX_ZIP_ENTRIES} entries")
        if sum(e.file_size for e in entries) > MAX_UNZIPPED_BYTES:
            raise invalid(["body", "file"], "the zip unpacks to more than 512 MiB")
        root = target.resolve()
        for entry in entries:
            dest = (target / entry.filename).resolve()
            if not dest.is_relative_to(root):
                raise invalid(["body", "file"], f"zip entry {entry.filename!r} escapes the "
                              "working directory")
        try:
            archive.extractall(target)
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError,
                ValueError) as exc:
            # A bad CRC, a truncated member, an unsupported compression method, an
            # encrypted member.
            raise invalid(["body", "file"], f"the zip is corrupt: {exc}") from None


@router.post("", response_model=JobPublic, status_code=202)
async def submit_job(
    ctx: ContextDep,
    session: SessionDep,
    principal: CurrentPrincipal,
    file: Annotated[UploadFile, File(description="A Python script, or a zip of a working "
                                                 "directory (give `entrypoint`)")],
    args: Annotated[str | None, Form(description='Arguments as a JSON list, e.g. ["--n", "5"]')]
    = None,
    entrypoint: Annotated[str | None, Form(max_length=300, description="Script inside the zip")]
    = None,
    pip: Annotated[str | None, Form(description='Extra packages as a JSON list')] = None,
    num_cpus: Annotated[float, Form(
        ge=0, le=1024, description="CPUs for the script process (its tasks ask for their own)")
    ] = 0.0,
    num_gpus: Annotated[float, Form(ge=0, le=64)] = 0.0,
    memory_mb: Annotated[int | None, Form(
        ge=1, le=10_000_000, description="Memory for the script (also its sandbox's limit, "
                                         "at most HELIO_SANDBOX_MEMORY_MB)")] = None,
    timeout_s: Annotated[float | None, Form(
        ge=1, le=30 * 86_400, description="Stop the script after this long (at most "
                                          "HELIO_SANDBOX_WALL_S)")] = None,
) -> JobPublic:
    """Run your own script as a job, in the user zone: a sandbox with no platform secrets
    and no network but the API (`HELIO_API_URL`, with a read-only token of yours in
    `HELIO_JOB_TOKEN`). `pip` packages are installed as wheels (never built from source)
    into the job's own directory, which only the sandbox sees; a package without a wheel is
    a 422. Without an isolated runner only admins may run scripts."""
    mode = await asyncio.to_thread(runner_mode, ctx.settings)
    if not mode.isolated and principal.role != Role.admin:
        raise ApiError(403, f"Script jobs need an isolated runner, and none is available here "
                            f"({mode.reason}); only admins may run scripts until one is set up")
    parsed_args = _json_list(args, "args")
    packages = _json_list(pip, "pip")
    for i, package in enumerate(packages):
        if not _PIP_RE.match(package) or package.startswith("-"):
            raise invalid(["body", "pip", i], "not a package requirement")
    job_id = uuid.uuid4()
    workdir = ctx.data_root.job_dir(job_id) / "workdir"
    workdir.mkdir(parents=True, exist_ok=True)
    name = Path(file.filename or "script.py").name
    try:
        raw = workdir.parent / "upload"
        with raw.open("wb") as out:
            while chunk := await file.read(1 << 20):
                out.write(chunk)
        if name.endswith(".zip"):
            _unpack(raw, workdir)
            script = entrypoint or "main.py"
            if not (workdir / script).resolve().is_relative_to(workdir.resolve()) or \
                    not (workdir / script).is_file():
                raise invalid(["body", "entrypoint"], f"{script!r} is not a file in the zip")
        else:
            if not name.endswith(".py"):
                raise invalid(["body", "file"], "upload a .py script or a .zip working directory")
            shutil.move(raw, workdir / name)
            script = name
        raw.unlink(missing_ok=True)
        if packages:
            # Wheels only, into the job's own directory: only the sandbox imports them.
            try:
                await asyncio.to_thread(install_packages, ctx.settings, packages,
                                        workdir.parent / "site")
            except PackageRefused as exc:
                raise invalid(["body", "pip"], f"cannot install {packages}: {exc}") from None
    except BaseException:
        shutil.rmtree(workdir.parent, ignore_errors=True)
        raise
    job = await jobs.submit_job(
        ctx=ctx, session=session, principal=principal, kind=JobKind.script,
        spec={"script": script, "args": parsed_args, "pip": packages, "num_cpus": num_cpus,
              "num_gpus": num_gpus, "memory_mb": memory_mb, "timeout_s": timeout_s},
        num_cpus=num_cpus, num_gpus=num_gpus,
        memory=memory_mb * (1 << 20) if memory_mb else None, job_id=job_id)
    return _public(job, principal)


def _json_list(raw: str | None, field: str) -> list[str]:
    if raw is None or not raw.strip():
        return []
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        raise invalid(["body", field], "must be a JSON list of strings") from None
    if not isinstance(value, list) or not all(isinstance(v, str | int | float) for v in value):
        raise invalid(["body", field], "must be a JSON list of strings")
    if len(value) > 1000:
        raise invalid(["body", field], "at most 1000 items")
    return [str(v) for v in value]
