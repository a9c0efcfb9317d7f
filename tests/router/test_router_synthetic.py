"""The router on hand-built correctness tables whose right answer is known."""

from __future__ import annotations

import numpy as np
import pytest

from router.evaluate import (
    AVENGERS,
    ORACLE,
    SweepPoint,
    choose_k,
    evaluate,
    split_provider,
    sweep_k,
    sweep_model_count,
)
from router.model import ArtifactError, Router, RouterConfig
from router.profiles import cluster_profiles
from router.scoring import ScoreBook
from router.selection import select_models, selection_scores
from router.split import hashed_split
from router.table import build_table

from .helpers import item, outcome, two_topic_table


def _eval(table, embeddings, config, seeds=(1, 2, 3)):
    book = ScoreBook(table)
    return evaluate(table, embeddings, config, list(seeds), split_provider(table, None, 0.5), book=book)


@pytest.mark.parametrize("clusterer", ["kmeans", "agglomerative", "gmm", "spectral", "birch"])
def test_two_separated_topics_router_reaches_oracle(clusterer):
    table, embeddings = two_topic_table()
    report = _eval(table, embeddings, RouterConfig(k=2, clusterer=clusterer))
    avengers, oracle = report.method(AVENGERS), report.method(ORACLE)
    assert oracle.mean("mixed") == pytest.approx(100.0)
    assert avengers.mean("mixed") == pytest.approx(oracle.mean("mixed"))
    # every single model is far below: the gain comes from routing
    assert max(report.method(m).mean("mixed") for m in ("A", "B", "C")) < 70.0
    assert report.routing_share["mixed"]["A"] == pytest.approx(0.5, abs=0.15)
    assert report.routing_share["mixed"]["C"] == 0.0


def test_soft_routing_variant_also_reaches_oracle():
    table, embeddings = two_topic_table()
    report = _eval(table, embeddings, RouterConfig(k=4, routing="soft", top_clusters=2, beta=9.0))
    assert report.method(AVENGERS).mean("mixed") == pytest.approx(100.0)


def test_all_models_tie_router_equals_best_single():
    # Every model is right on the same items; ties are broken by global accuracy, then name.
    items, samples = [], []
    rng = np.random.default_rng(3)
    for n in range(60):
        items.append(item("t", f"{n:03d}"))
        right = 1.0 if n % 2 else 0.0
        for model in ("m1", "m2", "m3"):
            samples.append(outcome("t", f"{n:03d}", model, 0, right))
    table = build_table(items, samples)
    embeddings = rng.standard_normal((len(table), 6))
    embeddings /= np.linalg.norm(embeddings, axis=1, keepdims=True)
    report = _eval(table, embeddings, RouterConfig(k=8))
    best = next(m for m in report.methods if m.name.startswith("Best Single"))
    assert report.method(AVENGERS).per_seed == best.per_seed
    assert report.routing_share["t"] == {"m1": 1.0, "m2": 0.0, "m3": 0.0}


def test_profiles_fall_back_to_global_accuracy_for_empty_clusters():
    labels = np.array([0, 0, 1])
    scores = np.array([[1.0, 0.0], [1.0, np.nan], [0.0, 1.0]])
    profiles = cluster_profiles(labels, 3, scores, shrinkage=0.0)
    assert profiles.global_accuracy.tolist() == pytest.approx([2 / 3, 0.5])
    assert profiles.scores[0].tolist() == pytest.approx([1.0, 0.0])
    assert profiles.scores[2].tolist() == pytest.approx([2 / 3, 0.5])  # empty cluster
    shrunk = cluster_profiles(labels, 3, scores, shrinkage=1.0)
    assert shrunk.scores[1, 0] == pytest.approx((0.0 + 2 / 3) / 2)


def _fitted(table, embeddings, **config):
    book = ScoreBook(table)
    return Router.fit(
        embeddings, book.mean, table.models, RouterConfig(**config), calibration_keys=table.keys
    )


def test_selection_score_prefers_models_that_win_clusters():
    table, embeddings = two_topic_table()
    router = _fitted(table, embeddings, k=2)
    scores = selection_scores(router)
    # A and B each rank 1st in one cluster and 2nd/3rd in the other; C is 2nd in both.
    assert scores == pytest.approx({"A": 1 + 1 / 3, "B": 1 + 1 / 3, "C": 1.0})
    assert select_models(router, 2) == ["A", "B"]  # s(A) == s(B), equal global accuracy: by name
    assert select_models(router, 1) == ["A"]
    assert select_models(router, 10) == ["A", "B", "C"]
    with pytest.raises(ValueError):
        select_models(router, 0)


def test_artifact_round_trip(tmp_path):
    table, embeddings = two_topic_table()
    router = _fitted(table, embeddings, k=3, seed=7, embedder="st:test-model")
    path = router.save(tmp_path / "router")
    assert path.suffix == ".npz" and path.with_suffix(".json").is_file()
    loaded = Router.load(path)
    assert loaded.meta == router.meta
    assert loaded.config.seed == 7 and loaded.config.embedder == "st:test-model"
    assert loaded.calibration_keys == router.calibration_keys
    np.testing.assert_array_equal(loaded.order(embeddings), router.order(embeddings))
    assert loaded.route_embeddings(embeddings[:3], top_n=2) == router.route_embeddings(
        embeddings[:3], top_n=2
    )

    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(ArtifactError):
        Router.load(tmp_path / "junk.npz")
    with pytest.raises(ArtifactError):
        Router.load(tmp_path / "missing.npz")


def test_incremental_add_model_matches_full_profile_without_reclustering():
    table, embeddings = two_topic_table()
    book = ScoreBook(table)
    without_b = [m for m in table.models if m != "B"]
    cols = [table.models.index(m) for m in without_b]
    router = Router.fit(
        embeddings, book.mean[:, cols], without_b, RouterConfig(k=2), calibration_keys=table.keys
    )
    b = table.models.index("B")
    grown = router.add_model("B", {key: book.mean[i, b] for i, key in enumerate(table.keys)})
    assert grown.models == ["A", "C", "B"]
    np.testing.assert_array_equal(grown.centroids, router.centroids)  # not re-clustered
    full = cluster_profiles(
        router.calibration_labels,
        2,
        book.mean[:, [table.models.index(m) for m in grown.models]],
        shrinkage=router.config.shrinkage,
    )
    np.testing.assert_allclose(grown.profiles.scores, full.scores)
    beta_rows = [i for i, (_, item_id) in enumerate(table.keys) if item_id.startswith("beta")]
    assert {r[0] for r in grown.route_embeddings(embeddings[beta_rows])} == {"B"}
    with pytest.raises(ValueError):
        grown.add_model("B", {})


def test_sweeps_produce_one_point_per_setting():
    table, embeddings = two_topic_table()
    book = ScoreBook(table)
    split_for = split_provider(table, None, 0.6)
    points = sweep_k(table, embeddings, RouterConfig(), [1, 2, 8], [1, 2], split_for, book=book)
    assert [p.k for p in points] == [1, 2, 8]
    assert points[1].test == pytest.approx(100.0)
    assert points[0].test < points[1].test  # one cluster cannot separate the topics
    curve = sweep_model_count(table, embeddings, RouterConfig(k=2), [1], split_for, book=book)
    assert [c.budget for c in curve] == [1, 2, 3]
    assert curve[1].test == pytest.approx(100.0) and curve[0].test < 100.0


@pytest.mark.parametrize("folds", [5, None])
def test_k_is_chosen_on_validation_inside_calibration(folds):
    table, embeddings = two_topic_table()
    book = ScoreBook(table)
    points = sweep_k(
        table,
        embeddings,
        RouterConfig(),
        [1, 2],
        [1, 2],
        split_provider(table, None, 0.6),
        book=book,
        validation_folds=folds,
    )
    # one cluster routes everything to one model (about half right); two clusters separate the topics
    assert points[1].validation == pytest.approx(100.0)
    assert points[0].validation < 75.0
    assert choose_k(points) == 2


def test_choose_k_ignores_the_test_column_and_prefers_fewer_clusters_on_ties():
    def point(k, validation, test):
        return SweepPoint(k=k, validation=validation, validation_std=0.0, test=test, test_std=0.0)

    assert choose_k([point(16, 58.0, 60.0), point(64, 59.0, 50.0)]) == 64
    assert choose_k([point(64, 59.0, 50.0), point(16, 59.0, 60.0)]) == 16
    with pytest.raises(ValueError):
        choose_k([])


def test_ood_tasks_never_calibrate():
    table, embeddings = two_topic_table()
    split = hashed_split(table.keys, fraction=0.5, seed=1, ood_tasks={"mixed"})
    assert not split.calibration and len(split.test) == len(table)


def test_incremental_helpers_from_a_table():
    from router.incremental import add_dataset, add_model_from_table

    table, embeddings = two_topic_table()
    book = ScoreBook(table)
    alpha = [i for i, (_, item_id) in enumerate(table.keys) if item_id.startswith("alpha")]
    only_ac = table.with_models(["A", "C"])
    router = Router.fit(
        embeddings[alpha],
        book.mean[alpha][:, [0, 2]],
        ["A", "C"],
        RouterConfig(k=2),
        calibration_keys=[table.keys[i] for i in alpha],
    )
    # a new model: profiled on the existing (alpha-only) clusters
    grown = add_model_from_table(router, table, "B")
    np.testing.assert_array_equal(grown.centroids, router.centroids)
    assert grown.models == ["A", "C", "B"]
    with pytest.raises(ValueError):
        add_model_from_table(router, only_ac, "B")
    # a new dataset (the beta topic): re-clustered on the union, so beta queries now get their own cluster
    beta_keys = [k for k in table.keys if k[1].startswith("beta")]
    union = add_dataset(grown, table, embeddings, beta_keys)
    assert union.meta.n_calibration == len(table)
    assert not np.array_equal(union.centroids, grown.centroids)
    beta_rows = [table.index[k] for k in beta_keys]
    assert {r[0] for r in union.route_embeddings(embeddings[beta_rows])} == {"B"}


def test_top_n_model_switch_scoring_from_stored_answers():
    # item 0: model X (ranked first) is inconsistent and wrong-leaning; Y agrees with itself on the right answer.
    items = [item("t", "0"), item("t", "1")]
    samples = [
        outcome("t", "0", "X", 0, 0.0, "5"),
        outcome("t", "0", "X", 1, 1.0, "6"),
        outcome("t", "0", "Y", 0, 1.0, "6"),
        outcome("t", "0", "Y", 1, 1.0, "6.0"),
        outcome("t", "1", "X", 0, 1.0, "2"),
        outcome("t", "1", "X", 1, 1.0, "2"),
        outcome("t", "1", "Y", 0, 0.0, "3"),
        outcome("t", "1", "Y", 1, 0.0, "3"),
    ]
    table = build_table(items, samples)
    numeric = lambda a, b: float(a) == float(b)  # noqa: E731
    one = ScoreBook(table, top_n=1, equivalence_for=lambda task: numeric)
    two = ScoreBook(table, top_n=2, equivalence_for=lambda task: numeric)
    rows = np.array([0, 1])
    x_first = np.array([[0, 1], [0, 1]])
    assert one.routed(rows, x_first).tolist() == [0.0, 1.0]  # SC tie on item 0 goes to "5" (drawn first)
    # default: the 2 stored samples are split across the 2 models, 1 each, so X's single "5" agrees with
    # itself and Model-Switch stops there: the same budget as Self-Consistency
    assert two.routed(rows, x_first).tolist() == [0.0, 1.0]
    assert two.routed_cost(rows, x_first).tolist() == [0.0, 0.0]  # no costs stored
    full = ScoreBook(table, top_n=2, split_budget=False, equivalence_for=lambda task: numeric)
    assert full.routed(rows, x_first).tolist() == [1.0, 1.0]  # switches to Y on item 0, stops at X on item 1
    assert ScoreBook(table, top_n=2, samples=4, equivalence_for=lambda task: numeric).routed(
        rows, x_first
    ).tolist() == [1.0, 1.0]  # a budget of 4 gives each model its 2 samples


def test_task_graders_decide_equivalence_and_code_uses_the_first_sample():
    from results.records import TaskInfo

    items = [item("quiz", "0"), item("prog", "0", category="code")]
    samples = [
        outcome("quiz", "0", "M", 0, 0.0, "C"),
        outcome("quiz", "0", "M", 1, 1.0, "(b)"),
        outcome("quiz", "0", "M", 2, 1.0, "B"),
        outcome("prog", "0", "M", 0, 0.0, "def f(): pass"),
        outcome("prog", "0", "M", 1, 1.0, "def f(): return 1"),
        outcome("prog", "0", "M", 2, 1.0, "def f(): return 1"),
    ]
    infos = {
        "quiz": TaskInfo(category="knowledge", grader="choice"),
        "prog": TaskInfo(category="code", grader="code", is_code=True),
    }
    table = build_table(items, samples, task_infos=infos)
    book = ScoreBook(table)
    quiz, prog = table.index[("quiz", "0")], table.index[("prog", "0")]
    assert book.single[quiz, 0] == 1.0  # "(b)" and "B" are one vote under the choice grader
    assert book.single[prog, 0] == 0.0  # no voting on programs: the first sample counts
    exact = ScoreBook(table, equivalence_for=lambda task: lambda a, b: a == b)
    assert exact.single[quiz, 0] == 0.0  # three different strings: tie goes to the first drawn


def test_reports_with_an_ood_task(tmp_path):
    from router.reports import markdown_table, write_report

    table, embeddings = two_topic_table()
    # a second copy of the beta topic marked out-of-distribution: never calibrated, still routed to B
    extra_items = [item("unseen", f"u{n}", category="logic", ood=True) for n in range(10)]
    extra = [
        outcome("unseen", f"u{n}", m, 0, 1.0 if m == "B" else 0.0) for n in range(10) for m in ("A", "B", "C")
    ]
    base_items = [item("mixed", k[1], q) for k, q in zip(table.keys, table.queries, strict=True)]
    base_samples = [
        outcome("mixed", k[1], m, 0, table.cells[i][j][0].score)
        for i, k in enumerate(table.keys)
        for j, m in enumerate(table.models)
    ]
    big = build_table(base_items + extra_items, base_samples + extra)
    beta_vector = embeddings[table.index[("mixed", "beta-000")]]
    big_embeddings = np.vstack(
        [embeddings[table.index[k]] if k[0] == "mixed" else beta_vector for k in big.keys]
    )
    report = evaluate(
        big, big_embeddings, RouterConfig(k=2), [1, 2], split_provider(big, None, 0.5), book=ScoreBook(big)
    )
    assert report.ood_tasks == ["unseen"] and report.in_distribution == ["mixed"]
    assert report.method(AVENGERS).mean("unseen") == pytest.approx(100.0)
    assert report.method("Max Expert").mean("unseen") == report.method(
        next(m.name for m in report.methods if m.name.startswith("Best Single"))
    ).mean("unseen")
    table3 = markdown_table(report, ood=True)
    assert table3.splitlines()[0] == "| Method | unseen | Avg |"
    written = write_report(report, tmp_path / "out")
    assert "Out-of-distribution" in written["markdown"].read_text()
    assert written["table3"].read_text().splitlines()[0].startswith("method,kind,unseen,avg")
    assert written["routing_share_png"].stat().st_size > 1000
