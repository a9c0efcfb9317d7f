"""Capability profiles: how well each model does on each cluster of calibration queries.

``profile[c, m] = (sum of m's mean sample scores on the calibration items of c + λ·g[m]) / (n[c, m] + λ)``
where ``g[m]`` is m's global calibration accuracy, ``n[c, m]`` the number of items of cluster c
that m answered, and λ the ``shrinkage`` pseudo-count. A cluster with no calibration item of a
model therefore gets exactly the global accuracy, and small clusters are pulled towards it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Profiles:
    scores: np.ndarray  # [clusters, models]
    counts: np.ndarray  # [clusters, models] calibration items behind each score
    global_accuracy: np.ndarray  # [models]


def global_accuracy(item_scores: np.ndarray) -> np.ndarray:
    """Mean over items of each column, ignoring missing (NaN) cells; 0 for a model with no data."""
    answered = ~np.isnan(item_scores)
    totals = np.where(answered, item_scores, 0.0).sum(axis=0)
    counts = answered.sum(axis=0)
    return np.divide(totals, counts, out=np.zeros(item_scores.shape[1]), where=counts > 0)


def cluster_profiles(
    labels: np.ndarray,
    n_clusters: int,
    item_scores: np.ndarray,
    *,
    shrinkage: float = 1.0,
    global_acc: np.ndarray | None = None,
) -> Profiles:
    """Profiles from calibration ``labels`` [n] and ``item_scores`` [n, models] (NaN = not answered)."""
    if shrinkage < 0:
        raise ValueError(f"shrinkage must be >= 0 (got {shrinkage})")
    item_scores = np.asarray(item_scores, dtype=np.float64)
    g = global_accuracy(item_scores) if global_acc is None else np.asarray(global_acc, dtype=np.float64)
    answered = ~np.isnan(item_scores)
    sums = np.zeros((n_clusters, item_scores.shape[1]))
    counts = np.zeros((n_clusters, item_scores.shape[1]))
    np.add.at(sums, labels, np.where(answered, item_scores, 0.0))
    np.add.at(counts, labels, answered.astype(np.float64))
    denominator = counts + shrinkage
    with np.errstate(invalid="ignore", divide="ignore"):
        scores = (sums + shrinkage * g[None, :]) / denominator
    scores = np.where(counts > 0, scores, g[None, :])
    return Profiles(scores=scores, counts=counts, global_accuracy=g)


def model_order(scores: np.ndarray, global_acc: np.ndarray, names: list[str]) -> np.ndarray:
    """Model indices best first for each row of ``scores`` [rows, models]: score, then global accuracy,
    then name."""
    scores = np.atleast_2d(scores)
    name_rank = np.argsort(np.argsort(np.array(names, dtype=object)))
    rows = []
    for row in scores:
        # lexsort: last key is primary.
        rows.append(np.lexsort((name_rank, -global_acc, -row)))
    return np.array(rows, dtype=np.int64)


def rank_matrix(scores: np.ndarray, global_acc: np.ndarray, names: list[str]) -> np.ndarray:
    """rank[c, m] = 1 for the best model of cluster c, 2 for the next, ..."""
    order = model_order(scores, global_acc, names)
    ranks = np.empty_like(order)
    rows = np.arange(order.shape[0])[:, None]
    ranks[rows, order] = np.arange(1, order.shape[1] + 1)[None, :]
    return ranks
