"""Fit a trained router: grid over hyper-parameters scored on a calibration holdout, then refit on all
calibration rows with the chosen point (or, as a labelled option, keep the test-peak checkpoint)."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from router.trained.training import (
    best_checkpoint,
    deterministic,
    filled_scores,
    holdout,
    require_torch,
    routed_metric,
)

InputKind = Literal["embeddings", "texts"]


def as_float_rows(rows: np.ndarray):
    return require_torch().as_tensor(np.asarray(rows, dtype=np.float32))


@dataclass
class TestSet:
    """Only for the labelled "peak test step" option: the checkpoint that scores best on these rows.

    ``inputs``: what the router reads for these rows (embeddings; RouterDC with an encoder swaps in
    the ``texts``)."""

    inputs: np.ndarray
    scores: np.ndarray
    groups: np.ndarray
    texts: list[str] | None = None


@dataclass
class FittedRouter:
    """A trained router: model scores for new queries, best first in :meth:`order`.

    ``input_kind``: whether it reads the router's query embeddings or the query texts (an encoder)."""

    name: str
    models: list[str]
    module: Any
    predict_fn: Callable[[Any, Any], Any]
    chosen: dict[str, Any] = field(default_factory=dict)
    prepare: Callable[[Any], Any] = as_float_rows
    input_kind: InputKind = "embeddings"

    def predict(self, inputs) -> np.ndarray:
        torch = require_torch()
        self.module.eval()
        with torch.no_grad():
            return self.predict_fn(self.module, self.prepare(inputs)).cpu().numpy()

    def order(self, inputs) -> np.ndarray:
        """[rows, models] model indices, highest score first (ties: lower index)."""
        return np.argsort(-self.predict(inputs), axis=1, kind="stable")

    def route(self, embeddings: np.ndarray, texts: list[str]) -> np.ndarray:
        """:meth:`order` of rows given both ways; the router picks the one it reads."""
        return self.order(embeddings if self.input_kind == "embeddings" else texts)


# (module, fit rows, hyper-parameters, seed, evaluate) -> checkpoints
Trainer = Callable[..., list]


def grid(space: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    keys = list(space)
    return [dict(zip(keys, values, strict=True)) for values in itertools.product(*(space[k] for k in keys))]


def fit_with_validation(
    name: str,
    inputs: np.ndarray,
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
    prepare: Callable[[np.ndarray], Any] = as_float_rows,
    input_kind: InputKind = "embeddings",
) -> FittedRouter:
    """Choose hyper-parameters and the number of steps on a holdout of the calibration rows, refit on all.

    ``train(module, rows, params, seed, evaluate)`` trains ``module`` on ``rows`` and returns
    checkpoints (``evaluate(module)`` every few steps); ``prepare`` turns rows of ``inputs`` into what
    ``predict_fn`` takes (a float tensor by default). With ``peak_test`` the refit keeps the
    checkpoint with the best *test* metric: the paper's reporting, optimistic by construction.
    """
    require_torch()
    x = np.asarray(inputs) if input_kind == "texts" else np.asarray(inputs, dtype=np.float32)
    y = filled_scores(scores)
    groups = np.asarray(groups)
    fit_rows, val_rows = holdout(groups, validation_fraction, seed)

    def metric_on(rows_x, rows_y, rows_g):
        rows = prepare(rows_x)
        return lambda module: routed_metric(predict_fn(module, rows).cpu().numpy(), rows_y, rows_g)

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
                metric_on(peak_test.inputs, filled_scores(peak_test.scores), peak_test.groups),
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
        prepare=prepare,
        input_kind=input_kind,
        chosen={**params, "steps": chosen_step, "validation": metric, "peak_test": peak_test is not None},
    )
