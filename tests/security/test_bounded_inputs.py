"""Attacks with small inputs that cost the platform a lot, or that fail only when they run
(issue: trust boundaries, round 2, #3-#7). Each is refused with a 4xx that names what is
wrong; the ingress replica's memory is sampled during the upload attacks."""

from __future__ import annotations

import io
import threading
import time

import psutil
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cluster.models import Role
from tests.ray_session import state_address
from tests.security.conftest import Stack, Team, unique, upload

pytestmark = [pytest.mark.ray, pytest.mark.postgres]

# The growth of the ingress replica while it refuses an upload: far below what the
# attacks cost before (about 2.5 GB for the wide CSV, 1 GB for the big cell).
MAX_GROWTH_BYTES = 200 << 20


def _ingress_pids(app: str) -> list[int]:
    from ray.util.state import list_actors

    return [a.pid for a in list_actors(address=state_address(), filters=[("class_name", "=",
                                                  f"ServeReplica:{app}:ApiIngress"),
                                                 ("state", "=", "ALIVE")], detail=True)]


class PeakRss:
    """Samples the RSS of `pids` every 10 ms; `growth` is the peak over the start."""

    def __init__(self, pids: list[int]) -> None:
        self.procs = [psutil.Process(p) for p in pids]
        self.start = {p.pid: p.memory_info().rss for p in self.procs}
        self.peak = dict(self.start)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            for p in self.procs:
                self.peak[p.pid] = max(self.peak[p.pid], p.memory_info().rss)
            time.sleep(0.01)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def growth(self) -> int:
        return max(self.peak[p] - self.start[p] for p in self.peak)


async def _post_file(http, headers, name: str, content: bytes):
    return await http.post("/api/v1/datasets", headers=headers,
                           files={"file": (name, io.BytesIO(content))},
                           data={"name": unique("bounded")})


def _parquet(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue()


async def test_upload_bombs_are_refused_before_they_are_decoded(stack: Stack, team: Team, http):
    analyst = await team.member(Role.analyst)
    wide = (",".join(f"c{i}" for i in range(300_000)) + "\n" +
            ",".join("1" for _ in range(300_000)) + "\n").encode()
    cell = _parquet(pa.table({"x": ["a" * (128 << 20)]}))
    assert len(wide) < 3 << 20 and len(cell) < 8 << 10
    pids = _ingress_pids(stack.app_name)
    assert pids
    for name, content, expect in (("wide.csv", wide, "first line is longer"),
                                  ("cell.parquet", cell, "decodes to 128 MiB")):
        with PeakRss(pids) as rss:
            response = await _post_file(http, analyst.headers, name, content)
        assert response.status_code == 422, response.text
        error = response.json()["errors"][0]
        assert error["loc"] == ["body", "file"] and expect in error["msg"], error
        print(f"{name}: ingress replica peak growth {rss.growth / (1 << 20):.1f} MiB")
        assert rss.growth < MAX_GROWTH_BYTES, (name, rss.growth)

    # Fewer columns than the header bound, more than the column limit: counted, refused.
    many = (",".join(f"c{i}" for i in range(5000)) + "\n").encode()
    response = await _post_file(http, analyst.headers, "many.csv", many)
    assert response.status_code == 422
    assert "5000 columns" in response.json()["errors"][0]["msg"]


async def test_malformed_parquet_files_are_a_422_naming_the_file(stack: Stack, team: Team, http):
    analyst = await team.member(Role.analyst)
    huge_uint = _parquet(pa.table({"id": pa.array([2**64 - 1], pa.uint64())}))
    sink = io.BytesIO()
    pq.write_table(pa.table({"x": list(range(100_000))}), sink, compression="snappy")
    corrupt = bytearray(sink.getvalue())
    for i in range(200, 2000):
        corrupt[i] ^= 0x5A
    truncated = sink.getvalue()[: len(sink.getvalue()) // 2] + sink.getvalue()[-8:]
    for name, content in (("uint64.parquet", huge_uint), ("corrupt.parquet", bytes(corrupt)),
                          ("truncated.parquet", truncated)):
        response = await _post_file(http, analyst.headers, name, content)
        assert response.status_code == 422, (name, response.text)
        error = response.json()["errors"][0]
        assert error["loc"] == ["body", "file"], error
        assert "invalid Parquet file" in error["msg"], error


async def test_values_that_fail_only_at_run_time_are_a_422(stack: Stack, team: Team, http):
    analyst = await team.member(Role.analyst)
    rows = "t,a,i\n2024-01-01 10:00:00,1.5,4611686018427387904\n2024-02-01 11:00:00,2.5,5\n"
    data = await upload(http, analyst.headers, unique("runtime"), rows.encode())
    key = await team.app_key(analyst)
    url = f"/api/v1/datasets/{data['id']}/query"
    cases = {
        "t >= 'not-a-date'": "not-a-date",
        "i > 99999999999999999999999": "out of range",
        "abs(i * 4) > 0": "Overflow",
    }
    for expr, expect in cases.items():
        response = await http.post(url, headers=key,
                                   json={"filter": expr, "columns": ["a"]})
        assert response.status_code == 422, (expr, response.text)
        assert expect in response.json()["errors"][0]["msg"], (expr, response.json())
    digits = await http.post(url, headers=key,
                             json={"filter": "round(a, 99999999999) > 0", "columns": ["a"]})
    assert digits.status_code == 422
    assert digits.json()["errors"][0]["loc"] == ["body", "filter"]
    assert "digits" in digits.json()["errors"][0]["msg"]


async def test_string_growth_is_bounded_by_the_checker_and_the_result_cap(
        stack: Stack, team: Team, http):
    owner = await team.member(Role.analyst)
    data = await upload(http, owner.headers, unique("grow"),
                        b"x\n" + b"y" * (256 << 10) + b"\n")
    key = await team.app_key(owner)
    url = f"/api/v1/datasets/{data['id']}/query"
    eight = ", ".join(["x"] * 8)
    derive = {"a": f"concat({eight})"}
    for level in "bcdefghi":  # nine levels: 8^9 x the input, as in the review
        previous = list(derive)[-1]
        derive[level] = f"concat({', '.join([previous] * 8)})"
    exploding = await http.post(url, headers=key, json={"derive": derive, "columns": ["i"]})
    assert exploding.status_code == 422, exploding.text
    error = exploding.json()["errors"][0]
    # a and b (8x, 64x) are allowed; c would be 512x.
    assert error["loc"] == ["body", "derive", "c"] and "512x" in error["msg"], error

    # 64x is allowed by the checker; 256 KiB x 64 = 16 MiB is over this stack's 8 MiB cap.
    allowed = {"a": f"concat({eight})", "b": f"concat({', '.join(['a'] * 8)})"}
    capped = await http.post(url, headers=key, json={"derive": allowed, "columns": ["b"]})
    assert capped.status_code == 422, capped.text
    assert "HELIO_QUERY_MAX_RESULT_MB" in capped.json()["errors"][0]["msg"]


async def test_yaml_aliases_are_refused(stack: Stack, team: Team, http):
    analyst = await team.member(Role.analyst)
    data = await upload(http, analyst.headers, unique("yaml"))
    lines = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for i in range(1, 9):
        lines.append(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]")
    bomb = "\n".join(lines) + f"\nname: bomb\nsource: {{dataset: {data['id']}}}\n"
    response = await http.post("/api/v1/pipelines", headers=analyst.headers,
                               json={"name": unique("bomb"), "spec_yaml": bomb})
    assert response.status_code == 422, response.text
    error = response.json()["errors"][0]
    assert error["loc"] == ["body", "spec_yaml"] and "aliases" in error["msg"], error
