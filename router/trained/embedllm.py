"""EmbedLLM (Zhuang et al., ICLR 2025): learned model embeddings and a query projection whose
element-wise product feeds a linear classifier predicting whether the model answers the query
correctly (matrix factorisation over the correctness matrix). Route to the argmax.

Here the query side is the router's frozen embedder (MiniLM) plus the trainable projection; the
targets are the stored per-item mean scores (soft labels for k/10 tasks), binary cross-entropy.
Embedding size, learning rate and the number of steps are chosen on a calibration holdout.
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from router.trained.fitting import FittedRouter, TestSet, fit_with_validation
from router.trained.training import balanced_weights, filled_scores, require_torch, train_steps

NAME = "EmbedLLM (ours)"


class EmbedLLMConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dims: list[int] = Field(default=[64, 128], min_length=1, description="embedding size grid, by validation")
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

        return train_steps(
            module,
            loss_of_batch,
            len(rows),
            steps=params.get("steps", config.steps),
            batch_size=config.batch_size,
            lr=params["lr"],
            weight_decay=config.weight_decay,
            seed=train_seed,
            eval_every=config.eval_every,
            evaluate=evaluate,
            weights=balanced_weights(groups[rows]),
            patience=config.patience,
        )

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
