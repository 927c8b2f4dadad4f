"""Operations on the real Helio Serve application, deployed the way an operator deploys it
(the Serve REST config that `helio deploy` pushes), with a load generator running:

- a worker node holding an ingress replica dies: the app keeps answering;
- one ingress replica is killed: <= 1% of requests fail, none after 10 s;
- `helio deploy` rolls out a changed config (every replica replaced) to two ingress
  replicas: zero failed requests.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from cluster.migrate import upgrade
from cluster.models import Role
from cluster.serve_deploy import deploy, render_serve_config
from cluster.settings import Settings
from tests.conftest import TEST_SECRET, Users, bearer
from tests.ray_nodes import worker_node
from tests.ray_session import state_address

pytestmark = pytest.mark.usefixtures("ray_session")

APP = "helio"
HELIO = Path(sys.executable).parent / "helio"


@pytest.fixture(scope="module")
def database_url(postgres_url: str) -> str:
    upgrade(postgres_url)
    return postgres_url


@pytest.fixture
def app_settings(database_url: str, tmp_path: Path, ray_jobs_address: str) -> dict[str, Any]:
    return {"database_url": database_url, "jwt_secret": TEST_SECRET,
            "home": str(tmp_path / "home"), "data_root": str(tmp_path / "data"),
            "jobs_address": ray_jobs_address, "auth_cache_ttl_s": 0,
            "actor_namespace": f"helio-test-{uuid.uuid4().hex[:6]}"}


def helio_config(port: int, app_settings: dict[str, Any], **ingress: Any) -> dict[str, Any]:
    """deployments/serve_config.yaml for the test session's Serve (its port, one proxy), the
    ApiIngress options replaced by `ingress`."""
    config = render_serve_config(Settings(host="127.0.0.1", port=port, jwt_secret=TEST_SECRET))
    config["proxy_location"] = "HeadOnly"
    app = config["applications"][0]
    assert app["name"] == APP
    app["args"] = {"settings": app_settings}
    for deployment in app["deployments"]:
        if deployment["name"] == "ApiIngress" and ingress:
            deployment.pop("autoscaling_config", None)
            deployment.update(ingress)
    return config


@pytest.fixture
async def helio_app(serve_http_port: int, ray_dashboard_port: int,
                    db: Any) -> AsyncIterator[Callable[[dict[str, Any]], None]]:
    """Deploys a config through the dashboard's Serve REST API; the app is deleted after."""
    from ray import serve

    def push(config: dict[str, Any]) -> None:
        deploy(f"http://127.0.0.1:{ray_dashboard_port}", config, dict(os.environ),
               timeout_s=180)

    try:
        yield push
    finally:
        serve.delete(APP)


def ingress_replicas() -> list[Any]:
    from ray.util.state import list_actors

    return list_actors(address=state_address(),
                       filters=[("class_name", "=", f"ServeReplica:{APP}:ApiIngress"),
                                ("state", "=", "ALIVE")], detail=True)


def replica_ids(app: str = APP) -> set[str]:
    from ray.util.state import list_actors

    return {a.actor_id for a in list_actors(address=state_address(),
                                              filters=[("state", "=", "ALIVE")], limit=10_000)
            if a.class_name.startswith(f"ServeReplica:{app}:")}


@dataclass
class Load:
    """Paced requests from `workers` clients (about `rate` per second in all): half
    authenticated reads (`/users/me`: auth + DB), half `/health`."""

    base: str
    token: str
    rate: float = 60.0
    workers: int = 6
    results: list[tuple[float, bool, str]] = field(default_factory=list)

    async def run(self, stop: asyncio.Event) -> None:
        async with httpx.AsyncClient(base_url=self.base, timeout=30) as http:
            await asyncio.gather(*(self._worker(http, i, stop) for i in range(self.workers)))

    async def _worker(self, http: httpx.AsyncClient, i: int, stop: asyncio.Event) -> None:
        interval = self.workers / self.rate
        next_at = time.monotonic() + i * interval / self.workers
        while not stop.is_set():
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
            next_at += interval
            path = "/api/v1/users/me" if i % 2 else "/api/v1/health"
            sent = time.monotonic()
            try:
                response = await http.get(path, headers=bearer(self.token))
                ok, detail = response.status_code == 200, f"{response.status_code}"
                if not ok:
                    detail += f" {response.text[:200]}"
            except httpx.HTTPError as exc:
                ok, detail = False, type(exc).__name__
            self.results.append((sent, ok, detail))

    def failures(self, since: float = 0.0) -> list[tuple[float, bool, str]]:
        return [r for r in self.results if not r[1] and r[0] >= since]

    def count(self, since: float = 0.0) -> int:
        return sum(1 for r in self.results if r[0] >= since)


async def _under_load(load: Load, action: Callable[[], Any], after_s: float) -> Any:
    """Start the load, run `action` (in a thread) once it is flowing, keep the load on for
    `after_s` more seconds."""
    stop = asyncio.Event()
    runner = asyncio.create_task(load.run(stop))
    try:
        await asyncio.sleep(2.0)
        assert load.count() > 0 and not load.failures(), load.failures()[:5]
        result = await asyncio.to_thread(action)
        await asyncio.sleep(after_s)
        return result
    finally:
        stop.set()
        await runner


async def _admin_token(db: Any, base: str) -> str:
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        return await Users(db, http).token_for(Role.admin)


async def test_serve_keeps_answering_when_a_node_with_a_replica_dies(
        helio_app, serve_http_port, app_settings, db, tmp_path):
    import ray

    base = f"http://127.0.0.1:{serve_http_port}"
    head = ray.get_runtime_context().get_node_id()
    with worker_node(tmp_path, num_cpus=2) as node:
        # One ingress replica per node.
        helio_app(helio_config(serve_http_port, app_settings, num_replicas=2,
                               max_replicas_per_node=1))
        placed = {a.node_id for a in ingress_replicas()}
        assert placed == {head, node.node_id}, placed
        load = Load(base, await _admin_token(db, base))
        killed_at = 0.0

        def kill() -> None:
            nonlocal killed_at
            killed_at = time.monotonic()
            node.kill()  # returns once the GCS has marked the node dead

        await _under_load(load, kill, after_s=8.0)
    served = load.count()
    failed = load.failures()
    after_kill = load.count(killed_at)
    print(f"node loss: {served} requests, {len(failed)} failed, {after_kill} after the kill; "
          f"failures: {sorted({f[2] for f in failed})}")
    assert after_kill > 50, "no load ran after the node was killed"
    # In-flight requests on the lost replica may fail; nothing else does, and the app
    # answers from the head's replica from then on.
    assert len(failed) <= 0.01 * served, failed[:10]
    assert not load.failures(since=killed_at + 10.0), load.failures(killed_at + 10.0)[:5]
    assert [a.node_id for a in ingress_replicas()] == [head]


async def test_killing_one_ingress_replica(helio_app, serve_http_port, app_settings, db):
    import ray
    from ray import serve

    base = f"http://127.0.0.1:{serve_http_port}"
    helio_app(helio_config(serve_http_port, app_settings, num_replicas=2))
    victims = ingress_replicas()
    assert len(victims) == 2
    load = Load(base, await _admin_token(db, base))
    killed_at = 0.0

    def kill() -> None:
        nonlocal killed_at
        killed_at = time.monotonic()
        ray.kill(ray.get_actor(victims[0].name, namespace="serve"), no_restart=True)

    def replaced() -> float:
        deadline = time.monotonic() + 60
        while True:
            running = serve.status().applications[APP].deployments["ApiIngress"].replica_states
            alive = {a.actor_id for a in ingress_replicas()}
            if running.get("RUNNING") == 2 and victims[0].actor_id not in alive:
                return time.monotonic() - killed_at
            assert time.monotonic() < deadline, running
            time.sleep(0.2)

    await _under_load(load, kill, after_s=12.0)
    recovery_s = await asyncio.to_thread(replaced)
    failed = load.failures()
    last_failure_s = max((f[0] - killed_at for f in failed), default=0.0)
    print(f"replica kill: {load.count()} requests, {len(failed)} failed, last failure "
          f"{last_failure_s:.1f}s after the kill, replica replaced after {recovery_s:.1f}s")
    assert len(failed) <= 0.01 * load.count(), failed[:10]
    assert last_failure_s <= 10.0, failed[-5:]


async def test_helio_deploy_rolls_out_a_changed_config_without_failed_requests(
        helio_app, serve_http_port, ray_dashboard_port, app_settings, db, tmp_path):
    """Two ingress replicas, as an operator who wants zero-downtime deploys runs them: Serve
    replaces replicas one at a time, so one old replica answers while a new one starts. With
    a single replica requests wait at the proxy for its successor's start-up, which on a
    loaded 2-core machine took over the client's 30 s (two ReadTimeouts in one run)."""
    base = f"http://127.0.0.1:{serve_http_port}"
    helio_app(helio_config(serve_http_port, app_settings, num_replicas=2))
    before = replica_ids()
    load = Load(base, await _admin_token(db, base))

    # The change: new application args (so every deployment gets a new version and every
    # replica is replaced), and new batching for the predictor.
    changed = helio_config(serve_http_port, {**app_settings, "log_level": "WARNING"},
                           num_replicas=2)
    for deployment in changed["applications"][0]["deployments"]:
        if deployment["name"] == "TabularPredictor":
            deployment["user_config"] = {"max_batch_size": 32, "batch_wait_timeout_s": 0.004}
    path = tmp_path / "serve_config.yaml"
    path.write_text(yaml.safe_dump(changed))
    env = {**os.environ, "RAY_ADDRESS": f"http://127.0.0.1:{ray_dashboard_port}",
           "HELIO_HOST": "127.0.0.1", "HELIO_PORT": str(serve_http_port),
           "HELIO_JWT_SECRET": TEST_SECRET, "HELIO_HOME": str(tmp_path / "cli-home")}

    def helio_deploy() -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(HELIO), "deploy", "--config", str(path)], env=env,
                              capture_output=True, text=True, timeout=300, check=False)

    done = await _under_load(load, helio_deploy, after_s=3.0)
    assert done.returncode == 0, done.stdout + done.stderr
    after = replica_ids()
    print(f"rolling deploy: {load.count()} requests, {len(load.failures())} failed; "
          f"{len(before)} replicas replaced by {len(after)}")
    assert before and after and not before & after, "the deploy replaced no replica"
    assert not load.failures(), load.failures()[:10]
