"""Replica counters (limiter, cache) pushed to Ray's Prometheus endpoint every few seconds.

The hot path only bumps plain integers; this task turns their deltas into Ray metrics.
"""

from __future__ import annotations

import asyncio
from typing import Any

import structlog

from actors._metrics import counter
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


class ReplicaMetrics:
    def __init__(self, limiter: ReplicaLimiter, cache: ReplicaCache,
                 interval_s: float = 5.0) -> None:
        self._sources = ((limiter.counters, _LIMITER), (cache.counters, _CACHE))
        self._interval = interval_s
        self._metrics: dict[str, Any] = {}
        self._sent: dict[str, int] = {}
        self._task: asyncio.Task[None] | None = None
        self.log = structlog.get_logger("helio.metrics")

    def start(self) -> None:
        if self._task is None:
            for _, spec in self._sources:
                for name, description in spec.values():
                    self._metrics[name] = counter(name, description)
                    self._sent[name] = 0
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                self.flush()
            except Exception as exc:
                self.log.warning("metrics_flush_failed", error=type(exc).__name__)

    def flush(self) -> None:
        for counters, spec in self._sources:
            for field, (name, _) in spec.items():
                delta = counters[field] - self._sent[name]
                if delta > 0:
                    self._metrics[name].inc(delta)
                    self._sent[name] = counters[field]

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
