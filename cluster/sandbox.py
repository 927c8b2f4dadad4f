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

import contextlib
import dataclasses
import functools
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
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
                  ids: tuple[int, int] | None, socket_path: str,
                  tmp_bytes: int | None = None) -> list[str]:
    command = [bwrap, "--die-with-parent", "--new-session",
               "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
               "--unshare-cgroup-try", "--hostname", "localhost",
               "--ro-bind", "/usr", "/usr",
               "--proc", "/proc", "--dev", "/dev",
               # The sandbox's own temp space (Ray's object store needs /dev/shm), mounted
               # before the binds so that a virtualenv under /tmp stays visible.
               "--perms", "1777", "--tmpfs", "/dev/shm",  # noqa: S108
               "--perms", "1777", *(["--size", str(tmp_bytes)] if tmp_bytes else []),
               "--tmpfs", "/tmp"]  # noqa: S108
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


@dataclass(frozen=True, slots=True)
class SandboxLimits:
    """What one sandboxed script may use (settings `HELIO_SANDBOX_*`)."""

    processes: int
    memory_bytes: int
    cpu_s: int
    file_bytes: int
    disk_bytes: int
    open_files: int
    wall_s: int

    @classmethod
    def from_settings(cls, settings: Settings) -> SandboxLimits:
        mib = 1 << 20
        return cls(processes=settings.sandbox_max_processes,
                   memory_bytes=settings.sandbox_memory_mb * mib, cpu_s=settings.sandbox_cpu_s,
                   file_bytes=settings.sandbox_file_mb * mib,
                   disk_bytes=settings.sandbox_disk_mb * mib,
                   open_files=settings.sandbox_open_files, wall_s=settings.sandbox_wall_s)

    def tightened(self, *, memory_mb: int | None = None, timeout_s: float | None = None
                  ) -> SandboxLimits:
        """These limits, lowered by what a job asked for (never raised past the setting)."""
        memory = min(self.memory_bytes, memory_mb << 20) if memory_mb else self.memory_bytes
        wall = min(self.wall_s, max(1, int(timeout_s))) if timeout_s else self.wall_s
        return dataclasses.replace(self, memory_bytes=memory, wall_s=wall)

    def prlimit_args(self, *, cgroup: bool, uid: int) -> list[str]:
        """rlimits for `prlimit`: inherited by bwrap and everything the script starts.
        Processes and memory are the cgroup's job when there is one (RLIMIT_NPROC counts
        every process of the OS user `uid`, RLIMIT_AS counts address space, not memory):
        without one, the process limit is on top of what that user already runs."""
        # CPU: SIGXCPU at the soft limit (named in the job), SIGKILL 5 s of CPU later.
        args = [f"--cpu={self.cpu_s}:{self.cpu_s + 5}", f"--fsize={self.file_bytes}",
                f"--nofile={self.open_files}", "--core=0"]
        if not cgroup:
            args += [f"--nproc={self.processes + _processes_of(uid)}",
                     f"--as={self.memory_bytes}"]
        return args

    def describe(self, which: str) -> str:
        mib = 1 << 20
        return {
            "processes": f"the process limit ({self.processes} processes, "
                         "HELIO_SANDBOX_MAX_PROCESSES)",
            "memory": f"the memory limit ({self.memory_bytes // mib} MiB, "
                      "HELIO_SANDBOX_MEMORY_MB)",
            "cpu": f"the CPU time limit ({self.cpu_s} s, HELIO_SANDBOX_CPU_S)",
            "file_size": f"the file size limit ({self.file_bytes // mib} MiB per file, "
                         "HELIO_SANDBOX_FILE_MB)",
            "disk": f"the disk limit ({self.disk_bytes // mib} MiB in the job's directory "
                    "and /tmp, HELIO_SANDBOX_DISK_MB)",
            "wall": f"the wall-clock limit ({self.wall_s} s, HELIO_SANDBOX_WALL_S)",
        }[which]


def _processes_of(uid: int) -> int:
    """How many processes (threads included: RLIMIT_NPROC counts them) `uid` runs now."""
    count = 0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if entry.stat().st_uid == uid:
                    count += len(os.listdir(entry / "task"))
    return count


CGROUP_ROOT = Path("/sys/fs/cgroup")
OBJECT_STORE_MIN_BYTES = 80 << 20  # Ray refuses less than 75 MiB
CGROUP_PARENT = "helio-jobs"


@dataclass
class JobCgroup:
    """The job's own cgroup (pids and memory controllers), v2 or v1; `None` from `create`
    where this machine does not let Helio make one."""

    dirs: list[Path]
    v2: bool

    @classmethod
    def create(cls, job_id: str, limits: SandboxLimits,
               root: Path = CGROUP_ROOT) -> JobCgroup | None:
        # Its own per start: a retried attempt, or a cgroup a slow cleanup left behind,
        # would otherwise hand this run the processes and event counters of the last one.
        name = f"job-{job_id}-{secrets.token_hex(4)}"
        made: list[Path] = []
        try:
            if (root / "cgroup.controllers").is_file():  # v2: one hierarchy
                parent = root / CGROUP_PARENT
                parent.mkdir(exist_ok=True)
                (parent / "cgroup.subtree_control").write_text("+pids +memory")
                job = parent / name
                job.mkdir()
                made.append(job)
                (job / "pids.max").write_text(str(limits.processes))
                (job / "memory.max").write_text(str(limits.memory_bytes))
                (job / "memory.swap.max").write_text("0")
                return cls(made, v2=True)
            for controller, files in (("pids", {"pids.max": limits.processes}),
                                      ("memory", {"memory.limit_in_bytes": limits.memory_bytes})):
                job = root / controller / CGROUP_PARENT / name
                (root / controller / CGROUP_PARENT).mkdir(parents=True, exist_ok=True)
                job.mkdir()
                made.append(job)
                for file, value in files.items():
                    (job / file).write_text(str(value))
            return cls(made, v2=False)
        except OSError as exc:
            log.info("sandbox_no_cgroup", error=f"{type(exc).__name__}: {exc}")
            for path in made:
                with contextlib.suppress(OSError):
                    path.rmdir()
            return None

    @property
    def procs_files(self) -> list[str]:
        return [str(d / "cgroup.procs") for d in self.dirs]

    def _read(self, file: str) -> str:
        for d in self.dirs:
            if (d / file).is_file():
                with contextlib.suppress(OSError):
                    return (d / file).read_text()
        return ""

    def limits_hit(self) -> list[str]:
        """Which of its limits the job ran into ("processes", "memory")."""
        def counter(text: str, key: str) -> int:
            for line in text.splitlines():
                parts = line.split()
                if len(parts) == 2 and parts[0] == key and parts[1].isdigit():
                    return int(parts[1])
            return 0

        hit = []
        if counter(self._read("pids.events"), "max"):
            hit.append("processes")
        if self.v2:
            if counter(self._read("memory.events"), "oom_kill") or counter(
                    self._read("memory.events"), "max"):
                hit.append("memory")
        elif self._read("memory.failcnt").strip() not in ("", "0"):
            hit.append("memory")
        return hit

    def remove(self) -> None:
        """Kill what is left in it, then remove it."""
        for d in self.dirs:
            procs = d / "cgroup.procs"
            with contextlib.suppress(OSError):
                for pid in procs.read_text().split():
                    with contextlib.suppress(ProcessLookupError, ValueError):
                        os.kill(int(pid), signal.SIGKILL)
            for _ in range(50):
                try:
                    d.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.05)


def disk_used(*paths: Path) -> int:
    """Bytes in files under `paths` (not following links)."""
    total = 0
    for path in paths:
        for dirpath, _, files in os.walk(path):
            for name in files:
                with contextlib.suppress(OSError):
                    total += os.lstat(os.path.join(dirpath, name)).st_blocks * 512
    return total


class PackageRefused(ValueError):
    """A script job's package that cannot be installed into the user zone."""


def install_packages(settings: Settings, packages: Sequence[str], target: Path) -> None:
    """Install `packages` for one script job into `target`, wheels only: a wheel is only
    unpacked, so no package code (no `setup.py`, no build backend) runs here, in the
    platform zone. The sandbox puts `target` on the script's `PYTHONPATH`; no platform
    process ever has it on its own."""
    command = [sys.executable, "-I", "-m", "pip", "install", "--only-binary=:all:",
               "--target", str(target), "--no-input", "--disable-pip-version-check",
               "--no-warn-script-location", "--no-compile", "--quiet"]
    if settings.job_pip_index_url == "none":
        command.append("--no-index")
    elif settings.job_pip_index_url:
        command += ["--index-url", settings.job_pip_index_url]
    if settings.job_pip_find_links:
        command += ["--find-links", settings.job_pip_find_links]
    home = Path(tempfile.mkdtemp(prefix="helio-pip-"))
    env = {k: v for k, v in os.environ.items()
           if k.startswith("PIP_") or k in ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY",
                                              "SSL_CERT_FILE", *INHERITED_ENV)}
    env.update(HOME=str(home), PATH="/usr/local/bin:/usr/bin:/bin", PIP_NO_CACHE_DIR="1")
    try:
        done = subprocess.run([*command, "--", *packages], env=env, cwd=home,  # noqa: S603
                              stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=settings.job_pip_timeout_s, check=False)
    except subprocess.TimeoutExpired:
        raise PackageRefused(f"installing the packages took longer than "
                             f"{settings.job_pip_timeout_s:g} s") from None
    finally:
        shutil.rmtree(home, ignore_errors=True)
    if done.returncode != 0:
        errors = [line.strip() for line in done.stderr.splitlines()
                  if line.startswith("ERROR")] or done.stderr.strip().splitlines()[-3:]
        raise PackageRefused(
            "; ".join(errors)[:600] + " (script jobs install wheels only, never build from "
            "source: a package without a wheel for this platform cannot be used)")



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
    limits: SandboxLimits
    cgroup: JobCgroup | None = None

    def limit_hit(self) -> str | None:
        """The limit the script ran into (a key of `SandboxLimits.describe`), if any."""
        rc = self.process.returncode
        if rc in (-signal.SIGXCPU, 128 + signal.SIGXCPU):
            return "cpu"
        if self.cgroup is not None:
            hit = self.cgroup.limits_hit()
            if hit:
                return hit[0]
        # A write past RLIMIT_FSIZE fails (Python ignores SIGXFSZ) and leaves the file at
        # exactly the limit.
        for dirpath, _, files in os.walk(self.job_dir):
            for name in files:
                with contextlib.suppress(OSError):
                    if os.lstat(os.path.join(dirpath, name)).st_size >= self.limits.file_bytes:
                        return "file_size"
        return None

    def disk_used(self) -> int:
        return disk_used(self.job_dir)

    def cleanup(self) -> None:
        self.bridge.close()
        if self.cgroup is not None:
            self.cgroup.remove()
        shutil.rmtree(self.job_dir, ignore_errors=True)


# Puts this shell into the job's cgroups, then becomes `prlimit ... -- bwrap ...`.
_ENTER_CGROUPS = 'while [ "$1" != "--" ]; do echo $$ > "$1" || exit 125; shift; done; shift; ' \
                 'exec "$@"'


def start_script(*, settings: Settings, workdir: Path, argv: Sequence[str], job_id: str,
                 job_token: str, stdout: int | None = None,
                 site: Path | None = None,
                 limits: SandboxLimits | None = None) -> SandboxedScript:
    """Copy the job's files (and its installed packages, `site`) into a fresh directory
    of the runner's and start `argv` (relative to that directory) in the sandbox, under
    the limits of `SandboxLimits`."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        raise RuntimeError("bwrap is not installed")
    prlimit = shutil.which("prlimit") or "/usr/bin/prlimit"
    _check_roots(settings)
    ids = runner_ids(settings)
    limits = limits or SandboxLimits.from_settings(settings)
    base = Path(settings.runner_root) if settings.runner_root else None
    if base is not None:
        base.mkdir(parents=True, exist_ok=True)
    job_dir = Path(tempfile.mkdtemp(prefix=f"helio-job-{job_id[:8]}-", dir=base))
    cgroup: JobCgroup | None = None
    try:
        shutil.copytree(workdir, job_dir / "work", symlinks=True)
        if site is not None and site.is_dir():
            shutil.copytree(site, job_dir / "site", symlinks=True)
        (job_dir / "home").mkdir()
        if ids is not None:
            for path in (job_dir, *job_dir.rglob("*")):
                os.chown(path, *ids, follow_symlinks=False)
        target, api_path = api_target(settings)
        bridge = ApiBridge(job_dir / "api.sock", target, ids)
        cgroup = JobCgroup.create(job_id, limits) if ids is not None else None
    except BaseException:
        shutil.rmtree(job_dir, ignore_errors=True)
        raise
    command = bwrap_command(bwrap=bwrap, job_dir=job_dir, argv=argv, ids=ids,
                            socket_path="/job/api.sock", tmp_bytes=limits.disk_bytes)
    command = [prlimit, *limits.prlimit_args(cgroup=cgroup is not None,
                                              uid=ids[0] if ids else os.geteuid()),
               "--", *command]
    if cgroup is not None:
        command = ["/bin/sh", "-c", _ENTER_CGROUPS, "helio-limits", *cgroup.procs_files, "--",
                   *command]
    env = sandbox_env(api_path=f"{api_path}/api/v1", job_token=job_token, job_id=job_id)
    if (job_dir / "site").is_dir():
        env["PYTHONPATH"] = "/job/site"
    # A script's own `ray.init()` sizes its object store (a file in /dev/shm) from the
    # machine's memory, which would overrun the job's memory and file-size limits.
    env["RAY_DEFAULT_OBJECT_STORE_MAX_MEMORY_BYTES"] = str(
        max(OBJECT_STORE_MIN_BYTES, min(limits.memory_bytes // 4, limits.file_bytes // 2)))
    try:
        process = subprocess.Popen(command, env=env, cwd=job_dir, stdin=subprocess.DEVNULL,  # noqa: S603
                                   stdout=stdout,
                                   stderr=subprocess.STDOUT if stdout is not None else None,
                                   start_new_session=True)
    except BaseException:
        bridge.close()
        if cgroup is not None:
            cgroup.remove()
        shutil.rmtree(job_dir, ignore_errors=True)
        raise
    log.info("sandbox_started", job_id=job_id, pid=process.pid,
             runner_uid=ids[0] if ids else os.geteuid(), cgroup=cgroup is not None)
    return SandboxedScript(process=process, job_dir=job_dir, bridge=bridge, limits=limits,
                           cgroup=cgroup)
