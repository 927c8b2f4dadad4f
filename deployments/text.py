"""The `TextEncoder` Serve deployment (batched sentence embeddings) and the in-process
equivalent for an API outside Serve."""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

from ray import serve

from cluster.settings import load_settings
from deployments.tabular import apply_batching, batching_options, model_latency_metric
from pipelines.text import ModelMissing, SentenceEncoder, resolve_model_dir


class EncoderUnavailable(RuntimeError):
    """The model could not be loaded; the message says why and what to set."""


class LocalEncoder:
    """Loads the model lazily in this process."""

    def __init__(self, model_dir: str | None, threads: int | None = None) -> None:
        self._model_dir = model_dir
        self._threads = threads
        self._encoder: SentenceEncoder | None = None
        self._lock = asyncio.Lock()

    async def _get(self) -> SentenceEncoder:
        async with self._lock:
            if self._encoder is None:
                try:
                    path = resolve_model_dir(self._model_dir)
                except ModelMissing as exc:
                    raise EncoderUnavailable(str(exc)) from None
                self._encoder = await asyncio.to_thread(SentenceEncoder, path, self._threads)
            return self._encoder

    async def embed(self, texts: list[str]) -> list[list[float]]:
        encoder = await self._get()
        vectors = await asyncio.to_thread(encoder.encode, texts)
        return [list(map(float, v)) for v in vectors]


class HandleEncoder:
    def __init__(self, handle: Any) -> None:
        self.handle = handle

    async def embed(self, texts: list[str]) -> list[list[float]]:
        result = await self.handle.embed.remote(texts)
        if isinstance(result, dict) and "error" in result:
            raise EncoderUnavailable(str(result["error"]))
        return list(result)


@serve.deployment(name="TextEncoder", max_ongoing_requests=128,
                  ray_actor_options={"num_cpus": 0.25})
class TextEncoder:
    """Batched embeddings. A missing model directory does not fail the application: every
    call answers with the reason instead (the API turns it into a 503 with the fix)."""

    def __init__(self, settings_overrides: dict[str, Any]) -> None:
        settings = load_settings(**settings_overrides)
        # Ray sets OMP threads from num_cpus; torch would run one thread. Size it on purpose.
        threads = settings.nlp_threads or os.cpu_count() or 1
        self.error: str | None = None
        self.encoder: SentenceEncoder | None = None
        self.latency = model_latency_metric()
        try:
            self.encoder = SentenceEncoder(resolve_model_dir(settings.nlp_model_dir), threads)
        except ModelMissing as exc:
            self.error = str(exc)

    def reconfigure(self, user_config: dict[str, Any]) -> None:
        """`user_config` of the Serve config: batching, changed without a restart."""
        apply_batching(self._embed_batch, *batching_options(user_config, default_size=32,
                                                            default_wait=0.005))

    @serve.batch(max_batch_size=32, batch_wait_timeout_s=0.005)
    async def _embed_batch(self, texts: list[str]) -> list[list[float]]:
        assert self.encoder is not None
        # On the event loop, not a thread (see TabularPredictor.predict): requests that
        # arrive meanwhile queue up and form the next batch.
        started = time.perf_counter()
        vectors = self.encoder.encode(texts)
        self.latency.observe((time.perf_counter() - started) * 1000, {"deployment": "TextEncoder"})
        return [list(map(float, v)) for v in vectors]

    async def embed(self, texts: list[str]) -> Any:
        if self.error is not None:
            return {"error": self.error}
        # Each text is one item of the batch: texts from concurrent requests share a pass.
        vectors: list[list[float]] = await asyncio.gather(*[self._embed_batch(t) for t in texts])
        return vectors
