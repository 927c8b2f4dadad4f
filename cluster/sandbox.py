"""The user zone on one machine: code a user wrote runs in a bubblewrap sandbox.

A script job's code never runs where the platform's secrets are. The job driver (platform
zone) starts it with `bwrap`:

- a new mount namespace holding only the OS (`/usr`), the Python installation, Helio's
  virtualenv (read-only) and the job's own directory (`/job`, read-write) with a private
  `/tmp`: `$HELIO_HOME`, the SQLite DB, the JWT keys, the Ray token and session directory,
  PostgreSQL's socket are simply not there;
- a new network namespace: nothing on the host's loopback is reachable (PostgreSQL,
  Redis, the Ray GCS and dashboard). The one way out is the API: inside, a forwarder on
  `127.0.0.1:8000` relays through a Unix socket in `/job` to the ingress;
- new PID, IPC and UTS namespaces; the sandbox dies with its driver;
- an environment built from an allow-list, never inherited; the API credential is a
  short-lived, read-only job token of the submitting user (`HELIO_JOB_TOKEN`);
- when Helio runs as root, the script runs as a dedicated OS user (`HELIO_RUNNER_USER`,
  created on first use) with no capabilities; otherwise as Helio's own user inside an
  unprivileged user namespace.

Where `bwrap` is missing or cannot create namespaces, the runner is unavailable: script
jobs are then refused for everyone but admins (403 with the reason).
"""

from __future__ import annotations

import functools
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import structlog

from cluster._sandbox_boot import pump
from cluster.settings import Settings

log = structlog.get_logger("helio.sandbox")

SANDBOX_API_PORT = 8000
BOOT_SCRIPT = Path(__file__).with_name("_sandbox_boot.py")
# Copied from the driver's environment into the sandbox; nothing else is.
INHERITED_ENV = ("LANG", "LC_ALL", "TZ")


@dataclass(frozen=True, slots=True)
class RunnerMode:
    """Which runner executes user code here, and why."""

    name: str  # "sandbox" | "kuberay" | "unavailable"
    reason: str

    @property
    def isolated(self) -> bool:
        return self.name in ("sandbox", "kuberay")


def _as_root() -> bool:
    return os.geteuid() == 0


@functools.cache
def _probe(bwrap: str, as_root: bool) -> str | None:
    """None when bwrap can build the namespaces the sandbox needs, else the reason."""
    command = [bwrap, "--ro-bind", "/", "/", "--unshare-net", "--unshare-pid",
               "--unshare-ipc", "--proc", "/proc", "--dev", "/dev", "--", "/usr/bin/true"]
    if not as_root:
        command[1:1] = ["--unshare-user"]
    try:
        done = subprocess.run(command, capture_output=True, timeout=20, check=False)  # noqa: S603
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bwrap could not start ({type(exc).__name__})"
    if done.returncode != 0:
        return ("bwrap cannot create namespaces here: "
                + done.stderr.decode(errors="replace").strip()[:200])
    return None


def runner_mode(settings: Settings) -> RunnerMode:
    choice = settings.script_runner
    if choice == "kuberay":
        return RunnerMode("kuberay", "user scripts run as KubeRay RayJobs on their own "
                                     "clusters (kuberay/jobs/user-script.yaml)")
    if choice == "off":
        return RunnerMode("unavailable", "HELIO_SCRIPT_RUNNER=off")
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return RunnerMode("unavailable", "bubblewrap (bwrap) is not installed: "
                                         "apt-get install bubblewrap")
    problem = _probe(bwrap, _as_root())
    if problem is not None:
        return RunnerMode("unavailable", problem)
    who = f"as OS user {settings.runner_user}" if _as_root() else "in a user namespace"
    return RunnerMode("sandbox", f"bubblewrap sandbox {who}, no network but the API")


def runner_ids(settings: Settings) -> tuple[int, int] | None:
    """(uid, gid) of the dedicated runner user when Helio runs as root (created on first
    use), None otherwise."""
    if not _as_root():
        return None
    name = settings.runner_user
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        useradd = shutil.which("useradd") or "/usr/sbin/useradd"
        subprocess.run([useradd, "--system", "--no-create-home", "--home-dir", "/nonexistent",  # noqa: S603
                        "--shell", "/usr/sbin/nologin", "--user-group", name],
                       check=True, capture_output=True, timeout=30)
        entry = pwd.getpwnam(name)
    if entry.pw_uid == 0:
        raise RuntimeError(f"HELIO_RUNNER_USER {name!r} is root")
    return entry.pw_uid, entry.pw_gid


def sandbox_env(*, api_path: str, job_token: str, job_id: str) -> dict[str, str]:
    """The script's whole environment: an allow-list, nothing inherited but the locale."""
    env = {k: os.environ[k] for k in INHERITED_ENV if k in os.environ}
    env.update({
        "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
        "HOME": "/job/home",
        "TMPDIR": "/tmp",  # noqa: S108 - the sandbox's own tmpfs
        "PYTHONUNBUFFERED": "1",
        "HF_HUB_OFFLINE": "1",
        "HELIO_API_URL": f"http://127.0.0.1:{SANDBOX_API_PORT}{api_path}",
        "HELIO_JOB_TOKEN": job_token,
        "HELIO_JOB_ID": job_id,
    })
    return env


def _read_only_roots() -> list[str]:
    """What the script may read besides /usr: the Python installation and the virtualenv,
    so pandas, numpy, ... import (Helio's own code is not among them)."""
    roots = {sys.base_prefix, sys.prefix}
    return sorted(r for r in roots if r and r != "/usr" and Path(r).is_dir())


def _check_roots(settings: Settings) -> None:
    """Never mount a directory that holds the platform's state into a sandbox."""
    private = [Path(settings.home).resolve(), Path(settings.resolved_data_root).resolve()]
    for root in _read_only_roots():
        for path in private:
            if path.is_relative_to(Path(root).resolve()):
                raise RuntimeError(f"{path} is inside {root}, which the sandbox mounts; move "
                                   "HELIO_HOME / HELIO_DATA_ROOT out of the Python installation")


def _parents(path: str) -> list[str]:
    parts = Path(path).parts[1:-1]
    return ["/" + "/".join(parts[:i + 1]) for i in range(len(parts))]


def bwrap_command(*, bwrap: str, job_dir: Path, argv: Sequence[str],
                  ids: tuple[int, int] | None, socket_path: str) -> list[str]:
    command = [bwrap, "--die-with-parent", "--new-session",
               "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
               "--unshare-cgroup-try", "--hostname", "localhost",
               "--ro-bind", "/usr", "/usr",
               "--proc", "/proc", "--dev", "/dev",
               # The sandbox's own temp space (Ray's object store needs /dev/shm), mounted
               # before the binds so that a virtualenv under /tmp stays visible.
               "--perms", "1777", "--tmpfs", "/dev/shm",  # noqa: S108
               "--perms", "1777", "--tmpfs", "/tmp"]  # noqa: S108
    for link in ("bin", "sbin", "lib", "lib32", "lib64"):
        target = Path("/") / link
        if target.is_symlink():
            command += ["--symlink", os.readlink(target), str(target)]
        elif target.is_dir():
            command += ["--ro-bind", str(target), str(target)]
    for item in ("/etc/ssl", "/etc/ca-certificates", "/etc/localtime", "/etc/alternatives",
                 "/etc/ld.so.cache", "/etc/mime.types", "/etc/hosts"):
        command += ["--ro-bind-try", item, item]
    made: set[str] = {"/tmp", "/dev"}  # noqa: S108 - mounted above
    for root in _read_only_roots():
        for parent in _parents(root):
            if parent not in made:
                made.add(parent)
                command += ["--perms", "0755", "--dir", parent]
        command += ["--ro-bind", root, root]
    command += ["--perms", "0755", "--dir", "/helio",
                "--ro-bind", str(BOOT_SCRIPT), "/helio/boot.py",
                "--bind", str(job_dir), "/job", "--chdir", "/job/work"]
    if ids is None:
        command += ["--unshare-user"]
        inner: list[str] = []
    else:
        uid, gid = ids
        # bwrap runs as root (to mount); the script runs as the runner user, no capabilities.
        inner = [shutil.which("setpriv") or "/usr/bin/setpriv", f"--reuid={uid}",
                 f"--regid={gid}", "--clear-groups", "--inh-caps=-all", "--bounding-set=-all",
                 "--no-new-privs", "--"]
    return [*command, "--", *inner, sys.executable, "-I", "/helio/boot.py",
            "--port", str(SANDBOX_API_PORT), "--socket", socket_path, "--", *argv]


class ApiBridge:
    """Relays connections from the sandbox's Unix socket to the ingress (host, port):
    the only way out of the sandbox's network namespace."""

    def __init__(self, path: Path, target: tuple[str, int], ids: tuple[int, int] | None
                 ) -> None:
        self.path = path
        self.target = target
        self._server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._server.bind(str(path))
        if ids is not None:
            os.chown(path, *ids)
        path.chmod(0o600)
        self._server.listen(64)
        self._closed = threading.Event()
        threading.Thread(target=self._accept, daemon=True, name="api-bridge").start()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=10)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=pump, args=(a, b), daemon=True).start()

    def close(self) -> None:
        self._closed.set()
        self._server.close()


def api_target(settings: Settings) -> tuple[tuple[str, int], str]:
    """Where the driver reaches the ingress, and the API's path prefix."""
    url = urlsplit(settings.resolved_internal_api_url)
    host = url.hostname or "127.0.0.1"
    port = url.port or (443 if url.scheme == "https" else 80)
    return (host, port), url.path.rstrip("/")


@dataclass
class SandboxedScript:
    """A user script started in the sandbox; `wait()`/`terminate()` it, then `cleanup()`."""

    process: subprocess.Popen[bytes]
    job_dir: Path
    bridge: ApiBridge

    def cleanup(self) -> None:
        self.bridge.close()
        shutil.rmtree(self.job_dir, ignore_errors=True)


def start_script(*, settings: Settings, workdir: Path, argv: Sequence[str], job_id: str,
                 job_token: str, stdout: int | None = None) -> SandboxedScript:
    """Copy the job's files into a fresh directory of the runner's and start `argv`
    (relative to that directory) in the sandbox."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        raise RuntimeError("bwrap is not installed")
    _check_roots(settings)
    ids = runner_ids(settings)
    base = Path(settings.runner_root) if settings.runner_root else None
    if base is not None:
        base.mkdir(parents=True, exist_ok=True)
    job_dir = Path(tempfile.mkdtemp(prefix=f"helio-job-{job_id[:8]}-", dir=base))
    try:
        shutil.copytree(workdir, job_dir / "work", symlinks=True)
        (job_dir / "home").mkdir()
        if ids is not None:
            for path in (job_dir, *job_dir.rglob("*")):
                os.chown(path, *ids, follow_symlinks=False)
        target, api_path = api_target(settings)
        bridge = ApiBridge(job_dir / "api.sock", target, ids)
    except BaseException:
        shutil.rmtree(job_dir, ignore_errors=True)
        raise
    command = bwrap_command(bwrap=bwrap, job_dir=job_dir, argv=argv, ids=ids,
                            socket_path="/job/api.sock")
    env = sandbox_env(api_path=f"{api_path}/api/v1", job_token=job_token, job_id=job_id)
    try:
        process = subprocess.Popen(command, env=env, cwd=job_dir, stdin=subprocess.DEVNULL,  # noqa: S603
                                   stdout=stdout,
                                   stderr=subprocess.STDOUT if stdout is not None else None,
                                   start_new_session=True)
    except BaseException:
        bridge.close()
        shutil.rmtree(job_dir, ignore_errors=True)
        raise
    log.info("sandbox_started", job_id=job_id, pid=process.pid,
             runner_uid=ids[0] if ids else os.geteuid())
    return SandboxedScript(process=process, job_dir=job_dir, bridge=bridge)
