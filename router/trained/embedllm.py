"""EmbedLLM (Zhuang et al., ICLR 2025): learned model embeddings and a query projection whose
element-wise product feeds a linear classifier predicting whether the model answers the query
correctly (matrix factorisation over the correctness matrix). Route to the argmax.

Here the query side is the router's frozen embedder (MiniLM) plus the trainable projection; the
targets are the stored per-item mean scores (soft labels for k/10 tasks), binary cross-entropy.
Embedding size, learning rate and the number of steps are chosen on a calibration holdout.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from router.trained.fitting import FittedRouter, TestSet, fit_with_validation
from router.trained.training import TrainingConfig, filled_scores, require_torch, train_configured

NAME = "EmbedLLM (ours)"


class EmbedLLMConfig(TrainingConfig):
    dims: list[int] = Field(default=[64, 128], min_length=1, description="embedding size grid, by validation")


def _module(in_dim: int, n_models: int, dim: int):
    torch = require_torch()
    nn = torch.nn

    class MatrixFactorisation(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.models = nn.Embedding(n_models, dim)
            self.project = nn.Linear(in_dim, dim)
            self.classify = nn.Linear(dim, 1)

        def forward(self, x):
            q = self.project(x)
            return self.classify(q[:, None, :] * self.models.weight[None, :, :]).squeeze(-1)

    return MatrixFactorisation()


def _predict(module, x):
    return module(x)


def fit_embedllm(
    embeddings: np.ndarray,
    scores: np.ndarray,
    groups: np.ndarray,
    models: list[str],
    *,
    seed: int,
    config: EmbedLLMConfig | None = None,
    peak_test: TestSet | None = None,
) -> FittedRouter:
    torch = require_torch()
    config = config or EmbedLLMConfig()
    x = torch.as_tensor(np.asarray(embeddings, dtype=np.float32))
    y = torch.as_tensor(filled_scores(scores))
    groups = np.asarray(groups)

    def train(module, rows, params, train_seed, evaluate):
        def loss_of_batch(batch, rng):
            picked = rows[batch]
            return torch.nn.functional.binary_cross_entropy_with_logits(module(x[picked]), y[picked])

        return train_configured(module, loss_of_batch, rows, groups, config, params, train_seed, evaluate)

    return fit_with_validation(
        NAME if peak_test is None else f"{NAME}, peak test step",
        embeddings,
        scores,
        groups,
        models,
        space={"dim": config.dims, "lr": config.learning_rates},
        build=lambda params: _module(x.shape[1], len(models), params["dim"]),
        train=train,
        predict_fn=_predict,
        seed=seed,
        validation_fraction=config.validation_fraction,
        threads=config.threads,
        peak_test=peak_test,
    )
