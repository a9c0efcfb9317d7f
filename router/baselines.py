"""Reference routers evaluated on the same samples and splits as Avengers.

Each returns, for a set of test rows, model orders [rows, models] (best first) so the same
Self-Consistency / Model-Switch scoring applies to all of them.
"""

from __future__ import annotations

import numpy as np

from router.profiles import global_accuracy, model_order
from router.scoring import ScoreBook


def fixed_order(n_rows: int, first: int, n_models: int) -> np.ndarray:
    rest = [j for j in range(n_models) if j != first]
    return np.tile(np.array([first, *rest], dtype=np.int64), (n_rows, 1))


def calibration_accuracy(book: ScoreBook, calibration_rows: np.ndarray) -> dict[str, np.ndarray]:
    """Per in-distribution task, each model's Self-Consistency accuracy on the calibration rows."""
    tasks = book.table.task_of[calibration_rows]
    return {
        task: book.single[calibration_rows[tasks == task]].mean(axis=0)
        for task in sorted(set(tasks.tolist()))
    }


def best_single(book: ScoreBook, calibration_rows: np.ndarray) -> int:
    """The model with the best mean over tasks of calibration accuracy (ties: lower name)."""
    per_task = calibration_accuracy(book, calibration_rows)
    average = np.mean(np.stack(list(per_task.values())), axis=0)
    names = book.table.models
    return min(range(len(names)), key=lambda j: (-round(float(average[j]), 12), names[j]))


def max_expert_orders(book: ScoreBook, calibration_rows: np.ndarray, test_rows: np.ndarray) -> np.ndarray:
    """Per task the best calibration model; tasks without calibration items (OOD) use the best single."""
    per_task = calibration_accuracy(book, calibration_rows)
    names = book.table.models
    fallback = best_single(book, calibration_rows)
    expert = {
        task: min(range(len(names)), key=lambda j, acc=acc: (-round(float(acc[j]), 12), names[j]))
        for task, acc in per_task.items()
    }
    tasks = book.table.task_of[test_rows]
    firsts = [expert.get(task, fallback) for task in tasks]
    return (
        np.stack([fixed_order(1, f, len(names))[0] for f in firsts])
        if firsts
        else np.empty((0, len(names)), int)
    )


def random_orders(n_rows: int, n_models: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.argsort(rng.random((n_rows, n_models)), axis=1)


def knn_orders(
    calibration_embeddings: np.ndarray,
    calibration_scores: np.ndarray,
    test_embeddings: np.ndarray,
    models: list[str],
    k: int = 10,
    chunk: int = 2048,
) -> np.ndarray:
    """Order models by their mean score on the k most similar (cosine) calibration queries."""
    k = min(k, calibration_embeddings.shape[0])
    g = global_accuracy(calibration_scores)
    filled = np.where(np.isnan(calibration_scores), g[None, :], calibration_scores)
    orders = []
    for start in range(0, test_embeddings.shape[0], chunk):
        sims = test_embeddings[start : start + chunk] @ calibration_embeddings.T
        neighbours = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        orders.append(model_order(filled[neighbours].mean(axis=1), g, models))
    return np.concatenate(orders) if orders else np.empty((0, len(models)), dtype=np.int64)
