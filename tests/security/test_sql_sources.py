"""Attack: writing through a SQL source. The statement ran with the source's credentials
and was committed (`DELETE ... RETURNING *` worked); now sources are read in read-only
transactions, one statement at a time, with a statement timeout. Against the machine's
PostgreSQL."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from cluster.db import create_engine
from cluster.models import Role
from tests.security.conftest import Team, unique, wait_job

pytestmark = [pytest.mark.ray, pytest.mark.postgres]


async def _rows(url: str) -> int:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return int((await conn.execute(text("SELECT count(*) FROM helio_sec_orders")))
                       .scalar_one())
    finally:
        await engine.dispose()


async def _ingest(http, headers, query: str) -> dict:
    created = await http.post("/api/v1/datasets/sql", headers=headers, json={
        "name": unique("sql"), "source": "warehouse", "query": query})
    assert created.status_code == 202, created.text
    return await wait_job(http, headers, created.json()["id"])


async def test_sql_sources_cannot_write_or_run_forever(stack, team: Team, http, warehouse):
    analyst = await team.member(Role.analyst)
    before = await _rows(warehouse)
    attacks = {
        "delete": "DELETE FROM helio_sec_orders RETURNING *",
        "cte_delete": "WITH gone AS (DELETE FROM helio_sec_orders RETURNING *) "
                      "SELECT * FROM gone",
        "escape_read_only": "COMMIT; SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE; "
                            "DELETE FROM helio_sec_orders",
        "slow": "SELECT pg_sleep(30) AS x",
    }
    jobs = await asyncio.gather(*[_ingest(http, analyst.headers, q) for q in attacks.values()])
    for name, job in zip(attacks, jobs, strict=True):
        assert job["status"] == "failed", (name, job)
    by_name = dict(zip(attacks, jobs, strict=True))
    assert "read-only" in by_name["delete"]["error"], by_name["delete"]["error"]
    assert "statement timeout" in by_name["slow"]["error"], by_name["slow"]["error"]
    assert await _rows(warehouse) == before == 50
    # Reading still works.
    ok = await _ingest(http, analyst.headers, "SELECT id, amount FROM helio_sec_orders")
    assert ok["status"] == "succeeded", ok
    assert ok["result"]["rows_out"] == 50
