"""What RouterDC and EmbedLLM share: seeded deterministic torch, a calibration-only validation holdout,
checkpoint selection by a routing metric, and the grid search over hyper-parameters.

Everything here is CPU and single/dual-threaded on purpose: the heads are tiny and the embeddings
are frozen (precomputed), so a run is seconds, and a fixed thread count keeps float sums reproducible.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

TORCH_THREADS = 1


class TrainingConfig(BaseModel):
    """The optimisation settings RouterDC and EmbedLLM share (each sets its own defaults and grids)."""

    model_config = ConfigDict(extra="forbid")

    learning_rates: list[float] = Field(default=[1e-3], min_length=1, description="grid, by validation")
    steps: int = Field(default=2000, ge=1)
    batch_size: int = Field(default=64, ge=1)
    eval_every: int = Field(default=100, ge=1)
    patience: int | None = Field(
        default=8, ge=1, description="evaluations without improvement before stopping"
    )
    weight_decay: float = Field(default=1e-5, ge=0)
    validation_fraction: float = Field(default=0.2, gt=0, lt=1)
    threads: int = Field(default=1, ge=1)


def require_torch():
    try:
        import torch
    except ImportError as exc:  # torch comes with the `local` extra (sentence-transformers)
        raise RuntimeError(
            "the trained routers need torch (CPU is enough): pip install torch==2.13.0 "
            "--index-url https://download.pytorch.org/whl/cpu"
        ) from exc
    return torch


@contextlib.contextmanager
def deterministic(seed: int, threads: int = TORCH_THREADS) -> Iterator[None]:
    """Seed torch, force deterministic kernels and a fixed thread count; restore the process settings after."""
    torch = require_torch()
    previous_threads = torch.get_num_threads()
    previous_det = torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True)
    torch.manual_seed(seed)
    try:
        yield
    finally:
        torch.set_num_threads(previous_threads)
        torch.use_deterministic_algorithms(previous_det)


def filled_scores(scores: np.ndarray) -> np.ndarray:
    """A model with no graded sample for an item scores 0 there (as in router.scoring)."""
    return np.nan_to_num(np.asarray(scores, dtype=np.float32), nan=0.0)


def routed_metric(predicted: np.ndarray, scores: np.ndarray, groups: np.ndarray) -> float:
    """Mean over groups (tasks) of the mean score of the model ranked first; the router's test metric."""
    chosen = scores[np.arange(len(scores)), predicted.argmax(axis=1)]
    return float(np.mean([chosen[groups == g].mean() for g in np.unique(groups)]))


def holdout(groups: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(fit rows, validation rows): ``fraction`` of every group held out, seeded."""
    rng = np.random.default_rng(seed)
    fit, val = [], []
    for g in np.unique(groups):
        rows = rng.permutation(np.flatnonzero(groups == g))
        cut = max(1, int(round(len(rows) * fraction))) if len(rows) > 1 else 0
        val.append(rows[:cut])
        fit.append(rows[cut:])
    return np.sort(np.concatenate(fit)), np.sort(np.concatenate(val))


def balanced_weights(groups: np.ndarray) -> np.ndarray:
    """Sampling weights giving every group (task) the same share of the batches (RouterDC trains on
    the same number of samples per dataset)."""
    counts = {g: int((groups == g).sum()) for g in np.unique(groups)}
    w = np.array([1.0 / counts[g] for g in groups], dtype=np.float64)
    return w / w.sum()


@dataclass
class Checkpoint:
    step: int
    metric: float
    state: dict | None  # kept for the best checkpoint so far (and the last without evaluation) only


Evaluator = Callable[[object], float]


def train_steps(
    module,
    loss_of_batch: Callable[[np.ndarray, object], object],
    n_rows: int,
    *,
    steps: int,
    batch_size: int,
    lr: float,
    weight_decay: float,
    seed: int,
    eval_every: int,
    evaluate: Evaluator | None,
    weights: np.ndarray | None = None,
    patience: int | None = None,
) -> list[Checkpoint]:
    """AdamW for ``steps`` steps on batches drawn (seeded, weighted) from ``n_rows`` rows.

    Returns a checkpoint (``evaluate(module)``) every ``eval_every`` steps and at the end, the weights
    kept for the best one only (:func:`best_checkpoint`); without ``evaluate`` only the final state. ``patience``: stop after that many evaluations without
    a new best (early stopping; the later checkpoints could not be chosen on a tie anyway).
    """
    torch = require_torch()
    optimizer = torch.optim.AdamW(module.parameters(), lr=lr, weight_decay=weight_decay)
    rng = np.random.default_rng(seed)
    checkpoints: list[Checkpoint] = []
    for step in range(1, steps + 1):
        module.train()
        batch = rng.choice(n_rows, size=min(batch_size, n_rows), replace=weights is not None, p=weights)
        optimizer.zero_grad()
        loss = loss_of_batch(batch, rng)
        loss.backward()
        optimizer.step()
        if evaluate is not None and (step % eval_every == 0 or step == steps):
            module.eval()
            with torch.no_grad():
                metric = evaluate(module)
            checkpoints.append(Checkpoint(step, metric, None))
            best = _best_index(checkpoints)
            if best == len(checkpoints) - 1:  # one copy of the weights at a time (an encoder's are large)
                for earlier in checkpoints[:-1]:
                    earlier.state = None
                checkpoints[-1].state = {k: v.clone() for k, v in module.state_dict().items()}
            if patience is not None and len(checkpoints) - 1 - _best_index(checkpoints) >= patience:
                break
    if evaluate is None:
        checkpoints.append(Checkpoint(steps, float("nan"), module.state_dict()))
    return checkpoints


def train_configured(
    module,
    loss_of_batch: Callable[[np.ndarray, object], object],
    rows: np.ndarray,
    groups: np.ndarray,
    config: TrainingConfig,
    params: dict,
    seed: int,
    evaluate: Evaluator | None,
) -> list[Checkpoint]:
    """:func:`train_steps` on ``rows`` with a config's settings, the grid point's ``lr`` (and ``steps`` when
    the grid fixes it) and batches balanced across the rows' task groups."""
    return train_steps(
        module,
        loss_of_batch,
        len(rows),
        steps=params.get("steps", config.steps),
        batch_size=config.batch_size,
        lr=params["lr"],
        weight_decay=config.weight_decay,
        seed=seed,
        eval_every=config.eval_every,
        evaluate=evaluate,
        weights=balanced_weights(groups[rows]),
        patience=config.patience,
    )


def _best_index(checkpoints: Sequence[Checkpoint]) -> int:
    best = max(round(c.metric, 9) for c in checkpoints)
    return next(i for i, c in enumerate(checkpoints) if round(c.metric, 9) == best)


def best_checkpoint(checkpoints: Sequence[Checkpoint]) -> Checkpoint:
    """Highest metric; the earlier step on a tie."""
    return checkpoints[_best_index(checkpoints)]
