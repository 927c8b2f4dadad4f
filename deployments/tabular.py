"""Tabular predictions: the `TabularPredictor` Serve deployment (model multiplexing by
`name:version`, request batching) and the same logic in-process for an API outside Serve."""

from __future__ import annotations

import asyncio
import collections
import threading
import time
from typing import Any

from ray import serve

from cluster.settings import load_settings
from pipelines import registry
from pipelines.training import predict_records

MAX_MODELS_PER_REPLICA = 8


def model_id(name: str, version: int) -> str:
    return f"{name}:{version}"


def parse_model_id(value: str) -> tuple[str, int]:
    name, _, version = value.rpartition(":")
    return name, int(version)


def batching_options(config: dict[str, Any], *, default_size: int, default_wait: float
                     ) -> tuple[int, float]:
    """`max_batch_size` (1..1024; 1 turns batching off) and `batch_wait_timeout_s`
    (0..1) from a deployment's user_config; anything else is a configuration error."""
    unknown = set(config) - {"max_batch_size", "batch_wait_timeout_s"}
    if unknown:
        raise ValueError(f"unknown user_config keys {sorted(unknown)}; "
                         "use max_batch_size, batch_wait_timeout_s")
    size = config.get("max_batch_size", default_size)
    wait = config.get("batch_wait_timeout_s", default_wait)
    if not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= 1024:
        raise ValueError(f"max_batch_size must be an integer from 1 to 1024, not {size!r}")
    if not isinstance(wait, int | float) or isinstance(wait, bool) or not 0 <= wait <= 1:
        raise ValueError(f"batch_wait_timeout_s must be 0..1 seconds, not {wait!r}")
    return size, float(wait)


def model_latency_metric() -> Any:
    """Time per model call (one batch), by deployment, on Ray's Prometheus endpoint."""
    from actors._metrics import histogram

    return histogram("helio_model_batch_duration_ms", "Model call (one batch) latency in ms",
                     [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000], ("deployment",))


def apply_batching(method: Any, size: int, wait_s: float) -> None:
    """Set a `@serve.batch` method's queue limits (typed as a plain callable by Ray)."""
    method.set_max_batch_size(size)
    method.set_batch_wait_timeout_s(wait_s)


class ModelStore:
    """A small LRU of loaded models (thread-safe; loading happens off the event loop)."""

    def __init__(self, data_root: str, capacity: int = MAX_MODELS_PER_REPLICA) -> None:
        self.data_root = data_root
        self.capacity = capacity
        self._models: collections.OrderedDict[tuple[str, int], Any] = collections.OrderedDict()
        self._lock = threading.Lock()

    def get(self, name: str, version: int) -> Any:
        key = (name, version)
        with self._lock:
            if key in self._models:
                self._models.move_to_end(key)
                return self._models[key]
        model = registry.load(registry.artifact_path(self.data_root, name, version))
        with self._lock:
            self._models[key] = model
            while len(self._models) > self.capacity:
                self._models.popitem(last=False)
        return model


class LocalPredictor:
    """In-process predictions (the API outside Serve, and tests)."""

    def __init__(self, data_root: str) -> None:
        self.store = ModelStore(data_root)

    async def predict(self, name: str, version: int, features: list[dict[str, Any]],
                      records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        def run() -> list[dict[str, Any]]:
            return predict_records(self.store.get(name, version), features, records)

        return await asyncio.to_thread(run)


class HandlePredictor:
    """Predictions through the TabularPredictor deployment. The model is chosen with
    `multiplexed_model_id` on the handle (the HTTP header is ignored in HAProxy mode)."""

    def __init__(self, handle: Any) -> None:
        self.handle = handle

    async def predict(self, name: str, version: int, features: list[dict[str, Any]],
                      records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        response = self.handle.options(multiplexed_model_id=model_id(name, version)).predict \
            .remote({"features": features, "records": records})
        result = await response
        if isinstance(result, dict) and "error" in result:
            raise registry.BrokenArtifact(str(result["error"]))
        return list(result)


@serve.deployment(name="TabularPredictor", max_ongoing_requests=64,
                  ray_actor_options={"num_cpus": 0.25})
class TabularPredictor:
    """Serves every registered tabular model version; requests name one as `name:version`."""

    def __init__(self, settings_overrides: dict[str, Any]) -> None:
        self.data_root = load_settings(**settings_overrides).resolved_data_root
        self.latency = model_latency_metric()

    def reconfigure(self, user_config: dict[str, Any]) -> None:
        """`user_config` of the Serve config: batching, changed without a restart."""
        apply_batching(self.predict, *batching_options(user_config, default_size=64,
                                                       default_wait=0.002))

    @serve.multiplexed(max_num_models_per_replica=MAX_MODELS_PER_REPLICA)  # type: ignore[untyped-decorator]
    async def get_model(self, multiplexed_id: str) -> Any:
        name, version = parse_model_id(multiplexed_id)
        path = registry.artifact_path(self.data_root, name, version)
        return await asyncio.to_thread(registry.load, path)

    @serve.batch(max_batch_size=64, batch_wait_timeout_s=0.002)
    async def predict(self, requests: list[dict[str, Any]]) -> list[Any]:
        """One model call for every record of the batch (batches hold one model id)."""
        try:
            model = await self.get_model(serve.get_multiplexed_model_id())
        except (registry.BrokenArtifact, registry.UntrustedArtifact) as exc:
            return [{"error": str(exc)} for _ in requests]
        features = requests[0]["features"]
        records = [r for request in requests for r in request["records"]]
        # On the replica's event loop, not a thread: a model thread would hold the GIL
        # against the loop, so requests arriving during a batch could not join the next.
        started = time.perf_counter()
        rows = predict_records(model, features, records)
        self.latency.observe((time.perf_counter() - started) * 1000,
                             {"deployment": "TabularPredictor"})
        out: list[Any] = []
        start = 0
        for request in requests:
            out.append(rows[start:start + len(request["records"])])
            start += len(request["records"])
        return out
