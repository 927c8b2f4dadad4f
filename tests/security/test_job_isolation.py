"""Attack: an analyst's script job goes after the platform's secrets (issue: trust
boundaries). The script tries every route listed in the review; each must fail, while
its job token still reads what the analyst may read, and nothing more."""

from __future__ import annotations

import io
import json
import os
import re
import textwrap
import uuid
from pathlib import Path

import pytest

from cluster.models import Role
from cluster.sandbox import runner_mode
from cluster.security import TokenSigner
from cluster.settings import Settings
from tests.conftest import TEST_SECRET, bearer
from tests.security.conftest import Stack, Team, unique, upload, wait_job

pytestmark = [pytest.mark.ray, pytest.mark.postgres]

ATTACK = textwrap.dedent(r'''
    import json, os, socket, sys, urllib.request, urllib.error

    targets = json.loads(sys.argv[1])
    report = {}

    def probe(name, attempt):
        try:
            detail = attempt()
        except Exception as exc:  # refused, missing, denied: the route is closed
            report[name] = "blocked: " + type(exc).__name__
        else:
            report[name] = "OPEN: " + str(detail)[:200]

    def read(path):
        with open(path, "rb") as fh:
            return fh.read(64)

    def connect(port, host="127.0.0.1"):
        with socket.create_connection((host, port), timeout=2):
            return f"connected to {host}:{port}"

    def env_secret():
        # (The sandbox's one RAY_ variable sizes a script's own object store.)
        leaked = sorted(k for k in os.environ if k.startswith(("RAY_", "REDIS", "PG"))
                        and k != "RAY_DEFAULT_OBJECT_STORE_MAX_MEMORY_BYTES"
                        or k in ("HELIO_JWT_SECRET", "HELIO_JWT_PREVIOUS_SECRETS",
                                 "HELIO_DATABASE_URL", "HELIO_REDIS_URL", "HELIO_SQL_SOURCES",
                                 "HELIO_HOME", "HELIO_DATA_ROOT"))
        if leaked:
            return leaked
        raise LookupError("no secret in the environment")

    probe("env", env_secret)
    for name, path in targets["files"].items():
        probe(f"file:{name}", lambda p=path: read(p))
        probe(f"list:{name}", lambda p=path: os.listdir(os.path.dirname(p)))
    for name, port in targets["ports"].items():
        probe(f"port:{name}", lambda p=port: connect(p))
    probe("pg_socket", lambda: socket.socket(socket.AF_UNIX).connect(
        "/var/run/postgresql/.s.PGSQL.5432"))
    probe("host_procs", lambda: [p for p in os.listdir("/proc") if p.isdigit() and
                                 int(p) == targets["driver_pid"]][0])

    def ray_join():
        # Ray retries an unreachable GCS for minutes: give it 20 s in a child process.
        import subprocess
        code = ("import ray, sys; ray.init(address=sys.argv[1], log_to_driver=False); "
                "print('JOINED')")
        done = subprocess.run([sys.executable, "-c", code, targets["gcs"]],
                              capture_output=True, text=True, timeout=20)
        if "JOINED" in done.stdout:
            return "joined the platform cluster"
        raise ConnectionError(done.stderr[-200:])

    probe("ray_join", ray_join)

    api, token = os.environ["HELIO_API_URL"], os.environ["HELIO_JOB_TOKEN"]

    def call(method, path, body=None):
        request = urllib.request.Request(api + path, method=method, data=body,
                                         headers={"Authorization": f"Bearer {token}",
                                                  "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=20) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            return exc.code, None

    status, me = call("GET", "/users/me")
    report["api_me"] = [status, me and me.get("email"), me and me.get("role")]
    report["api_read_dataset"] = call("GET", "/datasets/" + targets["dataset_id"])[0]
    report["api_list_users"] = call("GET", "/users")[0]
    report["api_create_key"] = call("POST", "/api-keys",
                                    json.dumps({"name": "x", "role": "app"}).encode())[0]
    report["api_new_pipeline"] = call("POST", "/pipelines", json.dumps({
        "name": "x", "spec": {"source": {"dataset": targets["dataset_id"]},
                              "sink": {"dataset": "stolen"}}}).encode())[0]
    report["uid"] = os.getuid()
    print("REPORT " + json.dumps(report), flush=True)
''')


def _ray_targets() -> dict[str, int | str]:
    import ray

    gcs = ray.get_runtime_context().gcs_address
    return {"gcs": gcs, "gcs_port": int(gcs.rsplit(":", 1)[1])}


async def test_script_job_cannot_reach_any_platform_secret(stack: Stack, team: Team, http):
    mode = runner_mode(Settings(**stack.settings))
    assert mode.name == "sandbox", mode.reason  # CI installs bubblewrap; nothing may skip
    analyst = await team.member(Role.analyst)
    dataset = await upload(http, analyst.headers, unique("iso"))
    ray_targets = _ray_targets()
    token_path = os.environ["RAY_AUTH_TOKEN_PATH"]
    parquet = next((stack.data_root / "datasets" / dataset["id"]).rglob("*.parquet"))
    targets = {
        "files": {"jwt_secret": str(stack.home / "jwt_secret"),
                  "ray_token": token_path,
                  "dataset_parquet": str(parquet),
                  "ray_session": "/tmp/ray/session_latest/session.json",
                  "home": str(Path.home() / ".helio" / "jwt_secret")},
        "ports": {"postgres": 5432, "redis": 6379, "ray_gcs": ray_targets["gcs_port"],
                  "ray_dashboard": int(stack.settings["jobs_address"].rsplit(":", 1)[1]),
                  "serve_http": int(stack.base.split(":")[2].split("/")[0])},
        "gcs": ray_targets["gcs"], "dataset_id": dataset["id"], "driver_pid": os.getpid(),
    }
    submitted = await http.post(
        "/api/v1/jobs", headers=analyst.headers,
        files={"file": ("attack.py", io.BytesIO(ATTACK.encode()))},
        data={"args": json.dumps([json.dumps(targets)])})
    assert submitted.status_code == 202, submitted.text
    job = await wait_job(http, analyst.headers, submitted.json()["id"], timeout_s=240)
    logs = (await http.get(f"/api/v1/jobs/{job['id']}/logs", headers=analyst.headers)).json()
    found = re.search(r"^REPORT (.*)$", logs["logs"], re.M)
    assert found, logs["logs"][-3000:]
    report = json.loads(found.group(1))
    assert job["status"] == "succeeded", (job, logs["logs"][-2000:])

    opened = {k: v for k, v in report.items() if isinstance(v, str) and v.startswith("OPEN")}
    assert not opened, opened
    probes = [k for k in report if k.startswith(("file:", "list:", "port:"))]
    assert len(probes) == 2 * len(targets["files"]) + len(targets["ports"])
    # The job token acts for the analyst, read-only.
    assert report["api_me"] == [200, analyst.email, "viewer"]
    assert report["api_read_dataset"] == 200
    assert report["api_list_users"] == 403
    assert report["api_create_key"] == 403
    assert report["api_new_pipeline"] == 403
    # Helio runs as root here: the script ran as the dedicated runner user.
    if os.geteuid() == 0:
        assert report["uid"] not in (0, os.geteuid())

    # A job token works only while its job runs, and only for the job's owner.
    signer = TokenSigner(TEST_SECRET, "HS256", 900)
    ended = signer.issue_access(subject=uuid.UUID(analyst.id), role="viewer",
                                job_id=uuid.UUID(job["id"]))
    assert (await http.get("/api/v1/users/me", headers=bearer(ended))).status_code == 401
    other = await team.member(Role.analyst)
    foreign = signer.issue_access(subject=uuid.UUID(other.id), role="viewer",
                                  job_id=uuid.UUID(job["id"]))
    assert (await http.get("/api/v1/users/me", headers=bearer(foreign))).status_code == 401


async def test_without_an_isolated_runner_scripts_are_admin_only(tmp_path, stack_db):
    """`HELIO_SCRIPT_RUNNER=off` (or no bubblewrap): analysts get a 403 that says why."""
    import httpx

    from cluster.db import create_engine, create_session_factory
    from deployments.api.main import create_api
    from tests.conftest import Users

    settings = Settings(home=tmp_path / "home", database_url=stack_db,
                        jwt_secret=TEST_SECRET, auth_cache_ttl_s=0, script_runner="off")
    assert not runner_mode(settings).isolated
    app = create_api(settings, use_actors=False)
    engine = create_engine(stack_db)
    try:
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50002))
        async with httpx.AsyncClient(transport=transport, base_url="https://t") as client:
            token = await Users(create_session_factory(engine), client).token_for(Role.analyst)
            response = await client.post("/api/v1/jobs", headers=bearer(token),
                                         files={"file": ("a.py", io.BytesIO(b"print(1)"))})
        assert response.status_code == 403
        assert "isolated runner" in response.json()["detail"]
        assert "HELIO_SCRIPT_RUNNER=off" in response.json()["detail"]
    finally:
        await app.state.ctx.close()
        await engine.dispose()
