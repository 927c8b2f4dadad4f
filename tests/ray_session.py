"""One Ray instance for the whole test session (started lazily by the first test needing it)."""

from __future__ import annotations

import os
import socket
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from cluster.ray_auth import ray_auth_env

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


@pytest.fixture(scope="session")
def ray_session(ray_dashboard_port: int) -> Iterator[None]:
    """With the dashboard: job submission (JobSubmissionClient) goes through it."""
    import ray

    ray.init(num_cpus=2, include_dashboard=True, dashboard_host="127.0.0.1",
             dashboard_port=ray_dashboard_port, object_store_memory=OBJECT_STORE_BYTES,
             log_to_driver=False, _node_ip_address="127.0.0.1")
    try:
        yield
    finally:
        try:
            from ray import serve

            serve.shutdown()
        finally:
            ray.shutdown()


@pytest.fixture(scope="session")
def ray_jobs_address(ray_session: None, ray_dashboard_port: int) -> str:
    """The dashboard's address for JobSubmissionClient, once it answers."""
    import time
    import urllib.error
    import urllib.request

    address = f"http://127.0.0.1:{ray_dashboard_port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{address}/api/version", timeout=2):
                break
        except urllib.error.HTTPError:  # it answers (401 without the Ray token): it is up
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    # The dashboard answers before its job agent does ("No available agent to submit
    # job"): run one no-op job, so every test finds job submission ready.
    from ray.job_submission import JobStatus, JobSubmissionClient

    client = JobSubmissionClient(address)
    deadline = time.monotonic() + 120
    while True:
        try:
            job = client.submit_job(entrypoint="true")
            break
        except RuntimeError:
            if time.monotonic() > deadline:
                raise
            time.sleep(1.0)
    while client.get_job_status(job) not in {JobStatus.SUCCEEDED, JobStatus.FAILED,
                                             JobStatus.STOPPED}:
        time.sleep(0.5)
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
    for name in (names.SCHEDULER, *runners, names.CACHE, names.RATE_LIMITER, names.EVENTS):
        try:
            ray.kill(ray.get_actor(name, namespace=namespace))
        except ValueError:
            pass
