"""Metrics on tiny stores whose right answers were worked out by hand (see the comments)."""

from __future__ import annotations

import pytest

import graders
from harness.metrics import RunMetrics, TaskInfo, compute_metrics, pass_at_k
from results.store import ResultsStore
from tests.results.factories import graded, sample

TASK_INFO = {
    "gsm8k": TaskInfo(category="math", grader="math", grader_options={"tolerance": 0}),
    "math500": TaskInfo(category="math", grader="math"),
    "mbpp": TaskInfo(category="code", grader="code", is_code=True),
}


def equal(grader: str, a: str, b: str, options: dict) -> bool:
    return a == b


def fraction_aware(grader: str, a: str, b: str, options: dict) -> bool:
    """Stands in for the math grader's equivalence: 1/2 and 0.5 are the same answer."""
    canon = {"1/2": "0.5"}
    return canon.get(a, a) == canon.get(b, b)


# -- pass@k ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "c", "k", "expected"),
    [
        (5, 2, 1, 0.4),  # 1 - C(3,1)/C(5,1) = 1 - 3/5
        (5, 2, 2, 0.7),  # 1 - C(3,2)/C(5,2) = 1 - 3/10
        (5, 2, 4, 1.0),  # only 3 wrong samples: any 4 include a right one
        (5, 0, 3, 0.0),
        (10, 1, 5, 0.5),  # 1 - C(9,5)/C(10,5) = 1 - 126/252
        (1, 1, 1, 1.0),
    ],
)
def test_pass_at_k(n, c, k, expected):
    assert pass_at_k(n, c, k) == pytest.approx(expected)


@pytest.mark.parametrize(("n", "c", "k"), [(5, 6, 1), (5, 2, 6), (5, 2, 0)])
def test_pass_at_k_rejects_impossible_inputs(n, c, k):
    with pytest.raises(ValueError):
        pass_at_k(n, c, k)


# -- majority vote ties, through compute_metrics -----------------------------------------------------


def _sc(tmp_path, votes: list[tuple[str | None, float]], same=equal) -> float:
    """SC accuracy of one gsm8k item whose sample i has extracted answer / score votes[i]."""
    with ResultsStore(tmp_path / "sc") as s:
        s.write_samples(
            [graded("gsm8k", "1", "a", i, e, sc) for i, (e, sc) in reversed(list(enumerate(votes)))]
        )
        return compute_metrics(s, TASK_INFO, same_answer=same).task_metrics("gsm8k", "a").majority_accuracy


def test_majority_clear_winner(tmp_path):
    assert _sc(tmp_path, [("7", 0.0), ("8", 1.0), ("8", 1.0)]) == 1.0


def test_majority_tie_goes_to_group_with_earliest_sample(tmp_path):
    # A{0,3} vs B{1,2}: both size 2, A starts earlier; written in reverse order to show order comes from the index
    assert _sc(tmp_path, [("A", 1.0), ("B", 0.0), ("B", 0.0), ("A", 1.0)]) == 1.0


def test_majority_non_voters_do_not_count(tmp_path):
    # sample 0 has no answer, so B{1,4} (starts at 1) beats A{2,3}
    assert _sc(tmp_path, [(None, 0.0), ("B", 1.0), ("A", 0.0), ("A", 0.0), ("B", 1.0)]) == 1.0
    # three unanswered samples do not outvote one answer
    assert _sc(tmp_path / "2", [(None, 0.0), (None, 0.0), (None, 0.0), ("C", 1.0)]) == 1.0


def test_majority_nobody_voted_scores_zero(tmp_path):
    assert _sc(tmp_path, [(None, 0.0), (None, 0.0)]) == 0.0


def test_majority_uses_the_graders_equivalence(tmp_path):
    votes = [("1/2", 1.0), ("0.5", 1.0), ("3", 0.0), ("3", 0.0)]
    # {1/2, 0.5} ties {3, 3} and starts earlier: right
    assert _sc(tmp_path, votes, same=fraction_aware) == 1.0
    # with plain equality "3" has the only group of two: wrong
    assert _sc(tmp_path / "2", votes, same=equal) == 0.0


# -- whole runs ----------------------------------------------------------------------------------------


@pytest.fixture
def store(tmp_path):
    with ResultsStore(tmp_path / "run") as s:
        s.write_samples(
            [
                # model a, gsm8k: item 1 -> s0 1, mean 3/4, SC "42" -> 1
                graded("gsm8k", "1", "a", 0, "42", 1.0),
                graded("gsm8k", "1", "a", 1, "41", 0.0),
                graded("gsm8k", "1", "a", 2, "42", 1.0),
                graded("gsm8k", "1", "a", 3, "42", 1.0),
                # item 2 -> s0 0, mean 1/2, SC "8" -> 1
                graded("gsm8k", "2", "a", 0, "7", 0.0),
                graded("gsm8k", "2", "a", 1, "8", 1.0),
                graded("gsm8k", "2", "a", 2, "8", 1.0),
                graded("gsm8k", "2", "a", 3, None, 0.0),  # no_answer, does not vote
                # item 3 -> s0 1, mean 1/2, SC: fraction-aware {1/2,0.5} ties {3,3} and wins -> 1; plain eq -> 0
                graded("gsm8k", "3", "a", 0, "1/2", 1.0),
                graded("gsm8k", "3", "a", 1, "0.5", 1.0),
                graded("gsm8k", "3", "a", 2, "3", 0.0),
                graded("gsm8k", "3", "a", 3, "3", 0.0),
                # model b, gsm8k: item 1 sample 0 failed (an error, no score), others right
                sample("gsm8k", "1", "b", 0, response=None, error="503", error_kind="transient"),
                graded("gsm8k", "1", "b", 1, "42", 1.0),
                graded("gsm8k", "1", "b", 2, "42", 1.0),
                graded("gsm8k", "1", "b", 3, "42", 1.0),
                # item 2: truncated sample 0, sample 1 not graded yet (left out)
                graded("gsm8k", "2", "b", 0, None, 0.0, reason="truncated", finish_reason="length"),
                sample("gsm8k", "2", "b", 1),
                # model a, math500: one item, one right sample
                graded("math500", "1", "a", 0, "\\frac{1}{2}", 1.0),
                # model a, mbpp: item x c=2 of 5, item y c=5 of 5
                *[
                    graded("mbpp", "x", "a", i, f"code{i}", s)
                    for i, s in enumerate([0.0, 1.0, 0.0, 1.0, 0.0])
                ],
                *[graded("mbpp", "y", "a", i, f"code{i}", 1.0) for i in range(5)],
            ]
        )
        yield s


def test_task_metrics_model_a(store):
    metrics = compute_metrics(store, TASK_INFO, same_answer=fraction_aware)
    row = metrics.task_metrics("gsm8k", "a")
    assert (row.n_items, row.n_samples, row.samples_per_item_min, row.samples_per_item_max) == (3, 12, 4, 4)
    assert row.sample0_accuracy == pytest.approx(2 / 3)
    assert row.mean_accuracy == pytest.approx((0.75 + 0.5 + 0.5) / 3)
    assert row.majority_accuracy == pytest.approx(1.0)
    assert row.pass_at_k == {}  # not a code task
    assert row.counts.model_dump() == {
        "right": 7,
        "wrong": 4,
        "no_answer": 1,
        "truncated": 0,
        "error": 0,
        "ungraded": 0,
    }


def test_equivalence_changes_majority(store):
    row = compute_metrics(store, TASK_INFO, same_answer=equal).task_metrics("gsm8k", "a")
    assert row.majority_accuracy == pytest.approx(2 / 3)  # item 3 now votes for "3"


def test_errors_and_ungraded_samples_are_left_out_of_accuracy_and_coverage_says_so(store):
    row = compute_metrics(store, TASK_INFO, same_answer=equal).task_metrics("gsm8k", "b")
    # item 1: s0 failed (no score), mean 1, SC 1; item 2: s0 0, mean 0, SC 0 (nobody voted)
    assert (row.n_items, row.n_samples, row.samples_per_item_min, row.samples_per_item_max) == (2, 4, 1, 3)
    assert row.sample0_accuracy == pytest.approx(0.0)
    assert row.mean_accuracy == pytest.approx(0.5)
    assert row.majority_accuracy == pytest.approx(0.5)
    assert (row.counts.right, row.counts.error, row.counts.truncated, row.counts.ungraded) == (3, 1, 1, 1)
    assert row.coverage == pytest.approx(4 / 12), "3 items x 4 samples asked for, 4 graded"


def test_pass_at_k_for_code_tasks(store):
    row = compute_metrics(store, TASK_INFO, same_answer=equal).task_metrics("mbpp", "a")
    # item x: pass@1 = 2/5, pass@5 = 1; item y: 1 and 1; k=10 > n=5 is not reported
    assert row.pass_at_k == pytest.approx({1: 0.7, 5: 1.0})
    assert row.mean_accuracy == pytest.approx(0.7)
    assert row.sample0_accuracy == pytest.approx(0.5)
    assert row.majority_accuracy is None  # programs are not voted on


def test_category_macro_average(store):
    metrics = compute_metrics(store, TASK_INFO, same_answer=fraction_aware)
    math_a = metrics.category_metrics("math", "a")
    assert math_a.tasks == ["gsm8k", "math500"]
    assert math_a.n_items == 4
    assert math_a.sample0_accuracy == pytest.approx((2 / 3 + 1.0) / 2)
    assert math_a.mean_accuracy == pytest.approx((1.75 / 3 + 1.0) / 2)
    assert math_a.counts.right == 8
    math_b = metrics.category_metrics("math", "b")
    assert math_b.tasks == ["gsm8k"]
    assert math_b.mean_accuracy == pytest.approx(0.5)
    code_a = metrics.category_metrics("code", "a")
    assert code_a.pass_at_k == pytest.approx({1: 0.7, 5: 1.0})
    assert metrics.category_metrics("code", "b") is None
    overall_a = metrics.overall_metrics("a")
    assert overall_a.tasks == ["mbpp", "gsm8k", "math500"]  # ordered by category, then name
    assert overall_a.mean_accuracy == pytest.approx((0.7 + 1.75 / 3 + 1.0) / 3)
    assert overall_a.pass_at_k == pytest.approx({1: 0.7, 5: 1.0})
    assert metrics.models == ["a", "b"]


def test_model_order_and_json_round_trip(store):
    metrics = compute_metrics(store, TASK_INFO, same_answer=equal, models=["b", "a", "not-run"])
    assert metrics.models == ["b", "a"]
    assert [r.model for r in metrics.tasks if r.task == "gsm8k"] == ["b", "a"]
    assert RunMetrics.model_validate_json(metrics.model_dump_json()) == metrics


def test_missing_task_info_is_named(store):
    with pytest.raises(ValueError, match="mbpp"):
        compute_metrics(store, {k: v for k, v in TASK_INFO.items() if k != "mbpp"}, same_answer=equal)


def test_default_equivalence_is_graders_same_answer(store, monkeypatch):
    calls: list[tuple] = []

    def spy(grader_name, a, b, options):
        calls.append((grader_name, a, b, options))
        return fraction_aware(grader_name, a, b, options)

    monkeypatch.setattr(graders, "same_answer", spy, raising=False)
    metrics = compute_metrics(store, TASK_INFO)
    assert metrics.task_metrics("gsm8k", "a").majority_accuracy == pytest.approx(1.0)
    assert ("math", "1/2", "0.5", {"tolerance": 0}) in calls


def test_empty_store(tmp_path):
    with ResultsStore(tmp_path) as s:
        metrics = compute_metrics(s, TASK_INFO, same_answer=equal)
    assert metrics.tasks == [] and metrics.categories == [] and metrics.models == []
