"""Attack: one small query freezing a replica. The type checker once evaluated a
comparison's left operand twice (2^depth steps for a chain of comparisons)."""

from __future__ import annotations

import time

import pytest

from cluster.models import Role
from pipelines.expr import MAX_DEPTH, ExpressionError, check, parse
from tests.security.conftest import Team, unique, upload

pytestmark = [pytest.mark.ray, pytest.mark.postgres]


def chain(levels: int) -> str:
    text = "1 = 1"
    for _ in range(levels):
        text = f"({text}) = true"
    return text


def test_each_operand_is_typed_once():
    _node, kind = check(chain(60), {})
    assert kind == "bool"


def test_depth_and_size_are_refused_while_parsing():
    with pytest.raises(ExpressionError, match="deeper than"):
        parse(chain(MAX_DEPTH + 5))
    with pytest.raises(ExpressionError, match=r"deeper than|more than"):
        parse("+".join(["1"] * 1900))


async def test_a_60_level_chain_is_answered_promptly_through_serve(stack, team: Team, http):
    owner = await team.member(Role.analyst)
    data = await upload(http, owner.headers, unique("dos"))
    key = await team.app_key(owner)  # any principal, even an app key, may query
    body = {"filter": chain(60), "aggregations": [{"op": "count"}]}
    assert len(body["filter"]) < 600
    started = time.perf_counter()
    answered = await http.post(f"/api/v1/datasets/{data['id']}/query", headers=key, json=body)
    elapsed = time.perf_counter() - started
    assert answered.status_code == 200, answered.text
    assert answered.json()["rows"] == [[3]]
    # The exponential checker needed ~2^60 steps: any bound proves it; this one is loose
    # because the machine is shared (the in-process check above takes milliseconds).
    assert elapsed < 5.0, elapsed
    too_deep = await http.post(f"/api/v1/datasets/{data['id']}/query", headers=key,
                               json={"filter": chain(80), "aggregations": [{"op": "count"}]})
    assert too_deep.status_code == 422
    assert "deeper than" in too_deep.text
