"""Ray metrics that degrade to no-ops outside a Ray worker (e.g. the API under plain uvicorn)."""

from __future__ import annotations

from typing import Any


class _NullMetric:
    def inc(self, value: float = 1.0, tags: dict[str, str] | None = None) -> None:
        return None

    def observe(self, value: float, tags: dict[str, str] | None = None) -> None:
        return None

    def set(self, value: float, tags: dict[str, str] | None = None) -> None:
        return None


def counter(name: str, description: str, tag_keys: tuple[str, ...] = ()) -> Any:
    import ray

    if not ray.is_initialized():
        return _NullMetric()
    from ray.util.metrics import Counter

    return Counter(name, description=description, tag_keys=tag_keys)


def gauge(name: str, description: str, tag_keys: tuple[str, ...] = ()) -> Any:
    import ray

    if not ray.is_initialized():
        return _NullMetric()
    from ray.util.metrics import Gauge

    return Gauge(name, description=description, tag_keys=tag_keys)


def histogram(name: str, description: str, boundaries: list[float],
              tag_keys: tuple[str, ...] = ()) -> Any:
    import ray

    if not ray.is_initialized():
        return _NullMetric()
    from ray.util.metrics import Histogram

    return Histogram(name, description=description, boundaries=boundaries, tag_keys=tag_keys)
