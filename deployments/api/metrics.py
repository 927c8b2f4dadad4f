"""Replica metrics pushed to Ray's Prometheus endpoint every few seconds: HTTP requests by
route, method and status with a latency histogram, and the limiter and cache counters.

The hot path only bumps plain integers (and keeps a bounded sample of latencies); this
task turns them into Ray metrics.
"""

from __future__ import annotations

import asyncio
from typing import Any

import structlog

from actors._metrics import counter, histogram
from actors._tasks import cancel_and_wait
from actors.cache import ReplicaCache
from actors.rate_limiter import ReplicaLimiter

_LIMITER = {
    "allowed": ("helio_rate_limit_allowed_total", "Requests admitted by the rate limiter"),
    "rejected": ("helio_rate_limit_rejected_total", "Requests rejected with 429"),
    "leases": ("helio_rate_limit_replica_leases_total", "Token leases fetched by replicas"),
    "fallbacks": ("helio_rate_limit_fallbacks_total",
                  "Decisions taken without the limiter actor (failure mode applied)"),
}
_CACHE = {
    "l1_hits": ("helio_cache_l1_hits_total", "Replica L1 cache hits"),
    "l2_hits": ("helio_cache_l2_hits_total", "Cluster cache (actor/Redis) hits"),
    "misses": ("helio_cache_misses_total", "Values computed because no cache had them"),
    "errors": ("helio_cache_unavailable_total", "Cache calls that failed (actor restarting)"),
}


LATENCY_BOUNDARIES_MS: list[float] = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000]
MAX_LATENCY_SAMPLES = 5000  # per interval and replica; beyond it every other one is kept


class ReplicaMetrics:
    def __init__(self, limiter: ReplicaLimiter, cache: ReplicaCache,
                 interval_s: float = 5.0) -> None:
        self._sources = ((limiter.counters, _LIMITER), (cache.counters, _CACHE))
        self._requests: dict[tuple[str, str, str], int] = {}
        self._latencies: list[tuple[str, float]] = []
        self._seen = 0
        self._interval = interval_s
        self._metrics: dict[str, Any] = {}
        self._sent: dict[str, int] = {}
        self._task: asyncio.Task[None] | None = None
        self.log = structlog.get_logger("helio.metrics")

    def observe_request(self, route: str, method: str, status: int, latency_ms: float) -> None:
        key = (route, method, str(status))
        self._requests[key] = self._requests.get(key, 0) + 1
        self._seen += 1
        if len(self._latencies) < MAX_LATENCY_SAMPLES or self._seen % 2 == 0:
            if len(self._latencies) >= MAX_LATENCY_SAMPLES:
                self._latencies.pop(0)
            self._latencies.append((route, latency_ms))

    def start(self) -> None:
        if self._task is None:
            for _, spec in self._sources:
                for name, description in spec.values():
                    self._metrics[name] = counter(name, description)
                    self._sent[name] = 0
            self._metrics["requests"] = counter(
                "helio_http_requests_total", "HTTP requests by route template, method, status",
                ("route", "method", "status"))
            self._metrics["latency"] = histogram(
                "helio_http_request_duration_ms", "HTTP request latency (ms) by route",
                LATENCY_BOUNDARIES_MS, ("route",))
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                self.flush()
            except Exception as exc:
                self.log.warning("metrics_flush_failed", error=type(exc).__name__)

    def flush(self) -> None:
        requests, self._requests = self._requests, {}
        latencies, self._latencies = self._latencies, []
        if "requests" in self._metrics:
            for (route, method, status), count in requests.items():
                self._metrics["requests"].inc(count, {"route": route, "method": method,
                                                      "status": status})
            for route, value in latencies:
                self._metrics["latency"].observe(value, {"route": route})
        for counters, spec in self._sources:
            for field, (name, _) in spec.items():
                delta = counters[field] - self._sent[name]
                if delta > 0:
                    self._metrics[name].inc(delta)
                    self._sent[name] = counters[field]

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None
