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
from cluster.models import Job, Role


def run(ctx: JobContext, job: Job) -> dict[str, Any]:
    """A user's script, in the user zone (cluster/sandbox.py): copied out of the platform's
    directories, run in the sandbox with an allow-listed environment and a read-only job
    token of its owner. Without the sandbox only an admin's script runs, in the driver's
    working directory, still with the allow-listed environment."""
    from cluster import sandbox

    spec = job.spec
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
        return _run_rayjob(ctx, job, token, started)
    if mode.name == "sandbox":
        script = sandbox.start_script(settings=ctx.settings, workdir=Path.cwd(), argv=argv,
                                      job_id=str(job.id), job_token=token,
                                      stdout=subprocess.PIPE)
        process = script.process
    elif owner_role == Role.admin:
        _, api_path = sandbox.api_target(ctx.settings)
        env = sandbox.sandbox_env(api_path=f"{api_path}/api/v1", job_token=token,
                                  job_id=str(job.id))
        env["HELIO_API_URL"] = f"{ctx.settings.resolved_internal_api_url}/api/v1"
        env["HOME"] = env["TMPDIR"] = str(Path.cwd())
        print(f"helio: no isolated runner ({mode.reason}); running an admin's script "
              "without the sandbox", file=sys.stderr)
        process = subprocess.Popen(argv, cwd=Path.cwd(), env=env,  # noqa: S603 - argv list
                                   stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    else:
        raise JobFailed(f"script jobs need an isolated runner, and none is available on this "
                        f"node ({mode.reason})")
    pump = threading.Thread(target=_pump, args=(process,), name="helio-script-output",
                            daemon=True)
    pump.start()
    try:
        while process.poll() is None:
            time.sleep(0.2)
            ctx.check_cancelled()
    except JobCancelled:
        _stop(process)
        raise
    finally:
        if process.poll() is None:
            _stop(process)
        if script is not None:
            script.cleanup()
    pump.join(5)
    if process.returncode != 0:
        raise JobFailed(f"script exited with status {process.returncode}; see the job's logs")
    return {"exit_code": 0, "elapsed_s": round(time.perf_counter() - started, 3),
            "runner": mode.name if script is not None else "unsandboxed (admin)"}


def _run_rayjob(ctx: JobContext, job: Job, token: str, started: float) -> dict[str, Any]:
    """On Kubernetes: the script as a RayJob on its own cluster (cluster/rayjobs.py)."""
    from cluster import rayjobs

    spec = job.spec
    try:
        objects = rayjobs.render(
            job_id=str(job.id), argv=[spec["script"], *spec.get("args", [])],
            code=rayjobs.zip_workdir(Path.cwd()), token=token,
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
