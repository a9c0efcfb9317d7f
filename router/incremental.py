"""Growing a fitted router.

- A new model is profiled on the existing clusters from its scores on the router's calibration
  items: no re-clustering, the other models' profiles are untouched (:meth:`Router.add_model`).
- A new dataset changes the query distribution, so the clusters are refitted on the union of the
  router's calibration items and the new dataset's calibration items, with the same configuration.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from router.model import Router
from router.split import ItemKey
from router.table import OutcomeTable


def add_model_from_table(router: Router, table: OutcomeTable, model: str) -> Router:
    """Profile ``model`` (a model of ``table``) on ``router``'s clusters."""
    if model not in table.models:
        raise ValueError(f"model {model!r} has no samples in this run")
    column = table.mean_scores()[:, table.models.index(model)]
    scores = {key: float(column[i]) for key, i in table.index.items() if not np.isnan(column[i])}
    return router.add_model(model, scores)


def add_dataset(
    router: Router, table: OutcomeTable, embeddings: np.ndarray, new_calibration: Iterable[ItemKey]
) -> Router:
    """Refit ``router``'s configuration on its calibration items plus ``new_calibration``.

    ``table``/``embeddings`` must cover both the router's calibration items and the new ones.
    """
    keys = list(dict.fromkeys([*router.calibration_keys, *new_calibration]))
    missing = [k for k in keys if k not in table.index]
    if missing:
        raise ValueError(f"{len(missing)} calibration items are not in the run, e.g. {missing[0]}")
    rows = np.array([table.index[k] for k in keys], dtype=np.int64)
    candidates = [m for m in router.models if m in table.models]
    scores = table.mean_scores()[:, [table.models.index(m) for m in candidates]]
    return Router.fit(
        embeddings[rows],
        scores[rows],
        candidates,
        router.config,
        calibration_keys=keys,
        split_source=router.meta.split_source,
    )
