"""RouterDC (ours) and EmbedLLM (ours) on hand-built tables whose best routing is known."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from router.evaluate import ORACLE, evaluate, split_provider  # noqa: E402
from router.scoring import ScoreBook  # noqa: E402
from router.trained import (  # noqa: E402
    EmbedLLMConfig,
    RouterDCConfig,
    fit_embedllm,
    fit_routerdc,
    trained_baselines,
)
from router.trained.routerdc import sample_llm_loss, sample_sample_loss  # noqa: E402
from tests.router.helpers import two_topic_table  # noqa: E402

FAST_DC = RouterDCConfig(steps=150, eval_every=25, temperatures=[0.1], batch_size=32)
FAST_MF = EmbedLLMConfig(steps=150, eval_every=25, dims=[16], batch_size=32)
FITTERS = [(fit_routerdc, FAST_DC), (fit_embedllm, FAST_MF)]


def three_expert_data(n: int = 240, seed: int = 0):
    """Three topics, each with one expert model right 95% of the time; the others right 20%."""
    rng = np.random.default_rng(seed)
    centres = np.eye(16)[:3] * 3
    topic = rng.integers(0, 3, n)
    x = centres[topic] + 0.4 * rng.standard_normal((n, 16))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    expert = np.array([2, 0, 3])[topic]
    scores = (rng.random((n, 4)) < 0.2).astype(float)
    scores[np.arange(n), expert] = (rng.random(n) < 0.95).astype(float)
    return x, scores, topic % 2, expert


@pytest.mark.parametrize(("fit", "config"), FITTERS, ids=["routerdc", "embedllm"])
def test_routes_every_topic_to_its_expert(fit, config):
    x, scores, groups, expert = three_expert_data()
    router = fit(x, scores, groups, ["m0", "m1", "m2", "m3"], seed=42, config=config)
    x_new, _, _, expert_new = three_expert_data(n=120, seed=1)
    assert np.mean(router.order(x_new)[:, 0] == expert_new) >= 0.95
    assert router.chosen["steps"] <= config.steps and not router.chosen["peak_test"]


@pytest.mark.parametrize(("fit", "config"), FITTERS, ids=["routerdc", "embedllm"])
def test_training_is_deterministic_for_a_seed(fit, config):
    x, scores, groups, _ = three_expert_data(n=120)
    models = ["m0", "m1", "m2", "m3"]
    first = fit(x, scores, groups, models, seed=7, config=config).predict(x)
    again = fit(x, scores, groups, models, seed=7, config=config).predict(x)
    other = fit(x, scores, groups, models, seed=8, config=config).predict(x)
    assert np.array_equal(first, again)
    assert not np.allclose(first, other)


def test_routerdc_targets_rank_models_the_right_wrong_scores_tie():
    """Two models right on every item: the per-query targets (e.g. gold-option probabilities) decide."""
    x, scores, groups, expert = three_expert_data(n=120)
    tied = scores.copy()
    tied[:, 1] = tied[np.arange(len(x)), expert]  # m1 is exactly as right as each topic's expert
    targets = tied * np.where(np.arange(4) == 1, 0.9, 0.6)  # ... but more confident
    config = FAST_DC.model_copy(update={"top_k": 1})
    models = ["m0", "m1", "m2", "m3"]
    by_targets = fit_routerdc(x, tied, groups, models, seed=3, config=config, targets=targets)
    assert np.mean(by_targets.order(x)[:, 0] == 1) >= 0.95
    by_scores = fit_routerdc(x, tied, groups, models, seed=3, config=config)
    assert np.mean(by_scores.order(x)[:, 0] == 1) < 0.9, "without targets m1 has no edge over the experts"


def test_sample_llm_loss_contrasts_best_with_worst_and_masks_good_negatives():
    sims = torch.zeros((1, 3))
    # best model 0 vs the two worst (1, 2): softmax over three equal logits
    assert sample_llm_loss(sims, torch.tensor([[1.0, 0.0, 0.0]]), 1, 2).item() == pytest.approx(math.log(3))
    # model 1 scored 0.9 > 0.5: it is no negative, leaving [model 0, model 2]
    assert sample_llm_loss(sims, torch.tensor([[1.0, 0.9, 0.0]]), 1, 2).item() == pytest.approx(math.log(2))
    # a positive that scored 0 contributes nothing
    assert sample_llm_loss(sims, torch.tensor([[0.0, 0.0, 0.0]]), 1, 2).item() == 0.0


def test_sample_sample_loss_is_low_when_clusters_are_separated():
    clusters = np.array([0, 0, 1, 1, 2, 2])
    separated = torch.tensor(np.eye(3)[clusters] * 10, dtype=torch.float32)
    mixed = torch.tensor(np.eye(3)[[0, 1, 2, 0, 1, 2]], dtype=torch.float32)
    rng = np.random.default_rng(0)
    low = sample_sample_loss(separated, clusters, 2, rng).item()
    high = sample_sample_loss(mixed, clusters, 2, np.random.default_rng(0)).item()
    # cosine 1 to the same-cluster peer, 0 to both others (no temperature, as in the authors' code)
    assert low == pytest.approx(math.log(1 + 2 / math.e), rel=1e-5)
    assert high > low


def test_evaluate_adds_trained_rows_that_match_the_oracle_on_a_separable_table():
    table, embeddings = two_topic_table(n_per_topic=40)
    book = ScoreBook(table)
    extra = trained_baselines(
        ("routerdc", "embedllm"),
        routerdc=FAST_DC.model_copy(update={"clusters": 2}),
        embedllm=FAST_MF,
    )
    report = evaluate(
        table,
        embeddings,
        table_config(),
        [42, 999],
        split_provider(table, None, 0.6),
        book=book,
        trained=extra,
    )
    oracle = report.method(ORACLE).average(["mixed"])
    assert oracle == pytest.approx(100.0)
    for name in ("RouterDC (ours)", "EmbedLLM (ours)"):
        row = report.method(name)
        assert row.kind == "baseline" and len(row.per_seed) == 2
        assert row.average(["mixed"]) == pytest.approx(oracle)


def test_peak_test_step_is_labelled_and_unknown_names_fail():
    (peak,) = trained_baselines(("routerdc",), peak_test_step=True)
    assert "peak test step" in peak.label
    with pytest.raises(ValueError, match="modelsat"):
        trained_baselines(("modelsat",))


def table_config():
    from router.model import RouterConfig

    return RouterConfig(k=2, embedder="test", split_fraction=0.6)
