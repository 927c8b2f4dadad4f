from __future__ import annotations

import asyncio

from sqlalchemy import inspect

from cluster.db import create_engine
from cluster.migrate import downgrade, head_revision, upgrade
from cluster.models import Base


def _tables(url: str) -> set[str]:
    async def run() -> set[str]:
        engine = create_engine(url)
        async with engine.connect() as conn:
            names = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
        await engine.dispose()
        return names

    return asyncio.run(run())


def _roundtrip(url: str) -> None:
    upgrade(url)
    assert set(Base.metadata.tables) <= _tables(url)
    downgrade(url, "base")
    assert _tables(url) <= {"alembic_version"}
    upgrade(url)
    assert set(Base.metadata.tables) <= _tables(url)


def test_up_down_up_on_sqlite(tmp_path):
    _roundtrip(f"sqlite:///{tmp_path / 'm.db'}")


def test_up_down_up_on_postgres(postgres_url):
    _roundtrip(postgres_url)


def test_models_match_migrations(tmp_path):
    """autogenerate finds nothing to do: the ORM and the migrations agree."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    url = f"sqlite+aiosqlite:///{tmp_path / 'c.db'}"
    upgrade(url)

    async def diff() -> list:
        engine = create_engine(url)
        async with engine.connect() as conn:
            result = await conn.run_sync(
                lambda c: compare_metadata(MigrationContext.configure(c), Base.metadata))
        await engine.dispose()
        return result

    assert asyncio.run(diff()) == []
    assert head_revision() == "0010"
