"""Fit a trained router: grid over hyper-parameters scored on a calibration holdout, then refit on all
calibration rows with the chosen point (or, as a labelled option, keep the test-peak checkpoint)."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from router.trained.training import (
    best_checkpoint,
    deterministic,
    filled_scores,
    holdout,
    require_torch,
    routed_metric,
)


@dataclass
class TestSet:
    """Only for the labelled "peak test step" option: the checkpoint that scores best on these rows."""

    embeddings: np.ndarray
    scores: np.ndarray
    groups: np.ndarray


@dataclass
class FittedRouter:
    """A trained router: model scores for new query embeddings, best first in :meth:`order`."""

    name: str
    models: list[str]
    module: Any
    predict_fn: Callable[[Any, Any], Any]
    chosen: dict[str, Any] = field(default_factory=dict)

    def predict(self, embeddings: np.ndarray) -> np.ndarray:
        torch = require_torch()
        self.module.eval()
        with torch.no_grad():
            return self.predict_fn(
                self.module, torch.as_tensor(np.asarray(embeddings, dtype=np.float32))
            ).numpy()

    def order(self, embeddings: np.ndarray) -> np.ndarray:
        """[rows, models] model indices, highest score first (ties: lower index)."""
        return np.argsort(-self.predict(embeddings), axis=1, kind="stable")


# (module, fit rows, hyper-parameters, seed, evaluate) -> checkpoints
Trainer = Callable[..., list]


def grid(space: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    keys = list(space)
    return [dict(zip(keys, values, strict=True)) for values in itertools.product(*(space[k] for k in keys))]


def fit_with_validation(
    name: str,
    embeddings: np.ndarray,
    scores: np.ndarray,
    groups: np.ndarray,
    models: list[str],
    *,
    space: Mapping[str, Sequence[Any]],
    build: Callable[[dict[str, Any]], Any],
    train: Callable[..., list],
    predict_fn: Callable[[Any, Any], Any],
    seed: int,
    validation_fraction: float,
    threads: int,
    peak_test: TestSet | None = None,
) -> FittedRouter:
    """Choose hyper-parameters and the number of steps on a holdout of the calibration rows, refit on all.

    ``train(module, rows, params, seed, evaluate)`` trains ``module`` on ``rows`` and returns
    checkpoints (``evaluate(module)`` every few steps). With ``peak_test`` the refit keeps the
    checkpoint with the best *test* metric: the paper's reporting, optimistic by construction.
    """
    torch = require_torch()
    x = np.asarray(embeddings, dtype=np.float32)
    y = filled_scores(scores)
    groups = np.asarray(groups)
    fit_rows, val_rows = holdout(groups, validation_fraction, seed)

    def metric_on(rows_x, rows_y, rows_g):
        tensor = torch.as_tensor(rows_x)
        return lambda module: routed_metric(predict_fn(module, tensor).numpy(), rows_y, rows_g)

    candidates = []
    for params in grid(space):
        with deterministic(seed, threads):
            module = build(params)
            checkpoints = train(
                module, fit_rows, params, seed, metric_on(x[val_rows], y[val_rows], groups[val_rows])
            )
        best = best_checkpoint(checkpoints)
        candidates.append((best.metric, params, best.step))
    best_metric = max(round(c[0], 9) for c in candidates)
    metric, params, step = next(c for c in candidates if round(c[0], 9) == best_metric)
    all_rows = np.arange(len(x))
    with deterministic(seed, threads):
        module = build(params)
        if peak_test is None:
            checkpoints = train(module, all_rows, {**params, "steps": step}, seed, None)
            chosen_step = step
        else:
            checkpoints = train(
                module,
                all_rows,
                params,
                seed,
                metric_on(peak_test.embeddings, filled_scores(peak_test.scores), peak_test.groups),
            )
            peak = best_checkpoint(checkpoints)
            chosen_step = peak.step
            checkpoints = [peak]
        module.load_state_dict(checkpoints[-1].state)
    return FittedRouter(
        name=name,
        models=list(models),
        module=module,
        predict_fn=predict_fn,
        chosen={**params, "steps": chosen_step, "validation": metric, "peak_test": peak_test is not None},
    )
