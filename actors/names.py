"""Names of Helio's detached actors (one place, so every process finds the same ones) and
the options they are all created with."""

from __future__ import annotations

from typing import Any

NAMESPACE = "helio"
RATE_LIMITER = "helio-rate-limiter"
CACHE = "helio-cache"
EVENTS = "helio-events"
PLATFORM_METRICS = "helio-platform-metrics"
SCHEDULER = "helio-scheduler"
RUNNER_PREFIX = "helio-runner-"


def actor_options(name: str, namespace: str, max_concurrency: int | None = None
                  ) -> dict[str, Any]:
    """Options of every Helio platform actor: named and detached (found by every replica and
    job), restarted (and its calls retried) after a crash or a lost node, no CPU reserved.
    Task events are off: these actors serve several calls per API request, and recording
    each one in the GCS (for the dashboard's task list) grew its memory by ~9 MB/min under
    40 req/s (benchmarks/soak.py); Serve leaves them off for its own requests too."""
    options: dict[str, Any] = {
        "name": name, "namespace": namespace, "lifetime": "detached", "get_if_exists": True,
        "max_restarts": -1, "max_task_retries": -1, "num_cpus": 0,
        "enable_task_events": False,
    }
    if max_concurrency is not None:
        options["max_concurrency"] = max_concurrency
    return options
