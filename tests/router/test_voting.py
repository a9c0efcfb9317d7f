"""Self-Consistency and Model-Switch over stored samples."""

from __future__ import annotations

import pytest

from router.voting import Sample, majority, model_switch, self_consistency


def s(answer, score):
    return Sample(answer, score)


def numeric_equal(a: str, b: str) -> bool:
    """A task equivalence that is looser than string equality (like the math grader's)."""
    return float(a) == float(b)


def test_majority_groups_by_the_task_equivalence():
    samples = [s("2", 0.0), s("4", 1.0), s("4.0", 1.0), s("2", 0.0), s("04", 1.0)]
    assert majority(samples)[0] == 0.0  # by string: "2" x2 beats "4", "4.0", "04"
    score, answer = majority(samples, numeric_equal)
    assert (score, answer) == (1.0, "4")


def test_ties_go_to_the_answer_drawn_first():
    assert majority([s("b", 1.0), s("a", 0.0), s("a", 0.0), s("b", 1.0)]) == (1.0, "b")
    assert majority([s("a", 0.0), s("b", 1.0), s("b", 1.0), s("a", 0.0)]) == (0.0, "a")


def test_unanswered_samples_do_not_vote_and_score_only_cells_use_the_mean():
    assert majority([s(None, 0.0), s(None, 0.0), s("x", 1.0)]) == (1.0, "x")
    assert majority([s(None, 0.7)]) == (0.7, None)
    assert majority([s(None, 1.0), s(None, 0.0), s(None, 0.0), s(None, 1.0)])[0] == pytest.approx(0.5)


def test_self_consistency_uses_the_first_k_samples_and_code_uses_the_first():
    samples = [s("a", 0.0), s("b", 1.0), s("b", 1.0)]
    assert self_consistency(samples) == 1.0
    assert self_consistency(samples, k=1) == 0.0
    assert self_consistency(samples, first_sample_only=True) == 0.0
    assert self_consistency([]) == 0.0


def test_model_switch_stops_at_a_consistent_model():
    first = [s("7", 1.0), s("7", 1.0)]
    second = [s("8", 0.0), s("8", 0.0), s("8", 0.0)]
    outcome = model_switch([first, second])
    assert outcome.models_used == 1 and outcome.stopped_early
    assert outcome.score == 1.0  # the second model's majority never got drawn


def test_model_switch_switches_on_disagreement_and_votes_over_everything():
    first = [s("7", 1.0), s("9", 0.0)]
    second = [s("9", 0.0), s("9", 0.0)]
    third = [s("7", 1.0), s("7", 1.0)]
    outcome = model_switch([first, second, third])
    assert outcome.models_used == 2 and outcome.stopped_early  # second model agrees with itself
    assert (outcome.score, outcome.answer) == (0.0, "9")  # "9" x3 vs "7" x1
    outcome = model_switch([first, [s("7", 1.0), s("9", 0.0)], third])
    assert outcome.models_used == 3 and not outcome.stopped_early
    assert outcome.answer == "7"  # 7 x4 vs 9 x2


def test_model_switch_budget_per_model_and_missing_models():
    first = [s("1", 0.0), s("2", 1.0), s("2", 1.0)]
    outcome = model_switch([[], first, [s("2", 1.0)]], k_per_model=1)
    assert outcome.models_used == 1 and outcome.answer == "1"  # one sample always agrees with itself
    assert model_switch([[], []]).score == 0.0
    coded = model_switch([[], [s(None, 1.0), s(None, 0.0)]], first_sample_only=True)
    assert (coded.score, coded.models_used) == (1.0, 2)


def test_unanswered_samples_are_not_consistent():
    outcome = model_switch([[s(None, 0.0), s(None, 0.0)], [s("5", 1.0)]])
    assert outcome.models_used == 2 and outcome.score == 1.0


def test_model_switch_on_score_only_cells_uses_the_first_model():
    outcome = model_switch([[s(None, 0.3)], [s(None, 1.0)], [s(None, 1.0)]])
    assert outcome.score == pytest.approx(0.3) and outcome.answer is None
