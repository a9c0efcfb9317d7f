"""Profile deviations from the paper's rule: priors, shrinkage, CI ties, several clusterings."""

from __future__ import annotations

import numpy as np
import pytest

from router.model import Router, RouterConfig
from router.profiles import Profiles, cluster_profiles, group_prior, tie_adjusted

from .helpers import item, outcome, two_topic_table


def test_the_paper_rule_is_the_default_raw_per_cluster_mean():
    config = RouterConfig()
    assert (config.shrinkage, config.tie_z, config.ensemble_ks, config.alpha) == (0.0, 0.0, [], 1.0)
    labels = np.array([0, 0, 0, 1])
    scores = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    profiles = cluster_profiles(labels, 2, scores)
    np.testing.assert_allclose(profiles.scores, [[2 / 3, 1 / 3], [0.0, 1.0]])


def test_dataset_prior_mixes_the_datasets_of_a_cluster_and_shrinkage_pulls_to_it():
    labels = np.array([0, 0, 0, 0, 1, 1])
    groups = np.array([0, 0, 0, 1, 1, 1])  # cluster 0: three items of dataset 0, one of dataset 1
    scores = np.array([[1.0], [1.0], [0.0], [0.0], [1.0], [1.0]])
    g = np.array([4 / 6])
    scores[3, 0] = 1.0  # dataset 0: 2 of 3 right; dataset 1: 3 of 3
    prior = group_prior(labels, 2, groups, scores, g)
    assert prior[0, 0] == pytest.approx(0.75 * 2 / 3 + 0.25 * 1.0)
    shrunk = cluster_profiles(labels, 2, scores, shrinkage=4.0, prior=prior)
    raw_sum, n = 3.0, 4
    assert shrunk.scores[0, 0] == pytest.approx((raw_sum + 4 * prior[0, 0]) / (n + 4))
    assert shrunk.raw[0, 0] == pytest.approx(0.75)


def test_confidence_interval_ties_go_to_the_model_with_the_better_prior():
    profiles = Profiles(
        scores=np.array([[0.52, 0.50, 0.10]]),
        counts=np.array([[25.0, 25.0, 25.0]]),
        global_accuracy=np.array([0.5, 0.5, 0.5]),
        prior=np.array([[0.40, 0.60, 0.90]]),
    )
    assert np.argmax(tie_adjusted(profiles, 0.0)[0]) == 0  # point estimates: model 0
    adjusted = tie_adjusted(profiles, 1.0)[0]
    assert np.argmax(adjusted) == 1  # 0.02 apart is within one standard error; model 2 is not tied
    assert adjusted[2] == pytest.approx(0.10)


def test_several_clusterings_combined_survive_save_and_load(tmp_path):
    table, embeddings = two_topic_table()
    scores = table.mean_scores()
    config = RouterConfig(k=2, ensemble_ks=[4, 8], shrinkage=2.0, prior="task", tie_z=1.0)
    router = Router.fit(embeddings, scores, table.models, config, calibration_keys=table.keys)
    assert router.meta.level_ks == [4, 8]
    loaded = Router.load(router.save(tmp_path / "r.npz"))
    assert np.array_equal(loaded.order(embeddings), router.order(embeddings))
    firsts = {r[0] for r in loaded.route_embeddings(embeddings[:40])} | {
        r[0] for r in loaded.route_embeddings(embeddings[40:])
    }
    assert firsts == {"A", "B"}
    slug = loaded.config.slug()
    assert all(part in slug for part in ("k2", "shrink2-task", "tie1-task", "ens4+8", "minilm", "s42"))
    grown = loaded.add_model("D", {k: 1.0 for k in table.keys})
    assert grown.route_embeddings(embeddings[:1])[0] == ["D"]


def test_parent_prior_uses_a_coarser_clustering():
    items, samples = [], []
    for n in range(20):
        items.append(item("t", f"{n:02d}"))
        samples.append(outcome("t", f"{n:02d}", "m", 0, float(n % 2)))
    rng = np.random.default_rng(1)
    x = rng.standard_normal((20, 4))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    from router.table import build_table

    table = build_table(items, samples)
    router = Router.fit(
        x,
        table.mean_scores(),
        ["m"],
        RouterConfig(k=6, prior="parent", parent_k=2, shrinkage=3.0),
        calibration_keys=table.keys,
    )
    assert set(router.calibration_groups.tolist()) == {0, 1}
    assert router.profiles.prior is not None and router.profiles.prior.shape == (6, 1)


def test_knn_routing_weights_the_nearest_calibration_queries_and_survives_save_and_load(tmp_path):
    table, embeddings = two_topic_table()
    config = RouterConfig(k=2, routing="knn", knn_k=5, knn_beta=20.0)
    router = Router.fit(embeddings, table.mean_scores(), table.models, config, calibration_keys=table.keys)
    loaded = Router.load(router.save(tmp_path / "knn.npz"))
    assert {r[0] for r in loaded.route_embeddings(embeddings[:40])} == {"A"}
    assert {r[0] for r in loaded.route_embeddings(embeddings[40:])} == {"B"}
    assert loaded.restricted_to(["B", "C"]).route_embeddings(embeddings[:1])[0] == ["C"]
    assert "knn-n5-b20" in loaded.config.slug()
