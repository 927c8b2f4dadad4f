"""Run alembic migrations programmatically (`helio db upgrade`, `helio up`, tests)."""

from __future__ import annotations

from importlib.resources import files

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

from cluster.db import normalize_database_url


def alembic_config(database_url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(files("cluster") / "migrations"))
    # Passed as an attribute, not an ini option: URLs may hold `%` and passwords.
    cfg.attributes["url"] = normalize_database_url(database_url)
    return cfg


def upgrade(database_url: str, revision: str = "head") -> None:
    """Blocking: call from a thread when an event loop is running."""
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(database_url), revision)


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
