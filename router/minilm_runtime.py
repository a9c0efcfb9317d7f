"""Forward passes for the bundled all-MiniLM-L6-v2 that give sentence-transformers' vectors, faster.

sentence-transformers computes: tokenise (pad to the batch's longest, truncate to 256 word pieces),
BERT, mean over the attention mask, L2 norm. Two backends compute the same thing:

- ``onnx``: ONNX Runtime on a graph exported from the bundled weights at first use and kept under
  the harness cache directory (``models/``). About 3x less CPU per short query than eager torch on
  the machines measured (README, "Serving the router"); needs onnxruntime and onnx (in the ``local`` extra).
- ``torch``: the bare transformer module under ``torch.inference_mode()``, without
  sentence-transformers' per-call machinery.

``$HARNESS_MINILM_BACKEND`` picks one (``auto``, the default: onnx when onnxruntime is installed,
else torch; ``sentence-transformers`` uses the library itself). Every backend gives unit vectors
within 1e-6 of sentence-transformers' (tests/gateway/test_minilm_runtime.py), so a router fitted
with one serves with another; fit and serve on one machine pick the same one.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import warnings
from abc import ABC, abstractmethod
from pathlib import Path

import numpy as np

from harness import settings

log = logging.getLogger(__name__)

BACKEND_ENV = "HARNESS_MINILM_BACKEND"
BACKENDS = ("auto", "onnx", "torch", "sentence-transformers")
MAX_SEQ_LENGTH = 256  # the model's sentence_bert_config.json
EXPORT_FORMAT = 1  # bump when the exported graph changes: old files are then not reused
_threads: int | None = None


class RuntimeUnavailable(RuntimeError):
    """The requested backend cannot run here (a package is missing)."""


def set_threads(threads: int | None) -> None:
    """CPU threads for MiniLM forward passes built after this call (None: the library default)."""
    global _threads
    _threads = threads


def chosen_backend() -> str:
    name = os.environ.get(BACKEND_ENV, "auto").strip() or "auto"
    if name not in BACKENDS:
        raise ValueError(f"${BACKEND_ENV}={name!r}: expected one of {', '.join(BACKENDS)}")
    return name


class MiniLMRuntime(ABC):
    """What SentenceTransformerEmbedder uses of a model: tokenizer, max_seq_length and encode()."""

    backend: str

    def __init__(self, model_dir: str | Path):
        from transformers import AutoTokenizer

        self.model_dir = Path(model_dir)
        self.tokenizer = AutoTokenizer.from_pretrained(str(self.model_dir))
        self.max_seq_length = MAX_SEQ_LENGTH

    @abstractmethod
    def _forward(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        """Unit-length mean-pooled vectors of one padded batch."""

    def encode(self, texts: list[str], batch_size: int = 64, **_ignored) -> np.ndarray:
        out = []
        for start in range(0, len(texts), batch_size):
            batch = self.tokenizer(
                texts[start : start + batch_size],
                padding=True,
                truncation="longest_first",
                max_length=self.max_seq_length,
                return_tensors="np",
            )
            ids = batch["input_ids"].astype(np.int64, copy=False)
            mask = batch["attention_mask"].astype(np.int64, copy=False)
            out.append(self._forward(ids, mask))
        return np.concatenate(out).astype(np.float32, copy=False)


def _pooling_module(bert):
    """BERT, mean pooling over the mask and L2 norm as one module (the graph that is exported)."""
    import torch

    class MeanPooledBert(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask):
            hidden = self.bert.embeddings(input_ids=input_ids, token_type_ids=torch.zeros_like(input_ids))
            mask = attention_mask.to(hidden.dtype)
            # The additive mask built here, not by transformers: its mask helpers bake the traced
            # sequence length into an exported graph.
            additive = (1.0 - mask[:, None, None, :]) * torch.finfo(hidden.dtype).min
            hidden = self.bert.encoder(hidden, attention_mask=additive).last_hidden_state
            weights = mask.unsqueeze(-1)
            pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2, dim=1)

    return MeanPooledBert().eval()


def _load_bert(model_dir: Path, attention: str):
    from transformers import AutoModel

    return AutoModel.from_pretrained(str(model_dir), attn_implementation=attention).eval()


class TorchMiniLM(MiniLMRuntime):
    backend = "torch"

    def __init__(self, model_dir: str | Path):
        super().__init__(model_dir)
        import torch

        if _threads:
            torch.set_num_threads(_threads)
        self._torch = torch
        # sdpa: a quarter less CPU than eager attention on padded batches, the same vectors.
        self._module = _pooling_module(_load_bert(self.model_dir, "sdpa"))

    def _forward(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        torch = self._torch
        with torch.inference_mode():
            return self._module(torch.from_numpy(input_ids), torch.from_numpy(attention_mask)).numpy()


def _weights_digest(model_dir: Path) -> str:
    digest = hashlib.sha256(f"format {EXPORT_FORMAT}".encode())
    for name in ("config.json", "model.safetensors"):
        with open(model_dir / name, "rb") as handle:
            while chunk := handle.read(1 << 22):
                digest.update(chunk)
    return digest.hexdigest()[:16]


_export_lock = threading.Lock()


def onnx_graph(model_dir: Path, cache_root: Path | None = None) -> Path:
    """The exported graph for these weights, exported now (a few seconds, needs torch and onnx) if absent."""
    root = (cache_root or settings.cache_dir()) / "models"
    path = root / f"minilm-{_weights_digest(model_dir)}.onnx"
    with _export_lock:
        if path.is_file():
            return path
        try:
            import onnx  # noqa: F401  (the exporter needs it)
            import torch
        except ImportError as exc:
            raise RuntimeUnavailable(
                f"exporting MiniLM to ONNX needs torch and onnx ({exc}): pip install 'avengers-harness[local]'"
            ) from exc
        root.mkdir(parents=True, exist_ok=True)
        module = _pooling_module(_load_bert(model_dir, "eager"))  # exports as plain ONNX ops
        example = torch.ones((2, 8), dtype=torch.int64)
        partial = path.with_suffix(f".{os.getpid()}.partial")
        log.info("exporting MiniLM to %s (once)", path)
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                module,
                (example, example),
                str(partial),
                dynamo=False,
                input_names=["input_ids", "attention_mask"],
                output_names=["embedding"],
                dynamic_axes={
                    "input_ids": {0: "batch", 1: "tokens"},
                    "attention_mask": {0: "batch", 1: "tokens"},
                    "embedding": {0: "batch"},
                },
                opset_version=17,
            )
        os.replace(partial, path)  # atomic: a concurrent process sees the whole file or none
        return path


class OnnxMiniLM(MiniLMRuntime):
    backend = "onnx"

    def __init__(self, model_dir: str | Path, cache_root: Path | None = None):
        try:
            import onnxruntime
        except ImportError as exc:
            raise RuntimeUnavailable(
                "the onnx MiniLM backend needs onnxruntime: pip install 'avengers-harness[local]'"
            ) from exc
        super().__init__(model_dir)
        self.graph = onnx_graph(self.model_dir, cache_root)
        options = onnxruntime.SessionOptions()
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
        options.inter_op_num_threads = 1
        # Idle pool threads sleep instead of spinning: spinning burnt a core per gateway embedding a
        # new query (26 ms CPU per request with 2 threads) that the event loop and the pool needed.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        if _threads:
            options.intra_op_num_threads = _threads
        self._session = onnxruntime.InferenceSession(
            str(self.graph), options, providers=["CPUExecutionProvider"]
        )

    def _forward(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        return self._session.run(None, {"input_ids": input_ids, "attention_mask": attention_mask})[0]


def load_minilm(model_dir: str | Path, backend: str | None = None):
    """The MiniLM model for ``backend`` (default ``$HARNESS_MINILM_BACKEND``, else auto); the
    sentence-transformers backend returns ``None`` (the caller loads the library itself)."""
    backend = backend or chosen_backend()
    if backend == "sentence-transformers":
        return None
    if backend == "torch":
        return TorchMiniLM(model_dir)
    if backend == "onnx":
        return OnnxMiniLM(model_dir)
    try:
        return OnnxMiniLM(model_dir)
    except RuntimeUnavailable as exc:
        log.info("MiniLM on torch: %s", exc)
        return TorchMiniLM(model_dir)
