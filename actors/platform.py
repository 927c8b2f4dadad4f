"""Live platform metrics for the dashboard's Overview: every ingress replica pushes its
per-second request counters here (one fire-and-forget call per second, not per request);
once a second the aggregate (requests/s, p50/p99 latency, error rate, cache hit rate,
rate-limited requests, running jobs, Serve replicas per deployment, cluster CPU and
memory) is published as a `{"type": "metrics"}` event to every WebSocket subscriber."""

from __future__ import annotations

import asyncio
import bisect
import time
from collections.abc import Awaitable, Callable
from typing import Any

import structlog

from actors import names
from actors._tasks import cancel_and_wait

log = structlog.get_logger("helio.platform")

# Latency histogram bucket upper bounds, in milliseconds (the last bucket is open).
BUCKETS_MS = (0.5, 1, 2, 3, 5, 7.5, 10, 15, 20, 30, 50, 75, 100, 150, 200, 300, 500, 750,
              1000, 2000, 5000, 10000)
IDLE_STOP_S = 30.0
# Serve's replica counts change on a scale-up or a rollout, not every second; asking the
# controller for every application's status each second was most of this actor's CPU.
REPLICAS_EVERY_S = 5.0
COUNTERS = ("requests", "errors", "rate_limited", "cache_hits", "cache_misses")


class LiveStats:
    """Replica side: plain counters bumped per request, taken as a delta each second."""

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self.counts = dict.fromkeys(COUNTERS, 0)
        self.histogram = [0] * (len(BUCKETS_MS) + 1)

    def observe(self, status: int, latency_ms: float) -> None:
        self.counts["requests"] += 1
        if status >= 500:
            self.counts["errors"] += 1
        elif status == 429:
            self.counts["rate_limited"] += 1
        self.histogram[bisect.bisect_left(BUCKETS_MS, latency_ms)] += 1

    def take(self, cache_counters: dict[str, int], seen: dict[str, int]) -> dict[str, Any]:
        """The delta since the last call (cache counters are cumulative in ReplicaCache)."""
        hits = cache_counters.get("l1_hits", 0) + cache_counters.get("l2_hits", 0)
        misses = cache_counters.get("misses", 0)
        delta = {**self.counts, "histogram": self.histogram,
                 "cache_hits": hits - seen.get("hits", 0),
                 "cache_misses": misses - seen.get("misses", 0)}
        seen.update(hits=hits, misses=misses)
        self._reset()
        return delta


def quantile_ms(histogram: list[int], q: float) -> float | None:
    """The bucket bound below which a fraction `q` of the observations fall."""
    total = sum(histogram)
    if total == 0:
        return None
    rank = q * total
    running = 0
    for i, count in enumerate(histogram):
        running += count
        if running >= rank:
            return float(BUCKETS_MS[i]) if i < len(BUCKETS_MS) else float(BUCKETS_MS[-1])
    return float(BUCKETS_MS[-1])


class PlatformMetrics:
    """Aggregates replica deltas into one snapshot per interval and publishes it."""

    def __init__(self, publish: Callable[[dict[str, Any]], Awaitable[Any]],
                 interval_s: float = 1.0) -> None:
        self._publish = publish
        self.interval_s = interval_s
        self._window = self._empty()
        self._running_jobs: dict[str, tuple[float, int]] = {}
        self.latest: dict[str, Any] | None = None
        self._task: asyncio.Task[None] | None = None
        self._last_record = time.monotonic()
        self._replicas: tuple[float, dict[str, int]] | None = None

    def _replica_counts(self) -> dict[str, int]:
        now = time.monotonic()
        if self._replicas is None or now - self._replicas[0] >= REPLICAS_EVERY_S:
            self._replicas = (now, serve_replicas())
        return self._replicas[1]

    @staticmethod
    def _empty() -> dict[str, Any]:
        return {**dict.fromkeys(COUNTERS, 0), "histogram": [0] * (len(BUCKETS_MS) + 1)}

    def record(self, replica: str, delta: dict[str, Any]) -> None:
        self._last_record = time.monotonic()
        for key in COUNTERS:
            self._window[key] += int(delta.get(key, 0))
        for i, count in enumerate(delta.get("histogram", ())[:len(BUCKETS_MS) + 1]):
            self._window["histogram"][i] += int(count)
        if delta.get("running_jobs") is not None:
            self._running_jobs[replica] = (time.monotonic(), int(delta["running_jobs"]))

    def snapshot(self, elapsed_s: float) -> dict[str, Any]:
        window, self._window = self._window, self._empty()
        requests = window["requests"]
        lookups = window["cache_hits"] + window["cache_misses"]
        fresh = [n for at, n in self._running_jobs.values() if time.monotonic() - at < 10]
        return {
            "ts": time.time(),
            "requests_per_s": round(requests / elapsed_s, 2) if elapsed_s > 0 else 0.0,
            "p50_ms": quantile_ms(window["histogram"], 0.5),
            "p99_ms": quantile_ms(window["histogram"], 0.99),
            "error_rate": round(window["errors"] / requests, 4) if requests else 0.0,
            "cache_hit_rate": round(window["cache_hits"] / lookups, 4) if lookups else None,
            "rate_limited": window["rate_limited"],
            "running_jobs": max(fresh) if fresh else None,
            **cluster_state(self._replica_counts),
        }

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        last = time.monotonic()
        while True:
            await asyncio.sleep(self.interval_s)
            now = time.monotonic()
            if now - self._last_record > IDLE_STOP_S:
                return  # no replica reports any more; the next report starts it again
            try:
                self.latest = await asyncio.to_thread(self.snapshot, now - last)
                await self._publish({"type": "metrics", "metrics": self.latest})
            except Exception as exc:
                log.warning("platform_metrics_failed", error=type(exc).__name__)
            last = now

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None


def cluster_state(replicas: Callable[[], dict[str, int]] | None = None) -> dict[str, Any]:
    """Cluster CPU (Ray's reservations and this node's utilisation), memory, and the Serve
    replicas per deployment (`replicas`, default: asked of Serve now); what is not
    reachable is left out."""
    import psutil

    memory = psutil.virtual_memory()
    state: dict[str, Any] = {"node_cpu_percent": psutil.cpu_percent(interval=None),
                             "memory_used_bytes": int(memory.total - memory.available),
                             "memory_total_bytes": int(memory.total)}
    try:
        import ray

        if ray.is_initialized():
            total = ray.cluster_resources()  # type: ignore[no-untyped-call]
            free = ray.available_resources()  # type: ignore[no-untyped-call]
            state["cpu_total"] = float(total.get("CPU", 0.0))
            state["cpu_reserved"] = round(float(total.get("CPU", 0.0) - free.get("CPU", 0.0)),
                                          2)
            state["replicas"] = (replicas or serve_replicas)()
    except Exception as exc:
        log.debug("cluster_state_unavailable", error=type(exc).__name__)
    return state


def serve_replicas() -> dict[str, int]:
    from ray import serve
    from ray.serve._private.common import ReplicaState

    counts: dict[str, int] = {}
    for app in serve.status().applications.values():
        for name, deployment in app.deployments.items():
            counts[name] = counts.get(name, 0) + int(
                deployment.replica_states.get(ReplicaState.RUNNING, 0))
    return counts


class PlatformMetricsActor:
    """The cluster-wide aggregator (one named actor); publishes to the event hub."""

    def __init__(self, namespace: str) -> None:
        from actors._metrics import gauge
        from actors.events import get_or_create_event_hub

        hub = get_or_create_event_hub(namespace)
        running = gauge("helio_jobs_running", "Jobs running now (Ray Jobs started by Helio)")

        def publish(event: dict[str, Any]) -> Any:
            jobs = event["metrics"].get("running_jobs")
            if jobs is not None:
                running.set(float(jobs))
            return hub.publish.remote(event)

        self.metrics = PlatformMetrics(publish)

    async def record(self, replica: str, delta: dict[str, Any]) -> None:
        self.metrics.start()
        self.metrics.record(replica, delta)

    async def latest(self) -> dict[str, Any] | None:
        self.metrics.start()
        return self.metrics.latest


def get_or_create_platform_metrics(namespace: str = names.NAMESPACE) -> Any:
    import ray

    return (ray.remote(PlatformMetricsActor)
            .options(**names.actor_options(names.PLATFORM_METRICS, namespace))
            .remote(namespace))
