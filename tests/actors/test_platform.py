"""Live platform metrics: replica counters, their aggregation and the published snapshot."""

from __future__ import annotations

import asyncio

import pytest

from actors.platform import BUCKETS_MS, LiveStats, PlatformMetrics, quantile_ms


def test_live_stats_take_a_delta_and_reset():
    stats = LiveStats()
    for status, ms in [(200, 1.5), (200, 4.0), (500, 40.0), (429, 0.3)]:
        stats.observe(status, ms)
    seen: dict[str, int] = {}
    delta = stats.take({"l1_hits": 5, "l2_hits": 1, "misses": 2}, seen)
    assert (delta["requests"], delta["errors"], delta["rate_limited"]) == (4, 1, 1)
    assert (delta["cache_hits"], delta["cache_misses"]) == (6, 2)
    assert sum(delta["histogram"]) == 4
    again = stats.take({"l1_hits": 7, "l2_hits": 1, "misses": 2}, seen)
    assert again["requests"] == 0 and again["cache_hits"] == 2 and again["cache_misses"] == 0


def test_quantiles_come_from_the_histogram():
    histogram = [0] * (len(BUCKETS_MS) + 1)
    histogram[BUCKETS_MS.index(2)] = 98
    histogram[BUCKETS_MS.index(100)] = 2
    assert quantile_ms(histogram, 0.5) == 2.0
    assert quantile_ms(histogram, 0.99) == 100.0
    assert quantile_ms([0] * len(histogram), 0.5) is None


async def test_snapshot_aggregates_replicas_and_publishes_each_interval():
    published: list[dict] = []

    async def publish(event: dict) -> None:
        published.append(event)

    metrics = PlatformMetrics(publish, interval_s=0.2)
    one, two = LiveStats(), LiveStats()
    for _ in range(30):
        one.observe(200, 3.0)
    for _ in range(10):
        two.observe(503, 20.0)
    metrics.record("a", {**one.take({"l1_hits": 3, "misses": 1}, {}), "running_jobs": 2})
    metrics.record("b", {**two.take({}, {}), "running_jobs": 2})
    snapshot = metrics.snapshot(elapsed_s=2.0)
    assert snapshot["requests_per_s"] == 20.0
    assert snapshot["error_rate"] == pytest.approx(0.25)
    assert snapshot["p50_ms"] == 3.0 and snapshot["p99_ms"] == 20.0
    assert snapshot["cache_hit_rate"] == 0.75 and snapshot["running_jobs"] == 2
    assert snapshot["memory_total_bytes"] > 0
    assert metrics.snapshot(elapsed_s=1.0)["requests_per_s"] == 0.0  # windows do not overlap

    metrics.record("a", {"requests": 1})
    metrics.start()
    await asyncio.sleep(0.7)
    await metrics.stop()
    assert len(published) >= 2 and published[0]["type"] == "metrics"


def test_replica_counts_are_asked_of_serve_once_per_period(monkeypatch):
    """serve.status() is a call to the Serve controller: the aggregator, which snapshots
    every second, asks it once per REPLICAS_EVERY_S and reuses the answer in between."""
    from types import SimpleNamespace

    from actors import platform

    asked: list[float] = []
    now = [1000.0]

    def serve_replicas() -> dict[str, int]:
        asked.append(now[0])
        return {"ApiIngress": len(asked)}

    monkeypatch.setattr(platform, "serve_replicas", serve_replicas)
    monkeypatch.setattr(platform, "time", SimpleNamespace(monotonic=lambda: now[0]))
    metrics = PlatformMetrics(lambda event: asyncio.sleep(0))
    seen = []
    for _ in range(12):  # one snapshot a second for 12 s
        seen.append(metrics._replica_counts()["ApiIngress"])
        now[0] += 1.0
    period = int(platform.REPLICAS_EVERY_S)
    assert asked == [1000.0 + i * period for i in range(len(asked))]
    assert len(asked) == -(-12 // period)
    assert seen == [1 + i // period for i in range(12)]
