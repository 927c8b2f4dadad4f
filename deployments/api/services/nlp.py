"""Embedding calls and loaded search indexes (kept per replica, small LRU)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import numpy as np

from deployments.api.context import ApiContext
from deployments.api.problems import ApiError
from deployments.text import EncoderUnavailable

INDEXES_PER_REPLICA = 4


async def embed(ctx: ApiContext, texts: list[str]) -> list[list[float]]:
    try:
        vectors: list[list[float]] = await ctx.encoder.embed(texts)
    except EncoderUnavailable as exc:
        raise ApiError(503, f"The NLP model is not available: {exc}") from None
    return vectors


def _read(path: str) -> tuple[np.ndarray, list[dict[str, Any]]]:
    import pyarrow.dataset as pads

    from pipelines.tables import rows_of

    table = pads.dataset(path, format="parquet").to_table()
    matrix = np.asarray(table.column("__embedding").to_pylist(), dtype=np.float32)
    rest = table.drop_columns(["__embedding"])
    names = rest.column_names
    return matrix, [dict(zip(names, r, strict=True)) for r in rows_of(rest)]


async def load_index(ctx: ApiContext, index_id: uuid.UUID, path: str
                     ) -> tuple[np.ndarray, list[dict[str, Any]]]:
    _indexes = ctx.search_indexes
    if index_id in _indexes:
        _indexes.move_to_end(index_id)
        cached: tuple[np.ndarray, list[dict[str, Any]]] = _indexes[index_id]
        return cached
    loaded = await asyncio.to_thread(_read, path)
    _indexes[index_id] = loaded
    while len(_indexes) > INDEXES_PER_REPLICA:
        _indexes.popitem(last=False)
    return loaded
