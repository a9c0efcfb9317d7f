"""Model-set selection: keep the models that rank well in many clusters.

s(m) = sum over clusters c of 1 / rank_c(m), with rank 1 the best model of c (ties broken by
global accuracy, then name). The ``budget`` models with the highest s(m) are kept; equal s(m)
are ordered by global accuracy, then name.
"""

from __future__ import annotations

import numpy as np

from router.model import Router
from router.profiles import rank_matrix


def selection_scores(router: Router) -> dict[str, float]:
    ranks = rank_matrix(router.profiles.scores, router.profiles.global_accuracy, router.models)
    usable = router.profiles.counts.sum(axis=1) > 0  # clusters with calibration data
    totals = (1.0 / ranks[usable]).sum(axis=0)
    return {name: float(totals[j]) for j, name in enumerate(router.models)}


def select_models(router: Router, budget: int) -> list[str]:
    if budget < 1:
        raise ValueError(f"budget must be >= 1 (got {budget})")
    scores = selection_scores(router)
    global_acc = dict(zip(router.models, router.profiles.global_accuracy.tolist(), strict=True))
    ranked = sorted(router.models, key=lambda m: (-round(scores[m], 12), -global_acc[m], m))
    return ranked[: min(budget, len(ranked))]


def selection_table(router: Router) -> list[tuple[str, float, float]]:
    """(model, s(m), global accuracy) best first."""
    scores = selection_scores(router)
    order = select_models(router, len(router.models))
    g = dict(zip(router.models, np.asarray(router.profiles.global_accuracy).tolist(), strict=True))
    return [(m, scores[m], g[m]) for m in order]
