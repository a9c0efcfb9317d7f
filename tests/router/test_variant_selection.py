"""Choosing a router variant on validation: repeated CV folds, paired gains with corrected standard
errors, per-dataset clusters, empirical-Bayes shrinkage, and the K a report says was fitted."""

from __future__ import annotations

import numpy as np
import pytest

from router.cluster import fit_within_groups, split_k
from router.evaluate import (
    VariantPoint,
    choose_variant,
    corrected_standard_error,
    evaluate,
    score_variants,
    split_provider,
    validation_splits,
)
from router.model import Router, RouterConfig
from router.profiles import AUTO_MAX_SHRINKAGE, cluster_profiles
from router.reports import full_markdown
from router.scoring import ScoreBook
from router.split import hashed_folds
from router.table import build_table

from .helpers import item, outcome, two_topic_table

ITEMS = {("t", str(i)) for i in range(30)} | {("u", str(i)) for i in range(12)}


def test_validation_folds_are_deterministic_for_a_seed_and_each_repeat_partitions_the_items():
    first = validation_splits(ITEMS, 7, folds=3, repeats=2)
    again = validation_splits(ITEMS, 7, folds=3, repeats=2)
    assert [s.test for s in first] == [s.test for s in again]
    assert len(first) == 6
    assert [s.test for s in first[:3]] == [s.test for s in hashed_folds(ITEMS, n_folds=3, seed=7)]
    for repeat in (first[:3], first[3:]):
        assert set().union(*(s.test for s in repeat)) == ITEMS
        assert sum(len(s.test) for s in repeat) == len(ITEMS)
        assert all(s.calibration == ITEMS - s.test for s in repeat)
    assert [s.test for s in first[:3]] != [s.test for s in first[3:]]  # a repeat uses other folds
    assert [s.test for s in validation_splits(ITEMS, 8, folds=3)] != [s.test for s in first[:3]]
    with pytest.raises(ValueError):
        validation_splits(ITEMS, 7, folds=3, repeats=0)


def test_corrected_standard_error_adds_the_overlap_term():
    # s² = 5/3 over four values; (1/4 + 1/4) · 5/3 = 5/6
    assert corrected_standard_error([1.0, 2.0, 3.0, 4.0], 0.25) == pytest.approx(np.sqrt(5 / 6))
    assert corrected_standard_error([1.0], 0.25) == 0.0


def _point(name: str, validation: float, delta: float, delta_se: float, test: float) -> VariantPoint:
    return VariantPoint(
        name=name,
        config=RouterConfig(),
        validation=validation,
        validation_std=0.0,
        delta=delta,
        delta_se=delta_se,
        test=test,
        test_std=0.0,
    )


def test_a_variant_replaces_the_reference_only_when_its_paired_gain_beats_its_standard_error():
    paper = _point("paper", 60.0, 0.0, 0.0, 50.0)
    noisy = _point("noisy", 60.4, 0.4, 0.5, 99.0)  # higher mean, within noise, best test: ignored
    solid = _point("solid", 60.3, 0.3, 0.1, 10.0)
    assert choose_variant([paper, noisy]) is paper
    assert choose_variant([paper, noisy, solid]) is solid
    assert choose_variant([paper, noisy, solid], margin_se=0) is noisy  # plain best validation mean
    worse = _point("worse", 59.0, -1.0, 0.1, 99.0)
    assert choose_variant([paper, worse]) is paper
    with pytest.raises(ValueError):
        choose_variant([])


def test_score_variants_pairs_every_variant_on_the_same_folds():
    table, embeddings = two_topic_table()
    book = ScoreBook(table)
    points = score_variants(
        table,
        embeddings,
        [("one cluster", RouterConfig(k=1)), ("two clusters", RouterConfig(k=2))],
        [1, 2],
        split_provider(table, None, 0.6),
        book=book,
        validation_folds=3,
        validation_repeats=2,
    )
    one, two = points
    assert len(one.fold_scores) == len(two.fold_scores) == 2 * 2 * 3
    assert one.delta == 0.0 and one.delta_se == 0.0
    assert two.fold_scores == [100.0] * 12  # two clusters separate the topics on every fold
    assert two.delta == pytest.approx(100.0 - np.mean(one.fold_scores))
    assert two.delta > two.delta_se > 0
    assert choose_variant(points) is two


def test_split_k_shares_clusters_in_proportion_with_one_per_group():
    assert split_k([60, 30, 10], 10) == [6, 3, 1]
    assert split_k([990, 10], 4) == [3, 1]
    assert split_k([5, 1], 64) == [5, 1]  # never more clusters than items
    assert sum(split_k([700, 200, 100], 16)) == 16


def _merged_small_dataset():
    """Dataset 'big' (36 items) in two far-apart blobs where model A is right; dataset 'small'
    (4 items) in a third blob where only model B is right. Plain 2-means merges 'small' into one
    of big's halves, whose best model is A; per-dataset clusters keep it apart."""
    rng = np.random.default_rng(3)
    items, samples, vectors = [], [], []
    for task, axis, n, winner in (("big", 0, 18, "A"), ("big", 2, 18, "A"), ("small", 1, 4, "B")):
        for i in range(n):
            item_id = f"{axis}-{i}"
            items.append(item(task, item_id))
            for model in ("A", "B"):
                samples.append(outcome(task, item_id, model, 0, 1.0 if model == winner else 0.0))
            v = np.zeros(4)
            v[axis] = 1.0
            v[3] = (
                0.6 if task == "small" else 0.0
            )  # 'small' sits nearer big's axis-2 blob than its own centre
            v[2] += 0.8 if task == "small" else 0.0
            vectors.append(v + 0.02 * rng.standard_normal(4))
    table = build_table(items, samples)
    embeddings = np.zeros((len(items), 4))
    for record, v in zip(items, vectors, strict=True):
        embeddings[table.index[(record.task, record.item_id)]] = v
    return table, embeddings


def test_per_dataset_clusters_are_pure_and_route_a_small_dataset_to_its_own_best_model():
    table, embeddings = _merged_small_dataset()
    groups = np.array([0 if task == "big" else 1 for task, _ in table.keys])
    labels, centroids, owner = fit_within_groups(embeddings, 2, groups, seed=0)
    assert centroids.shape[0] == 2 and sorted(owner.tolist()) == [0, 1]
    assert all(len(set(groups[labels == c].tolist())) == 1 for c in range(2))
    small = [i for i, (task, _) in enumerate(table.keys) if task == "small"]
    scores = table.mean_scores()
    plain = Router.fit(
        embeddings, scores, table.models, RouterConfig(k=2, seed=0), calibration_keys=table.keys
    )
    assert {r[0] for r in plain.route_embeddings(embeddings[small])} == {
        "A"
    }  # merged: the big dataset's pick
    strat = Router.fit(
        embeddings,
        scores,
        table.models,
        RouterConfig(k=2, seed=0, stratify=True),
        calibration_keys=table.keys,
    )
    assert {r[0] for r in strat.route_embeddings(embeddings[small])} == {"B"}
    assert "kmeans-strat" in strat.config.slug()


def _with_constant_model(column: list[float]) -> np.ndarray:
    """Model X scores ``column``; model Y scores 0.5 on every item."""
    return np.array([[x, 0.5] for x in column])


def test_empirical_bayes_shrinks_the_model_by_cluster_interaction_by_its_estimated_noise():
    labels = np.array([0] * 4 + [1] * 4)
    # X: 3 of 4 right in cluster 0, 1 of 4 in cluster 1. Its interaction with the clusters
    # (±0.125 around the common gap) equals its paired sampling noise, so λ is the maximum: the
    # profile is the prior plus the cluster's common gap, the same for both models (a tie).
    noise = cluster_profiles(labels, 2, _with_constant_model([1, 1, 1, 0, 0, 0, 0, 1]), shrinkage="auto")
    np.testing.assert_allclose(noise.scores, [[0.625, 0.625], [0.375, 0.375]], atol=1e-5)
    # eight items each, 7 of 8 / 1 of 8: σ² = 1/32, τ² = 0.1875² − σ²/8 = 1/32, so λ = 1
    labels8 = np.array([0] * 8 + [1] * 8)
    signal = _with_constant_model([1] * 7 + [0] + [0] * 7 + [1])
    profile = cluster_profiles(labels8, 2, signal, shrinkage="auto").scores
    common, interaction, weight = 0.1875, 0.1875, 8 / 9
    assert profile[0, 0] == pytest.approx(0.5 + common + weight * interaction)
    assert profile[0, 1] == pytest.approx(0.5 + common - weight * interaction)
    # no within-cluster noise at all: λ = 0 and the profile is the raw mean
    clean = _with_constant_model([1] * 8 + [0] * 8)
    np.testing.assert_allclose(
        cluster_profiles(labels8, 2, clean, shrinkage="auto").scores, [[1.0, 0.5], [0.0, 0.5]], atol=1e-9
    )
    assert AUTO_MAX_SHRINKAGE > 1e5
    with pytest.raises(ValueError):
        RouterConfig(shrinkage=-1)
    assert "shrinkauto-task" in RouterConfig(shrinkage="auto", prior="task").slug()


def test_eval_report_gives_the_k_actually_fitted():
    table, embeddings = two_topic_table()
    distinct = np.round(embeddings * 2) / 2  # the two blobs collapse onto two distinct points
    distinct /= np.linalg.norm(distinct, axis=1, keepdims=True)
    book = ScoreBook(table)
    report = evaluate(table, distinct, RouterConfig(k=8), [1], split_provider(table, None, 0.6), book=book)
    assert report.fitted_k == [2]
    assert "K=2 fitted (K=8 requested)" in full_markdown(report)
    exact = evaluate(table, embeddings, RouterConfig(k=2), [1], split_provider(table, None, 0.6), book=book)
    assert exact.fitted_k == [2] and exact.k_description() == "K=2"


def test_route_fit_parses_per_dataset_clusters_and_automatic_shrinkage():
    import argparse

    from router.cli import _config, add_route_commands

    parser = argparse.ArgumentParser(prog="harness")
    add_route_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(
        ["route", "fit", "--run", "x", "--stratify", "--shrinkage", "auto", "--prior", "task"]
    )
    config = _config(args, 3)
    assert (config.stratify, config.shrinkage, config.prior) == (True, "auto", "task")
    assert _config(parser.parse_args(["route", "fit", "--run", "x", "--shrinkage", "4"]), 3).shrinkage == 4.0
    for bad in ("-1", "lots"):
        with pytest.raises(SystemExit):
            parser.parse_args(["route", "fit", "--run", "x", "--shrinkage", bad])
