"""A user's script, in the user zone (cluster/sandbox.py), or as a KubeRay RayJob."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from actors.runner.common import JobCancelled, JobFailed
from actors.runner.context import JobContext
from cluster import sandbox
from cluster.models import Job, Role


def run(ctx: JobContext, job: Job) -> dict[str, Any]:
    """A user's script, in the user zone (cluster/sandbox.py): copied out of the platform's
    directories, run in the sandbox with an allow-listed environment and a read-only job
    token of its owner. Without the sandbox only an admin's script runs, in the driver's
    working directory, still with the allow-listed environment."""

    spec = job.spec
    # The files the API staged for this job; this process never imports or runs them.
    workdir = staged_workdir(ctx, job)
    argv = [sys.executable, spec["script"], *spec.get("args", [])]
    owner_id, owner_role = ctx.owner()
    if owner_id is None:
        raise JobFailed("a script job needs an owner (submit it through the API)")
    token = ctx.signer().issue_access(subject=owner_id, role=Role.viewer.value,
                                      ttl_s=ctx.settings.job_token_ttl_s, job_id=job.id)
    mode = sandbox.runner_mode(ctx.settings)
    started = time.perf_counter()
    script: sandbox.SandboxedScript | None = None
    if mode.name == "kuberay":
        return _run_rayjob(ctx, job, token, started, workdir)
    if mode.name == "sandbox":
        script = sandbox.start_script(settings=ctx.settings, workdir=workdir, argv=argv,
                                      job_id=str(job.id), job_token=token,
                                      stdout=subprocess.PIPE, site=workdir.parent / "site",
                                      limits=sandbox.SandboxLimits.from_settings(
                                          ctx.settings).tightened(
                                          memory_mb=spec.get("memory_mb"),
                                          timeout_s=spec.get("timeout_s")))
        process = script.process
    elif owner_role == Role.admin:
        _, api_path = sandbox.api_target(ctx.settings)
        env = sandbox.sandbox_env(api_path=f"{api_path}/api/v1", job_token=token,
                                  job_id=str(job.id))
        env["HELIO_API_URL"] = f"{ctx.settings.resolved_internal_api_url}/api/v1"
        env["HOME"] = env["TMPDIR"] = str(workdir)
        print(f"helio: no isolated runner ({mode.reason}); running an admin's script "
              "without the sandbox", file=sys.stderr)
        process = subprocess.Popen(argv, cwd=workdir, env=env,  # noqa: S603 - argv list
                                   stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    else:
        raise JobFailed(f"script jobs need an isolated runner, and none is available on this "
                        f"node ({mode.reason})")
    pump = threading.Thread(target=_pump, args=(process,), name="helio-script-output",
                            daemon=True)
    pump.start()
    over: str | None = None
    try:
        over = _watch(ctx, process, script, started)
    except JobCancelled:
        _stop(process)
        raise
    finally:
        if process.poll() is None:
            _stop(process)
        pump.join(5)
        if script is not None:
            over = over or (script.limit_hit() if process.returncode != 0 else None)
            script.cleanup()
    if over is not None and script is not None:
        message = f"the script went over {script.limits.describe(over)} and was stopped"
        print(f"helio: {message}", flush=True)
        raise JobFailed(message)
    if process.returncode != 0:
        raise JobFailed(f"script exited with status {process.returncode}; see the job's logs")
    return {"exit_code": 0, "elapsed_s": round(time.perf_counter() - started, 3),
            "runner": mode.name if script is not None else "unsandboxed (admin)"}


def staged_workdir(ctx: JobContext, job: Job) -> Path:
    """Where `POST /jobs` put the job's files (in the data root, which every node sees)."""
    workdir = ctx.root.job_dir(job.id) / "workdir"
    if not workdir.is_dir():
        raise JobFailed("the job's files are gone (its directory was removed)")
    return workdir


def _run_rayjob(ctx: JobContext, job: Job, token: str, started: float, workdir: Path
                ) -> dict[str, Any]:
    """On Kubernetes: the script as a RayJob on its own cluster (cluster/rayjobs.py)."""
    from cluster import rayjobs

    spec = job.spec
    try:
        objects = rayjobs.render(
            job_id=str(job.id), argv=[spec["script"], *spec.get("args", [])],
            code=rayjobs.zip_workdir(workdir), token=token,
            api_url=f"{ctx.settings.resolved_internal_api_url}/api/v1",
            image=ctx.settings.user_job_image)
        api = rayjobs.KubeApi()
        try:
            status = rayjobs.run(api, objects)
        finally:
            api.close()
    except rayjobs.RayJobError as exc:
        raise JobFailed(str(exc)) from None
    name = next(o for o in objects if o["kind"] == "RayJob")["metadata"]["name"]
    if status != "SUCCEEDED":
        raise JobFailed(f"the script's RayJob {name} ended {status}; see its logs "
                        f"(kubectl logs job/{name})")
    return {"exit_code": 0, "elapsed_s": round(time.perf_counter() - started, 3),
            "runner": "kuberay", "rayjob": name}


DISK_CHECK_S = 2.0


def _watch(ctx: JobContext, process: subprocess.Popen[bytes],
           script: sandbox.SandboxedScript | None, started: float) -> str | None:
    """Wait for the script; stop it at the wall-clock or disk limit (which one, or None)."""
    next_disk_check = time.monotonic() + DISK_CHECK_S
    while process.poll() is None:
        time.sleep(0.2)
        ctx.check_cancelled()
        if script is None:
            continue
        if time.perf_counter() - started > script.limits.wall_s:
            _stop(process)
            return "wall"
        if time.monotonic() >= next_disk_check:
            next_disk_check = time.monotonic() + DISK_CHECK_S
            if script.disk_used() > script.limits.disk_bytes:
                _stop(process)
                return "disk"
    return None


def _pump(process: subprocess.Popen[bytes]) -> None:
    """The script's output, line by line, into this process's stdout (the Ray Job's log,
    teed into the job's own log)."""
    assert process.stdout is not None
    for raw in iter(process.stdout.readline, b""):
        sys.stdout.write(raw.decode("utf-8", "replace"))
        sys.stdout.flush()


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the script's whole process group, then SIGKILL after 5 s."""
    for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue
