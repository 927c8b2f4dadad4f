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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def configure_ray_auth() -> None:
    """Helio runs Ray with token auth everywhere, the test cluster included.

    Ray reads RAY_AUTH_MODE when it is imported, so this runs from `pytest_configure`,
    before any test module imports ray.
    """
    if os.environ.get("RAY_AUTH_MODE") == "token" and (
        os.environ.get("RAY_AUTH_TOKEN") or os.environ.get("RAY_AUTH_TOKEN_PATH")
    ):
        return
    os.environ.update(ray_auth_env(Path(tempfile.mkdtemp(prefix="helio-test-ray-")), environ={}))


@pytest.fixture(scope="session")
def ray_session() -> Iterator[None]:
    import ray

    ray.init(num_cpus=2, include_dashboard=False, object_store_memory=256 * 1024 * 1024,
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
def serve_http_port(ray_session: None) -> int:
    from ray import serve

    port = free_port()
    serve.start(http_options={"host": "127.0.0.1", "port": port})
    return port


@pytest.fixture
def actor_namespace(ray_session: None) -> Iterator[str]:
    """A private Ray namespace for this test's named actors; killed afterwards."""
    import ray

    from actors import names

    namespace = f"helio-test-{uuid.uuid4().hex[:8]}"
    yield namespace
    for name in (names.CACHE, names.RATE_LIMITER):
        try:
            ray.kill(ray.get_actor(name, namespace=namespace))
        except ValueError:
            pass
