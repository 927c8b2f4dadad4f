"""One Ray instance for the whole test session (started lazily by the first test needing it)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from cluster.local_ray import process_alive, processes_with
from cluster.ray_auth import ray_auth_env
from tests.waiting import scaled, wait_for

# Ports Ray takes for itself: its client server, dashboard agent and worker range.
_RAY_PORTS = {6379, 8265, 10001, 52365, *range(10002, 20000)}


def free_port() -> int:
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port not in _RAY_PORTS:
            return port


def configure_ray_auth() -> None:
    """Helio runs Ray with token auth everywhere, the test cluster included.

    Ray reads RAY_AUTH_MODE when it is imported, so this runs from `pytest_configure`,
    before any test module imports ray.
    """
    # As `helio up` does (cluster_env): Serve's uvicorn believes no X-Forwarded-For.
    os.environ["FORWARDED_ALLOW_IPS"] = ""
    if os.environ.get("RAY_AUTH_MODE") == "token" and (
        os.environ.get("RAY_AUTH_TOKEN") or os.environ.get("RAY_AUTH_TOKEN_PATH")
    ):
        return
    os.environ.update(ray_auth_env(Path(tempfile.mkdtemp(prefix="helio-test-ray-")), environ={}))


# Small on purpose: the out-of-core pipeline test pushes several times this through.
OBJECT_STORE_BYTES = 128 * 1024 * 1024


@pytest.fixture(scope="session")
def ray_dashboard_port() -> int:
    return free_port()


HEAD_MARKER = "HELIO_TEST_RAY_HEAD"
NODE_MARKER = "HELIO_TEST_RAY_NODE"
# The head's --temp-dir, in its processes' environment: what the sweep removes with them.
TEMP_MARKER = "HELIO_TEST_RAY_TEMP"
TEMP_PREFIX = "hr-"


def owned_marker() -> str:
    """A marker for the processes of one `ray start`, naming this test process: a later
    session tells what a killed one left behind by its owner being gone."""
    return f"{os.getpid()}-{uuid.uuid4().hex}"


def sweep_orphans() -> list[int]:
    """Stop the Ray heads and nodes that an earlier test session left running when it was
    killed (its finalizers never ran): processes whose marker names a test process that no
    longer exists. A live session's processes, this one's included, are left alone."""
    orphans = []
    for variable in (HEAD_MARKER, NODE_MARKER):
        for pid, marker in processes_with(variable).items():
            owner, _, rest = marker.partition("-")
            if rest and owner.isdigit() and not process_alive(int(owner)):
                orphans.append(pid)
    temp_dirs = {path for pid, path in processes_with(TEMP_MARKER).items() if pid in orphans}
    _stop(orphans)
    for path in temp_dirs:
        if Path(path).name.startswith(TEMP_PREFIX):
            shutil.rmtree(path, ignore_errors=True)
    return orphans

# The GCS declares a node dead after `threshold` failed health checks `period_ms` apart:
# Ray's defaults (3000 ms x 5) make every node-loss test wait about 15 s for what a killed
# raylet shows at once (its port refuses). A live but busy node still has each check's
# 10 s timeout, three times over, before it is given up.
HEALTH_CHECKS = {"health_check_period_ms": 1000, "health_check_failure_threshold": 3}


def _head_command(gcs_port: int, dashboard_port: int, temp_dir: str) -> list[str]:
    """`ray start --head` with every port it takes chosen free now: the defaults (GCS 6379,
    dashboard agent 52365, metrics, runtime-env agent, client server) would collide with
    any other Ray on this machine (a developer's `helio up`, another test run), and the
    second cluster's job agent would never come up."""
    return [str(Path(sys.executable).with_name("ray")), "start", "--head",
            f"--port={gcs_port}", "--node-ip-address=127.0.0.1", "--num-cpus=2",
            "--num-gpus=0", f"--object-store-memory={OBJECT_STORE_BYTES}",
            "--include-dashboard=true", "--dashboard-host=127.0.0.1",
            f"--dashboard-port={dashboard_port}",
            f"--dashboard-agent-listen-port={free_port()}",
            f"--dashboard-agent-grpc-port={free_port()}",
            f"--metrics-export-port={free_port()}",
            f"--runtime-env-agent-port={free_port()}",
            f"--ray-client-server-port={free_port()}",
            "--min-worker-port=0", "--max-worker-port=0",
            f"--temp-dir={temp_dir}", "--disable-usage-stats",
            # Nothing here reads worker output through the driver (log_to_driver=False),
            # and the log monitor re-globs the logs every 0.1 s: a tenth of a core.
            "--include-log-monitor=False",
            f"--system-config={json.dumps(HEALTH_CHECKS)}"]


@contextlib.contextmanager
def ray_address_file_kept() -> Iterator[None]:
    """`ray start` records its cluster in /tmp/ray/ray_current_cluster, where a later
    `ray.init()` on this machine (a developer's, the next test session's) would look for a
    cluster to join: put back what was there. Held under a lock: two test sessions on one
    machine may start heads (or nodes) at the same time."""
    import fcntl

    from ray._common.utils import get_ray_address_file

    address_file = Path(get_ray_address_file(None))
    address_file.parent.mkdir(parents=True, exist_ok=True)
    with (address_file.parent / "helio-test-address.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        previous = address_file.read_text() if address_file.exists() else None
        try:
            yield
        finally:
            if previous is None:
                address_file.unlink(missing_ok=True)
            else:
                address_file.write_text(previous)


@pytest.fixture(scope="session")
def ray_session(ray_dashboard_port: int) -> Iterator[None]:
    """A Ray head of this test session's own (with the dashboard: job submission goes
    through it), stopped by pid at the end, whatever else runs on the machine."""
    import ray

    from cluster.local_ray import marked_processes

    swept = sweep_orphans()
    if swept:
        print(f"stopped {len(swept)} Ray processes a killed test session left running")
    marker = owned_marker()
    temp_dir = tempfile.mkdtemp(prefix=TEMP_PREFIX)  # short: Ray's socket paths are limited
    log = Path(temp_dir) / "ray-start.log"
    gcs_port = free_port()
    with log.open("w") as out, ray_address_file_kept():
        started = subprocess.run(
            _head_command(gcs_port, ray_dashboard_port, temp_dir),
            env={**os.environ, HEAD_MARKER: marker, TEMP_MARKER: temp_dir},
            stdout=out, stderr=subprocess.STDOUT, timeout=scaled(180), check=False)
    try:
        assert started.returncode == 0, f"`ray start --head` failed: {log.read_text()[-3000:]}"
        ray.init(address=f"127.0.0.1:{gcs_port}", log_to_driver=False,
                 _node_ip_address="127.0.0.1")
        yield
    finally:
        try:
            from ray import serve

            if ray.is_initialized():
                serve.shutdown()
        finally:
            ray.shutdown()
            _stop(marked_processes(HEAD_MARKER, marker))
            shutil.rmtree(temp_dir, ignore_errors=True)


def state_address() -> str:
    """The session cluster, for Ray's state API (`list_actors(address=...)`): without it
    the API looks for Ray processes on the machine and fails when it finds two."""
    import ray

    return str(ray.get_runtime_context().gcs_address)


def _stop(pids: list[int]) -> None:
    """SIGTERM the head's processes, then SIGKILL what is left after a few seconds."""
    for sig, grace in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 0.0)):
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + grace
        while grace and time.monotonic() < deadline and any(process_alive(p) for p in pids):
            time.sleep(0.1)


@pytest.fixture(scope="session")
def ray_jobs_address(ray_session: None, ray_dashboard_port: int) -> str:
    """The dashboard's address for JobSubmissionClient, once it answers."""
    import urllib.error
    import urllib.request

    address = f"http://127.0.0.1:{ray_dashboard_port}"

    def version() -> bool:
        try:
            with urllib.request.urlopen(f"{address}/api/version", timeout=2):
                return True
        except urllib.error.HTTPError:  # it answers (401 without the Ray token): it is up
            return True

    wait_for(version, timeout_s=60, what="the Ray dashboard", retry_on=(OSError,),
             interval_s=0.5)
    # The dashboard answers before its job agent does ("No available agent to submit
    # job"): run one no-op job, so every test finds job submission ready.
    from ray.job_submission import JobStatus, JobSubmissionClient

    client = JobSubmissionClient(address)
    job = wait_for(lambda: client.submit_job(entrypoint="true"), timeout_s=120,
                   what="Ray's job agent to accept a job", retry_on=(RuntimeError,),
                   interval_s=1.0)
    wait_for(lambda: client.get_job_status(job),
             lambda status: status in {JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.STOPPED},
             timeout_s=120, what="the no-op job to end", interval_s=0.5)
    return address


@pytest.fixture(scope="session")
def serve_http_port(ray_session: None) -> int:
    from ray import serve

    port = free_port()
    # One proxy, on the head: the worker nodes that multi-node tests add run on this same
    # machine, where a proxy per node (Helio's EveryNode) would contend for this one port.
    serve.start(http_options={"host": "127.0.0.1", "port": port}, proxy_location="HeadOnly")
    return port


@pytest.fixture
def actor_namespace(ray_session: None) -> Iterator[str]:
    """A private Ray namespace for this test's named actors; killed afterwards."""
    namespace = f"helio-test-{uuid.uuid4().hex[:8]}"
    yield namespace
    kill_helio_actors(namespace)


def kill_helio_actors(namespace: str) -> None:
    """Kill a namespace's named Helio actors (the runner pool and scheduler first)."""
    import ray

    from actors import names

    runners = [f"{names.RUNNER_PREFIX}{i}" for i in range(16)]
    for name in (names.SCHEDULER, *runners, names.CACHE, names.RATE_LIMITER, names.EVENTS,
                 names.PLATFORM_METRICS):
        try:
            ray.kill(ray.get_actor(name, namespace=namespace))
        except ValueError:
            pass
