"""RouterDC (Chen et al., NeurIPS 2024) over frozen query embeddings, or with its encoder fine-tuned.

The paper fine-tunes mDeBERTa; the CPU default here freezes the router's own embedder (MiniLM) and
trains a small head on top; ``RouterDCConfig.encoder`` fine-tunes a Hugging Face encoder on the query
texts instead (the query tower, ``router/trained/towers.py``). Both use the paper's two losses (read
from shuhao02/RouterDC):

* sample-LLM: for each of the ``top_k`` best-scoring models of a query (skipped when it scored 0), a
  softmax over [that model, the ``last_k`` worst-scoring models] of cosine(query, model) / t, where a
  "worst" model that scored above 0.5 is masked out;
* sample-sample: per query, one query of the same k-means cluster against ``H`` queries of other
  clusters, softmax over cosine similarities of the query tower's outputs.

Routing: the model whose learned embedding is closest (cosine) to the query tower's output.
Differences from the authors' code: frozen encoder + MLP head instead of full fine-tuning (so a larger
learning rate), task-balanced batch sampling instead of truncating/repeating every dataset to 1000
items, the same-cluster positive excludes the query itself when another member is in the batch, and
the number of steps and the temperature are chosen on a calibration holdout (their default run keeps
the best checkpoint on the training files; their reported figures are the best test step).
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from router.trained.fitting import FittedRouter, TestSet, as_float_rows, fit_with_validation
from router.trained.towers import (
    Pooling,
    PretrainedEncoder,
    as_text_rows,
    encoder_tower,
    frozen_head_tower,
    load_encoder,
    resolve_device,
)
from router.trained.training import TrainingConfig, filled_scores, require_torch, train_configured

NAME = "RouterDC (ours)"
EMBEDDING_INIT_STD = 0.78  # the authors' initialisation of the model embeddings


class RouterDCConfig(TrainingConfig):
    hidden: int = Field(default=256, ge=1, description="width of the trainable head")
    dim: int = Field(default=128, ge=1, description="dimension of query and model embeddings")
    top_k: int = Field(default=3, ge=1, description="positive models per query (sample-LLM loss)")
    last_k: int = Field(default=3, ge=1, description="negative models per query (sample-LLM loss)")
    temperatures: list[float] = Field(default=[0.5, 1.0], min_length=1, description="grid, by validation")
    sample_loss_weight: float = Field(default=1.0, ge=0, description="weight of the sample-sample loss")
    clusters: int = Field(default=5, ge=2, description="k-means clusters for the sample-sample loss")
    negatives: int = Field(default=3, ge=1, description="H: other-cluster queries per query")
    # The authors' batch size and a fixed number of steps, evaluated every eval_every (no early stop):
    # on RouterDC's data these scored best on the calibration holdout (python -m router.trained.variants).
    batch_size: int = Field(default=16, ge=2)  # the sample-sample loss needs two queries per batch
    steps: int = Field(default=6000, ge=1)
    patience: int | None = Field(default=None, ge=1)
    weight_decay: float = Field(default=0.01, ge=0)
    # The paper's setting: fine-tune a query encoder end to end instead of the frozen embeddings + head.
    encoder: str | None = Field(
        default=None,
        description="Hugging Face model name or local folder to fine-tune ('minilm': the bundled MiniLM); "
        "None: frozen router embeddings + trainable head",
    )
    device: str = Field(default="auto", pattern="^(auto|cpu|cuda)$", description="auto: cuda if available")
    max_length: int = Field(default=512, ge=8, description="encoder: tokens per query (the authors' 512)")
    pooling: Pooling = Field(default="cls", description="encoder: 'cls' (the authors') or 'mean' token")
    encoder_learning_rate: float = Field(
        default=5e-5,
        gt=0,
        description="encoder: AdamW rate for all weights (the authors'); replaces the grid",
    )


def _module(tower, n_models: int, device: str):
    torch = require_torch()
    nn = torch.nn

    class RouterDCModel(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.tower = tower
            self.models = nn.Embedding(n_models, tower.out_dim)
            nn.init.normal_(self.models.weight, mean=0.0, std=EMBEDDING_INIT_STD)

        def forward(self, rows):
            h = self.tower(rows)
            return cosine(h, self.models.weight), h

    return RouterDCModel().to(device)


def display_name(config: RouterDCConfig) -> str:
    return NAME if config.encoder is None else f"{NAME}, {config.encoder} fine-tuned"


def cosine(a, b):
    torch = require_torch()
    return torch.nn.functional.normalize(a, dim=1) @ torch.nn.functional.normalize(b, dim=1).T


def sample_llm_loss(similarity, scores, top_k: int, last_k: int, rng: np.random.Generator | None = None):
    """The sample-LLM contrastive loss on [batch, models] similarities (already divided by t).

    Ties between equal scores (every right model of a 0/1 multiple-choice item) are broken at random
    with ``rng``: a fixed order would always make the same models the positives. (The authors' MC
    scores are probabilities, so their ranking among right models is by confidence.)
    """
    torch = require_torch()
    values = scores.cpu().numpy()
    scores = scores.to(similarity.device)
    if rng is not None:
        values = values + rng.random(values.shape) * 1e-6
    order = torch.as_tensor(np.argsort(-values, axis=1, kind="stable"), device=similarity.device)
    worst = torch.as_tensor(np.argsort(values, axis=1, kind="stable")[:, :last_k], device=similarity.device)
    negative = torch.gather(similarity, 1, worst)
    negative = negative.masked_fill(torch.gather(scores, 1, worst) > 0.5, float("-inf"))
    loss = similarity.new_zeros(())
    for i in range(min(top_k, similarity.shape[1])):
        best = order[:, i : i + 1]
        positive = torch.gather(similarity, 1, best)
        keep = (torch.gather(scores, 1, best) > 0).float().squeeze(1)
        log_p = torch.log_softmax(torch.cat([positive, negative], dim=1), dim=1)[:, 0]
        loss = loss + torch.mean(-log_p * keep)
    return loss


def sample_sample_loss(hidden, clusters: np.ndarray, negatives: int, rng: np.random.Generator):
    """The sample-sample (cluster) contrastive loss; queries without enough other-cluster peers are skipped."""
    torch = require_torch()
    clusters = np.asarray(clusters)
    n = len(clusters)
    same = clusters[:, None] == clusters[None, :]
    peers = same & ~np.eye(n, dtype=bool)
    draw = rng.random((n, n))
    # a random same-cluster peer (the query itself when it has none), H random other-cluster queries
    positive = np.where(peers.any(axis=1), np.where(peers, draw, -1.0).argmax(axis=1), np.arange(n))
    others = np.argsort(np.where(same, 2.0, draw), axis=1, kind="stable")[:, :negatives]
    usable = (~same).sum(axis=1) >= negatives
    if not usable.any():
        return hidden.new_zeros(())
    index = torch.as_tensor(np.column_stack([positive, others])[usable], device=hidden.device)
    rows = cosine(hidden, hidden)[torch.as_tensor(np.flatnonzero(usable), device=hidden.device)]
    chosen = torch.gather(rows, 1, index)
    return torch.mean(-torch.log_softmax(chosen, dim=1)[:, 0])


def cluster_ids(embeddings: np.ndarray, k: int, seed: int) -> np.ndarray:
    from sklearn.cluster import KMeans

    k = min(k, len(embeddings))
    return KMeans(n_clusters=k, random_state=seed, n_init=10).fit_predict(embeddings)


def _predict(module, rows):
    step = module.tower.predict_batch or max(len(rows), 1)
    return require_torch().cat([module(rows[i : i + step])[0] for i in range(0, len(rows), step)])


def fit_routerdc(
    embeddings: np.ndarray,
    scores: np.ndarray,
    groups: np.ndarray,
    models: list[str],
    *,
    seed: int,
    config: RouterDCConfig | None = None,
    peak_test: TestSet | None = None,
    targets: np.ndarray | None = None,
    texts: list[str] | None = None,
    encoder: PretrainedEncoder | None = None,
) -> FittedRouter:
    """Train on calibration rows only (``groups``: the task of each row, for validation and balancing).

    ``targets``: per-query scores the sample-LLM loss ranks and masks models by (RouterDC's released
    multiple-choice scores are the gold option's probability); validation always uses ``scores``.
    With ``config.encoder`` the query ``texts`` of the rows are encoded by the fine-tuned encoder
    (``encoder``: already loaded, else loaded here) and the router routes texts; ``embeddings`` then
    only give the k-means clusters of the sample-sample loss."""
    torch = require_torch()
    config = config or RouterDCConfig()
    device = resolve_device(config.device)
    clusters = cluster_ids(np.asarray(embeddings, dtype=np.float64), config.clusters, seed)
    if config.encoder is None:
        inputs = np.asarray(embeddings, dtype=np.float32)
        in_dim = inputs.shape[1]

        def tower(params):
            return frozen_head_tower(in_dim, config.hidden, config.dim)

        learning_rates = config.learning_rates
    else:
        if texts is None or len(texts) != len(embeddings):
            raise ValueError("RouterDC with an encoder needs the query text of every calibration row")
        pretrained = encoder or load_encoder(config.encoder)
        inputs = np.asarray(list(texts), dtype=object)
        if peak_test is not None:
            if peak_test.texts is None:
                raise ValueError("RouterDC with an encoder needs the query texts of the peak-test rows")
            peak_test = TestSet(
                np.asarray(list(peak_test.texts), dtype=object), peak_test.scores, peak_test.groups
            )

        def tower(params):
            return encoder_tower(pretrained, config.max_length, config.pooling)

        learning_rates = [config.encoder_learning_rate]
    y = torch.as_tensor(filled_scores(scores if targets is None else targets))
    groups = np.asarray(groups)

    def train(module, rows, params, train_seed, evaluate):
        def loss_of_batch(batch, rng):
            picked = rows[batch]
            similarity, hidden = module(prepared[picked])
            loss = sample_llm_loss(
                similarity / params["temperature"], y[picked], config.top_k, config.last_k, rng
            )
            if config.sample_loss_weight:
                loss = loss + config.sample_loss_weight * sample_sample_loss(
                    hidden, clusters[picked], config.negatives, rng
                )
            return loss

        return train_configured(module, loss_of_batch, rows, groups, config, params, train_seed, evaluate)

    prepare = as_float_rows if config.encoder is None else as_text_rows
    prepared = prepare(inputs)
    name = display_name(config)
    return fit_with_validation(
        name if peak_test is None else f"{name}, peak test step",
        inputs,
        scores,
        groups,
        models,
        space={"temperature": config.temperatures, "lr": learning_rates},
        build=lambda params: _module(tower(params), len(models), device),
        train=train,
        predict_fn=_predict,
        prepare=prepare,
        input_kind="embeddings" if config.encoder is None else "texts",
        seed=seed,
        validation_fraction=config.validation_fraction,
        threads=config.threads,
        peak_test=peak_test,
    )
