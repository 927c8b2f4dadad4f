"""The `helio` command line (typer + rich)."""

from __future__ import annotations

import asyncio
import io
import json
import os
import signal
import sys
import time
import uuid
import zipfile
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.table import Table

from cluster.settings import Settings, SettingsError, load_settings, resolve_jwt_secret

app = typer.Typer(help="Helio: analytics and ML platform on Ray.", no_args_is_help=True)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
user_app = typer.Typer(help="User accounts.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(user_app, name="user")
console = Console()


def _settings() -> Settings:
    try:
        settings = load_settings()
        resolve_jwt_secret(settings)
    except (SettingsError, ValueError) as exc:
        console.print(f"[red]Configuration error:[/red] {exc}")
        raise typer.Exit(2) from None
    return settings


def _ray_address(settings: Settings) -> str | None:
    return settings.ray_address or os.environ.get("RAY_ADDRESS") or None


def _dashboard_url(settings: Settings, address: str | None) -> str:
    if address and address.startswith(("http://", "https://")):
        return address
    if address:
        host = address.removeprefix("ray://").split(":")[0]
        return f"http://{host}:{settings.dashboard_port}"
    return f"http://{settings.dashboard_host}:{settings.dashboard_port}"


def _api_url(settings: Settings) -> str:
    scheme = "https" if settings.ssl_certfile else "http"
    return f"{scheme}://{settings.host}:{settings.port}"


def _wait_ready(settings: Settings, timeout_s: float = 60.0) -> None:
    url = _api_url(settings) + "/api/v1/ready"
    deadline = time.monotonic() + timeout_s
    last = ""
    while time.monotonic() < deadline:
        try:
            response = httpx.get(url, timeout=5.0, verify=False)  # noqa: S501 - local self-check
            if response.status_code == 200:
                return
            last = response.text[:500]
        except httpx.HTTPError as exc:
            last = type(exc).__name__
        time.sleep(0.5)
    raise RuntimeError(f"API not ready at {url} after {timeout_s:.0f}s: {last}")


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Apply migrations up to REVISION (default: head)."""
    from cluster.migrate import upgrade

    settings = _settings()
    upgrade(settings.resolved_database_url, revision)
    console.print(f"[green]Database at {revision}[/green]")


@db_app.command("downgrade")
def db_downgrade(revision: Annotated[str, typer.Argument()]) -> None:
    """Revert migrations down to REVISION (`base` removes everything)."""
    from cluster.migrate import downgrade

    settings = _settings()
    downgrade(settings.resolved_database_url, revision)
    console.print(f"[yellow]Database at {revision}[/yellow]")


@user_app.command("create")
def user_create(
    email: Annotated[str, typer.Option(help="Login email")],
    role: Annotated[str, typer.Option(help="admin, analyst, viewer or app")] = "viewer",
    password: Annotated[str, typer.Option(prompt=True, hide_input=True,
                                          confirmation_prompt=True)] = "",
) -> None:
    """Create a user directly in the database."""
    from pydantic import ValidationError

    from cluster.accounts import create_account
    from cluster.models import Role
    from deployments.api.schemas import UserCreate

    settings = _settings()
    try:
        body = UserCreate(email=email, password=password, role=Role(role))
    except (ValidationError, ValueError) as exc:
        console.print(f"[red]Invalid user:[/red] {exc}")
        raise typer.Exit(2) from None
    try:
        user = asyncio.run(create_account(settings, email=body.email, password=body.password,
                                          role=body.role))
    except ValueError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    console.print(f"[green]Created {user.email} ({user.role})[/green]")


schedule_app = typer.Typer(help="Recurring jobs (through the API, as the key's owner).",
                            no_args_is_help=True)
app.add_typer(schedule_app, name="schedule")
ApiUrl = Annotated[str | None, typer.Option(envvar="HELIO_API_URL",
                                            help="Default: the local helio up")]
ApiKey = Annotated[str | None, typer.Option(envvar="HELIO_API_KEY", help="An API key (hk_...)")]


def _api(api_url: str | None, api_key: str | None) -> httpx.Client:
    if not api_key:
        console.print("[red]An API key is required:[/red] --api-key or HELIO_API_KEY")
        raise typer.Exit(2)
    base = (api_url or _api_url(load_settings())).rstrip("/") + "/api/v1"
    return httpx.Client(base_url=base, headers={"Authorization": f"Bearer {api_key}"},
                        timeout=60.0)


def _answer(response: httpx.Response, ok: int = 200) -> Any:
    if response.status_code != ok:
        console.print(f"[red]Refused ({response.status_code}):[/red] {_problem_text(response)}")
        raise typer.Exit(1)
    return response.json() if response.content else None


def _schedule_id(client: httpx.Client, ref: str) -> str:
    items = _answer(client.get("/schedules", params={"limit": 500}))["items"]
    for item in items:
        if ref in (item["id"], item["name"]):
            return str(item["id"])
    console.print(f"[red]no schedule named {ref!r}[/red]")
    raise typer.Exit(2)


@schedule_app.command("list")
def schedule_list(api_url: ApiUrl = None, api_key: ApiKey = None) -> None:
    """Schedules with their timing, policies and next run."""
    with _api(api_url, api_key) as client:
        items = _answer(client.get("/schedules", params={"limit": 500}))["items"]
    table = Table(title="Schedules")
    for column in ("name", "kind", "when", "policies", "next run", "state"):
        table.add_column(column)
    for item in items:
        when = (f"{item['cron']} ({item['timezone']})" if item["cron"]
                else f"every {item['interval_s']} s")
        table.add_row(item["name"], item["kind"], when,
                      f"{item['concurrency_policy']}, missed: {item['missed_policy']}",
                      str(item["next_run_at"] or "-"), "paused" if item["paused"] else "active")
    console.print(table)


@schedule_app.command("create")
def schedule_create(
    name: Annotated[str, typer.Argument()],
    pipeline: Annotated[str | None, typer.Option(help="A saved pipeline's name or id")] = None,
    kind: Annotated[str | None, typer.Option(help="train, profile, query or text_index "
                                                  "(with --target)")] = None,
    target: Annotated[str | None, typer.Option(help="The target as JSON (see the API)")]
    = None,
    cron: Annotated[str | None, typer.Option(help='e.g. "0 2 * * *"')] = None,
    every: Annotated[int | None, typer.Option(help="Interval in seconds")] = None,
    tz: Annotated[str, typer.Option(help="Time zone of the cron expression")] = "UTC",
    concurrency: Annotated[str, typer.Option(help="forbid, allow or replace")] = "forbid",
    missed: Annotated[str, typer.Option(help="skip or run_once")] = "skip",
    api_url: ApiUrl = None, api_key: ApiKey = None,
) -> None:
    """Run a pipeline (or a training, profile, query, index rebuild) on a schedule."""
    with _api(api_url, api_key) as client:
        if pipeline:
            found = _answer(client.get("/pipelines", params={"limit": 500}))["items"]
            match = [p for p in found if pipeline in (p["id"], p["name"])]
            if not match:
                console.print(f"[red]no pipeline named {pipeline!r}[/red]")
                raise typer.Exit(2)
            kind, body_target = "pipeline", {"pipeline_id": match[0]["id"]}
        else:
            try:
                body_target = json.loads(target or "")
            except ValueError:
                console.print("[red]--target must be JSON[/red] (or give --pipeline)")
                raise typer.Exit(2) from None
        created = _answer(client.post("/schedules", json={
            "name": name, "kind": kind, "target": body_target, "cron": cron,
            "interval_s": every, "timezone": tz, "concurrency_policy": concurrency,
            "missed_policy": missed}), ok=201)
    console.print(f"Schedule {created['name']} ({created['id']}); next runs:", highlight=False)
    for when in created["upcoming"]:
        console.print(f"  {when}", highlight=False)


def _set_paused(ref: str, paused: bool, api_url: str | None, api_key: str | None) -> None:
    with _api(api_url, api_key) as client:
        updated = _answer(client.patch(f"/schedules/{_schedule_id(client, ref)}",
                                       json={"paused": paused}))
    state = "paused" if paused else f"next run {updated['next_run_at']}"
    console.print(f"{updated['name']}: {state}", highlight=False)


@schedule_app.command("pause")
def schedule_pause(ref: Annotated[str, typer.Argument(help="Name or id")],
                   api_url: ApiUrl = None, api_key: ApiKey = None) -> None:
    """Stop firing (runs due meanwhile are not made up)."""
    _set_paused(ref, True, api_url, api_key)


@schedule_app.command("resume")
def schedule_resume(ref: Annotated[str, typer.Argument(help="Name or id")],
                    api_url: ApiUrl = None, api_key: ApiKey = None) -> None:
    """Fire again, from the next due time after now."""
    _set_paused(ref, False, api_url, api_key)


@schedule_app.command("delete")
def schedule_delete(ref: Annotated[str, typer.Argument(help="Name or id")],
                    api_url: ApiUrl = None, api_key: ApiKey = None) -> None:
    """Delete a schedule (its past runs stay as jobs)."""
    with _api(api_url, api_key) as client:
        _answer(client.delete(f"/schedules/{_schedule_id(client, ref)}"), ok=204)
    console.print(f"deleted {ref}", highlight=False)


@app.command()
def up(
    detach: Annotated[bool, typer.Option(help="Return once Helio is running")] = False,
) -> None:
    """Start Helio: Ray head (or join RAY_ADDRESS), migrations, first admin, Serve app."""
    from cluster.accounts import ensure_first_admin
    from cluster.local_ray import cluster_env, start_head, use_haproxy
    from cluster.migrate import upgrade
    from cluster.serve_deploy import deploy, render_serve_config

    started = time.monotonic()
    settings = _settings()
    settings.home.mkdir(parents=True, exist_ok=True, mode=0o700)
    with console.status("Migrating the database…"):
        upgrade(settings.resolved_database_url)
        admin = asyncio.run(ensure_first_admin(settings))
    env = cluster_env(settings)
    address = _ray_address(settings)
    try:
        if address is None:
            with console.status("Starting the local Ray head…"):
                start_head(settings, env)
        dashboard = _dashboard_url(settings, address)
        with console.status("Deploying the Serve application…"):
            deploy(dashboard, render_serve_config(settings), env)
            _wait_ready(settings)
    except Exception as exc:
        console.print(f"[red]helio up failed:[/red] {exc}")
        if address is None:
            _down(settings)
        raise typer.Exit(1) from None

    table = Table(title=f"Helio is up ({time.monotonic() - started:.1f}s)", show_header=False)
    from deployments.api.frontend import default_frontend_dir

    if ((settings.frontend_dir or default_frontend_dir()) / "index.html").is_file():
        table.add_row("Dashboard", _api_url(settings) + "/")
    else:
        table.add_row("Dashboard", "not built (`make frontend` needs Node.js)")
    table.add_row("API", _api_url(settings) + "/api/v1")
    table.add_row("API docs", _api_url(settings) + "/api/v1/docs")
    table.add_row("Ray dashboard", dashboard)
    table.add_row("Prometheus metrics", f"http://127.0.0.1:{settings.metrics_export_port}/metrics")
    table.add_row("Ingress", "HAProxy" if use_haproxy(settings) else "Serve proxy")
    table.add_row("Database", _masked_url(settings.resolved_database_url))
    table.add_row("Admin", admin.email)
    if admin.generated_password:
        table.add_row("Admin password", f"{admin.generated_password}  (shown once; change it)")
    console.print(table)
    if detach:
        return
    console.print("Press Ctrl-C to stop.")
    stop = False

    def _stop(*_: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, _stop)
    try:
        while not stop:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    if address is None:
        _down(settings)


def _masked_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _down(settings: Settings) -> None:
    from cluster.local_ray import recorded_head, stop_head

    if recorded_head(settings) is None:
        console.print("Nothing to stop: no Ray head started by `helio up` for this HELIO_HOME.")
        return
    with console.status("Stopping…"):
        stopped = stop_head(settings)
    console.print(f"[green]Stopped {len(stopped)} processes.[/green]")


@app.command()
def down() -> None:
    """Stop what `helio up` started (Serve, HAProxy, the Ray head), by pid."""
    _down(load_settings())


@app.command()
def openapi(
    out: Annotated[Path | None, typer.Option(help="Write here instead of stdout.")] = None,
) -> None:
    """Print the API's OpenAPI document (the dashboard's client is generated from it)."""
    import tempfile

    from deployments.api.main import create_api

    with tempfile.TemporaryDirectory() as home:
        app_ = create_api(Settings(home=Path(home), jwt_secret="x" * 64), use_actors=False)
        text = json.dumps(app_.openapi(), indent=2, sort_keys=True) + "\n"
    if out is None:
        sys.stdout.write(text)
    else:
        out.write_text(text)


run_app = typer.Typer(help="Run a pipeline or a training in this process, as a recorded "
                             "job (the entrypoint of KubeRay RayJobs and cron jobs).")
app.add_typer(run_app, name="run")


def _run_as_job(kind: str, spec: dict[str, Any], owner_id: uuid.UUID | None = None) -> None:
    """Record a queued job row, then drive it here (it shows in the API and dashboard).
    It acts for `owner_id` (a saved pipeline's owner), or as the platform when None."""
    from actors.runner.driver import run_here
    from cluster.catalog import jobs as catalog_jobs
    from cluster.db import create_engine, create_session_factory

    settings = _settings()
    job_id = uuid.uuid4()

    async def record() -> None:
        engine = create_engine(settings.resolved_database_url)
        try:
            async with create_session_factory(engine)() as session:
                job = await catalog_jobs.create(session, settings, kind=kind, spec=spec,
                                                owner_id=owner_id, job_id=job_id,
                                                max_attempts=1, runner="cli", commit=False)
                job.ray_job_id = os.environ.get("RAY_JOB_SUBMISSION_ID")
                await session.commit()
        finally:
            await engine.dispose()

    asyncio.run(record())
    console.print(f"job {job_id} ({kind})")
    raise typer.Exit(run_here(settings, job_id, "cli"))


@run_app.command("pipeline")
def run_pipeline(name: Annotated[str, typer.Argument(help="A saved pipeline's name")]) -> None:
    """Run a saved pipeline now (its output is published as a new dataset version)."""
    from sqlalchemy import select

    from cluster.db import create_engine, create_session_factory
    from cluster.models import Pipeline

    async def find() -> Pipeline | None:
        engine = create_engine(_settings().resolved_database_url)
        try:
            async with create_session_factory(engine)() as session:
                return (await session.execute(select(Pipeline).where(Pipeline.name == name))
                        ).scalar_one_or_none()
        finally:
            await engine.dispose()

    pipeline = asyncio.run(find())
    if pipeline is None:
        console.print(f"[red]no pipeline named {name!r}[/red]")
        raise typer.Exit(2)
    _run_as_job("pipeline", {"pipeline": pipeline.spec, "pipeline_id": str(pipeline.id),
                             "pipeline_name": pipeline.name}, owner_id=pipeline.owner_id)


@run_app.command("train")
def run_train(spec: Annotated[Path, typer.Argument(help="A training spec as JSON (the body "
                                                        "of POST /api/v1/models/train)")]
              ) -> None:
    """Train a model now; it becomes the next version in the registry."""
    from pydantic import ValidationError

    from pipelines.training import TrainSpec

    try:
        parsed = TrainSpec.model_validate_json(spec.read_text())
    except (OSError, ValidationError) as exc:
        console.print(f"[red]invalid training spec {spec}: {exc}[/red]")
        raise typer.Exit(2) from None
    body = parsed.model_dump(mode="json")
    body["dataset_id"] = parsed.dataset  # resolved by name or id when the job runs
    _run_as_job("train", body)


@app.command("kuberay-config")
def kuberay_config(
    check: Annotated[bool, typer.Option(help="Fail if the file is stale instead of writing.")]
    = False,
) -> None:
    """Write kuberay/base/serve-config.yaml (the RayService's serveConfigV2) from
    deployments/serve_config.yaml."""
    from cluster.kuberay import SERVE_CONFIG_FILE, render

    text = render()
    if check:
        if not SERVE_CONFIG_FILE.is_file() or SERVE_CONFIG_FILE.read_text() != text:
            console.print(f"[red]{SERVE_CONFIG_FILE} is stale: run `helio kuberay-config`[/red]")
            raise typer.Exit(1)
        console.print("serveConfigV2 is up to date")
        return
    SERVE_CONFIG_FILE.write_text(text)
    console.print(f"wrote {SERVE_CONFIG_FILE}")


@app.command()
def deploy(
    config: Annotated[Path | None, typer.Option(
        exists=True, dir_okay=False, readable=True,
        help="A Serve config (the format of deployments/serve_config.yaml); default: that "
             "file")] = None,
    timeout: Annotated[float, typer.Option(min=1, help="Seconds to wait for RUNNING")] = 300.0,
) -> None:
    """Push the Serve config to a running cluster (RAY_ADDRESS or the local head) and wait
    until every application is RUNNING. Serve replaces replicas in a rolling update: the
    old ones keep answering until new ones are up."""
    import yaml

    from cluster.local_ray import cluster_env
    from cluster.serve_deploy import DeployError, load_serve_config, render_serve_config
    from cluster.serve_deploy import deploy as push

    settings = _settings()
    dashboard = _dashboard_url(settings, _ray_address(settings))
    try:
        base = load_serve_config(config)
    except (OSError, yaml.YAMLError) as exc:
        console.print(f"[red]Cannot read the Serve config {config}:[/red] {exc}")
        raise typer.Exit(2) from None
    if not isinstance(base, dict) or not isinstance(base.get("applications"), list):
        console.print(f"[red]{config} is not a Serve config:[/red] it needs an `applications` "
                      "list (see deployments/serve_config.yaml)")
        raise typer.Exit(2)
    try:
        push(dashboard, render_serve_config(settings, base), cluster_env(settings),
             timeout_s=timeout)
    except (DeployError, httpx.HTTPError) as exc:
        console.print(f"[red]Deploy failed:[/red] {exc}")
        raise typer.Exit(1) from None
    console.print(f"[green]Deployed to {dashboard}[/green]")


@app.command()
def status() -> None:
    """Show settings (secrets masked), the Ray head and the API's readiness."""
    from cluster.local_ray import recorded_head
    from cluster.sandbox import runner_mode

    settings = load_settings()
    table = Table(title="Helio settings")
    table.add_column("setting")
    table.add_column("value")
    for name, value in settings.model_dump().items():
        shown = "***" if name in {"jwt_secret", "admin_password", "redis_url"} and value else value
        if name == "database_url" and value:
            shown = _masked_url(value)
        table.add_row(f"HELIO_{name.upper()}", str(shown))
    console.print(table)
    head = recorded_head(settings)
    console.print(f"Ray head: {'running, ' + head.dashboard_url if head else 'not started here'}")
    mode = runner_mode(settings)
    console.print(f"Script jobs: {mode.name} ({mode.reason})"
                  + ("" if mode.isolated else "; only admins may run scripts"))
    try:
        ready = httpx.get(_api_url(settings) + "/api/v1/ready", timeout=3.0, verify=False)  # noqa: S501
        console.print(f"API: {ready.status_code} {ready.text}")
    except httpx.HTTPError as exc:
        console.print(f"API: unreachable ({type(exc).__name__})")


@app.command(context_settings={"allow_interspersed_args": False})
def submit(
    script: Annotated[Path, typer.Argument(exists=True, dir_okay=True, readable=True,
                                           help="A .py script, or a directory to ship "
                                                "(zipped) with --entrypoint")],
    args: Annotated[list[str] | None, typer.Argument(help="Arguments for the script "
                                                          "(after --)")] = None,
    api_url: Annotated[str | None, typer.Option(envvar="HELIO_API_URL",
                                                help="Default: the local helio up")] = None,
    api_key: Annotated[str | None, typer.Option(envvar="HELIO_API_KEY",
                                                help="An API key (hk_...)")] = None,
    entrypoint: Annotated[str | None, typer.Option(help="Script inside the directory")] = None,
    pip: Annotated[list[str] | None, typer.Option(help="Extra package (repeatable)")] = None,
    num_cpus: Annotated[float, typer.Option(min=0, help="CPUs for the script process")] = 0.0,
    follow: Annotated[bool, typer.Option(help="Stream logs until the job ends")] = True,
) -> None:
    """Run your script on the cluster as a Helio job (a Ray Job) and stream its logs."""
    if not api_key:
        console.print("[red]An API key is required:[/red] --api-key or HELIO_API_KEY")
        raise typer.Exit(2)
    base = (api_url or _api_url(load_settings())).rstrip("/") + "/api/v1"
    headers = {"Authorization": f"Bearer {api_key}"}
    upload, name = _submission_payload(script)
    script_args = list(args or [])
    if script_args[:1] == ["--"]:
        script_args = script_args[1:]
    form = {"args": json.dumps(script_args), "pip": json.dumps(list(pip or [])),
            "num_cpus": str(num_cpus)}
    if entrypoint:
        form["entrypoint"] = entrypoint
    with httpx.Client(base_url=base, headers=headers, timeout=120.0) as client:
        response = client.post("/jobs", files={"file": (name, upload)}, data=form)
        if response.status_code != 202:
            console.print(f"[red]Submission refused ({response.status_code}):[/red] "
                          f"{_problem_text(response)}")
            raise typer.Exit(1)
        job = response.json()
        console.print(f"Job {job['id']} submitted (Ray job {job['ray_job_id']})",
                      highlight=False)
        if not follow:
            return
        status = _follow(client, job["id"])
    console.print(f"Job {job['id']} {status}", highlight=False)
    raise typer.Exit(0 if status == "succeeded" else 1)


def _submission_payload(script: Path) -> tuple[bytes, str]:
    if script.is_file():
        return script.read_bytes(), script.name
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(script.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                archive.write(path, path.relative_to(script).as_posix())
    return buffer.getvalue(), f"{script.name}.zip"


def _problem_text(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:500]
    errors = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
                       for e in body.get("errors") or [])
    return f"{body.get('detail', '')} {errors}".strip()


def _follow(client: httpx.Client, job_id: str, poll_s: float = 1.0) -> str:
    """Print the job's log as it grows; return its final status."""
    printed = 0
    while True:
        job = client.get(f"/jobs/{job_id}").json()
        logs = client.get(f"/jobs/{job_id}/logs")
        if logs.status_code == 200:
            text = logs.json()["logs"]
            if len(text) > printed:
                sys.stdout.write(text[printed:])
                sys.stdout.flush()
                printed = len(text)
        if job["status"] in ("succeeded", "failed", "cancelled"):
            if job.get("error"):
                console.print(f"[red]{job['error']}[/red]")
            return str(job["status"])
        time.sleep(poll_s)


def main() -> None:  # pragma: no cover
    app()
