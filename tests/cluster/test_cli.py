"""The `helio` CLI commands that need no Ray: migrations, users, status."""

from __future__ import annotations

import asyncio

from sqlalchemy import select
from typer.testing import CliRunner

from cluster.cli import app
from cluster.db import create_engine, create_session_factory
from cluster.models import User
from cluster.security import verify_password

runner = CliRunner()


def _env(tmp_path, database_url: str) -> dict[str, str]:
    return {"HELIO_HOME": str(tmp_path / "home"), "HELIO_DATABASE_URL": database_url}


def _users(database_url: str) -> list[User]:
    async def fetch() -> list[User]:
        engine = create_engine(database_url)
        async with create_session_factory(engine)() as session:
            rows = list(await session.scalars(select(User)))
        await engine.dispose()
        return rows

    return asyncio.run(fetch())


def test_db_upgrade_and_user_create(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    env = _env(tmp_path, url)
    result = runner.invoke(app, ["db", "upgrade"], env=env)
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["user", "create", "--email", "Dana@Example.com", "--role",
                                 "analyst"], input="a-strong-password\na-strong-password\n",
                           env=env)
    assert result.exit_code == 0, result.output
    [user] = _users(url)
    assert user.email == "Dana@example.com" and user.role == "analyst"
    assert verify_password("a-strong-password", user.password_hash)

    again = runner.invoke(app, ["user", "create", "--email", "dana@example.com"],
                          input="another-password\nanother-password\n", env=env)
    assert again.exit_code == 1 and "already exists" in again.output
    bad = runner.invoke(app, ["user", "create", "--email", "x", "--role", "emperor"],
                        input="short\nshort\n", env=env)
    assert bad.exit_code == 2


def test_status_masks_secrets(tmp_path):
    env = {**_env(tmp_path, "postgresql://helio:pa55word@db.internal/helio"),
           "HELIO_JWT_SECRET": "jwt-secret-value-" * 3, "HELIO_REDIS_URL": "redis://:rpass@r/0",
           "HELIO_JWT_PREVIOUS_SECRETS": "old-key-one-" * 3 + "," + "old-key-two-" * 3,
           "HELIO_SQL_SOURCES": '{"wh": "postgresql://u:sqlpass@h/db"}', "HELIO_PORT": "1"}
    result = runner.invoke(app, ["status"], env=env, terminal_width=200)
    assert result.exit_code == 0, result.output
    for secret in ("pa55word", "jwt-secret-value", "rpass", "old-key-one", "old-key-two",
                   "sqlpass"):
        assert secret not in result.output
    assert "HELIO_JWT_SECRET" in result.output


def test_production_refuses_to_start_without_a_secret(tmp_path):
    env = {**_env(tmp_path, f"sqlite:///{tmp_path / 'p.db'}"), "HELIO_ENV": "production"}
    result = runner.invoke(app, ["up", "--detach"], env=env)
    assert result.exit_code == 2
    assert "HELIO_JWT_SECRET is required" in result.output


def _text(result) -> str:
    return " ".join(result.output.split())  # rich wraps long lines


def test_deploy_refuses_a_file_that_is_not_a_serve_config(tmp_path):
    env = {**_env(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"),
           "RAY_ADDRESS": "http://127.0.0.1:9"}  # never reached: the file is checked first
    not_config = tmp_path / "values.yaml"
    not_config.write_text("replicas: 3\n")
    result = runner.invoke(app, ["deploy", "--config", str(not_config)], env=env)
    assert result.exit_code == 2 and "is not a Serve config" in _text(result), result.output
    broken = tmp_path / "broken.yaml"
    broken.write_text("applications: [\n")
    result = runner.invoke(app, ["deploy", "--config", str(broken)], env=env)
    assert result.exit_code == 2 and "Cannot read the Serve config" in _text(result)
    missing = runner.invoke(app, ["deploy", "--config", str(tmp_path / "nope.yaml")], env=env)
    assert missing.exit_code == 2


def test_deploy_reports_an_unreachable_cluster(tmp_path):
    env = {**_env(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"),
           "RAY_ADDRESS": "http://127.0.0.1:9"}
    result = runner.invoke(app, ["deploy"], env=env)
    assert result.exit_code == 1 and "Deploy failed" in _text(result), result.output


def test_status_says_where_script_jobs_run(tmp_path):
    base = {**_env(tmp_path, f"sqlite:///{tmp_path / 's.db'}"), "HELIO_PORT": "1"}
    off = runner.invoke(app, ["status"], env={**base, "HELIO_SCRIPT_RUNNER": "off"},
                        terminal_width=200)
    assert off.exit_code == 0, off.output
    assert "Script jobs: unavailable (HELIO_SCRIPT_RUNNER=off); only admins may run " \
           "scripts" in _text(off)
    auto = runner.invoke(app, ["status"], env=base, terminal_width=200)
    assert "Script jobs: sandbox (bubblewrap sandbox" in _text(auto)  # CI installs bwrap
