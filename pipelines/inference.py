"""Batch inference on Ray Data: the `predict` and `embed` pipeline steps (and the text
index and text-model training jobs) run model code in an autoscaling pool of actors, so
each actor loads its model once and then streams batches through it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from pipelines.tables import CANONICAL

BATCH_ROWS = 1024
TEXT_BATCH_ROWS = 64


def actor_pool_map(ds: Any, cls: type, kwargs: dict[str, Any], batch_size: int) -> Any:
    """`ds.map_batches(cls)` on a pool of 1..N actors.

    On a small cluster (Serve replicas hold part of the CPUs) the actors ask for no CPU,
    so read_parquet's listing and read tasks (1 CPU each) can still be scheduled next to
    them; on 4+ CPUs each actor reserves one and the pool grows to half the CPUs."""
    import ray
    import ray.data

    cpus = int(ray.cluster_resources().get("CPU", 1))  # type: ignore[no-untyped-call]
    return ds.map_batches(
        cls, batch_format="pyarrow", batch_size=batch_size,
        compute=ray.data.ActorPoolStrategy(min_size=1, max_size=max(2, cpus // 2)),
        num_cpus=1 if cpus >= 4 else 0, fn_constructor_kwargs=kwargs)


def embed_map(ds: Any, column: str, model_dir: Path, output: str = "__embedding") -> Any:
    from pipelines.text import EmbedBatch

    return actor_pool_map(ds, EmbedBatch, {"model_dir": str(model_dir), "column": column,
                                           "output": output, "threads": 1},
                          TEXT_BATCH_ROWS)


class PredictBatch:
    """Ray Data actor: adds a model version's predictions (and optionally the predicted
    class's probability) to each batch."""

    def __init__(self, artifact: str, features: list[dict[str, Any]], output: str,
                 output_type: str, probability: bool, model_dir: str | None = None) -> None:
        from pipelines import registry

        self.model = registry.load(Path(artifact))
        self.features = features
        self.output = output
        self.output_type = output_type
        self.probability = probability
        self.encoder: Any = None
        if features and features[0]["type"] == "text":
            from pipelines.text import SentenceEncoder

            if model_dir is None:
                raise RuntimeError("a text model needs the NLP model directory")
            self.encoder = SentenceEncoder(Path(model_dir), threads=1)

    def __call__(self, batch: pa.Table) -> pa.Table:
        import pandas as pd

        from pipelines.training import prepare_frame

        names = [f["name"] for f in self.features]
        if self.encoder is not None:
            texts = ["" if t is None else str(t) for t in batch.column(names[0]).to_pylist()]
            frame = pd.DataFrame({names[0]: list(self.encoder.encode(texts))})
        else:
            frame = batch.select(names).to_pandas()
        x = prepare_frame(frame, self.features)
        predicted = self.model.predict(x) if len(x) else np.array([])
        if self.output_type == "string":
            values = pa.array([str(v) for v in predicted], pa.string())
        else:
            values = pa.array(predicted.tolist()).cast(CANONICAL[self.output_type])
        batch = batch.append_column(self.output, values)
        if self.probability:
            proba = self.model.predict_proba(x).max(axis=1) if len(x) else np.array([])
            batch = batch.append_column(f"{self.output}_probability",
                                        pa.array(proba, pa.float64()))
        return batch


def predict_map(ds: Any, info: dict[str, Any], *, artifact: Path, output: str,
                output_type: str, probability: bool, model_dir: Path | None) -> Any:
    return actor_pool_map(ds, PredictBatch, {
        "artifact": str(artifact), "features": info["features"], "output": output,
        "output_type": output_type, "probability": probability,
        "model_dir": str(model_dir) if model_dir else None},
        TEXT_BATCH_ROWS if info["task"] == "text_classification" else BATCH_ROWS)
