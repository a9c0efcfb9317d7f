"""The public API: dispatch, models, voting equivalence, and the grading pool."""

from __future__ import annotations

import asyncio
import pickle

import pytest

from graders import (
    GOLD_MODELS,
    GRADER_NAMES,
    OPTIONS_MODELS,
    GradeRequest,
    GradingPool,
    grade,
    grade_many,
    is_votable,
    same_answer,
)
from graders.pool import GradingUnavailable

CODE_GOLD = {"tests": "assert double(2) == 4\n", "entry_point": "double"}


def test_registry_names_and_models() -> None:
    assert set(GRADER_NAMES) == {"math", "code", "choice", "label", "exact", "numeric", "knights_knaves", "korbench"}
    assert set(GOLD_MODELS) == set(OPTIONS_MODELS) == set(GRADER_NAMES)
    assert "tests" in GOLD_MODELS["code"].model_fields
    assert "integer_answer" in OPTIONS_MODELS["math"].model_fields
    assert not is_votable("code") and is_votable("math")


def test_unknown_grader_lists_known_names() -> None:
    with pytest.raises(ValueError, match="unknown grader 'maths'; known graders: choice, code, exact"):
        grade(GradeRequest(grader="maths", response="x", gold="1"))
    with pytest.raises(ValueError, match="unknown grader"):
        same_answer("nope", "a", "b")


def test_bad_options_name_the_grader_and_field() -> None:
    with pytest.raises(ValueError, match=r"grader 'math': invalid options .*integer_answr"):
        grade(GradeRequest(grader="math", response="\\boxed{1}", gold="1", options={"integer_answr": True}))


def test_requests_and_results_pickle() -> None:
    request = GradeRequest(grader="math", response="\\boxed{1}", gold="1")
    result = grade(pickle.loads(pickle.dumps(request)))
    assert pickle.loads(pickle.dumps(result)) == result


def test_grade_many_keeps_order_across_graders() -> None:
    requests = [
        GradeRequest(grader="math", response="\\boxed{\\frac{1}{2}}", gold="0.5"),
        GradeRequest(grader="code", response="def double(x):\n    return 2 * x", gold=CODE_GOLD),
        GradeRequest(grader="choice", response="Answer: B", gold="C"),
        GradeRequest(grader="numeric", response="The answer is 12.5%", gold=0.125),
        GradeRequest(grader="code", response="def double(x):\n    return x", gold=CODE_GOLD),
    ]
    expected = ["right", "right", "wrong", "right", "wrong"]
    assert [r.reason for r in grade_many(requests, workers=2)] == expected
    assert [r.reason for r in grade_many(requests, workers=0)] == expected


async def test_grading_pool_from_asyncio() -> None:
    requests = [
        GradeRequest(
            grader="math", response=f"so the answer is \\boxed{{{n}}}", gold=str(n if n % 2 else n + 1)
        )
        for n in range(6)
    ] + [GradeRequest(grader="code", response="def double(x):\n    return 2 * x", gold=CODE_GOLD)]
    async with GradingPool(workers=2) as pool:
        results = await asyncio.gather(*(pool.grade(r) for r in requests))
    assert [r.reason for r in results] == ["wrong", "right"] * 3 + ["right"]


async def test_grading_pool_time_limit_raises_instead_of_grading() -> None:
    slow = GradeRequest(
        grader="code",
        response="import time\ntime.sleep(10)\ndef double(x):\n    return 2 * x",
        gold=CODE_GOLD,
        options={"sandbox": {"timeout_s": 4}},
    )
    # A grading time-out is the harness' failure, not the model's: no grade is produced (the sample stays
    # ungraded and is graded again on resume), so pool.grade raises instead of returning an "error" grade.
    async with GradingPool(workers=1, timeout_s=0.5) as pool:
        with pytest.raises(GradingUnavailable, match=r"longer than 0\.5 s"):
            await pool.grade(slow)


def test_extraction_without_a_gold_answer_as_the_live_gateway_does():
    """The gateway votes on answers with no gold known: graders that read option texts from the gold must
    still extract (this returned None for every choice answer once option texts moved into the gold)."""
    from graders.registry import get_grader

    choice = get_grader("choice")
    assert choice.extract("Reasoning...\nAnswer: $B$", choice.parse_options({"letters": "A-D"}), None) == "B"
    exact = get_grader("exact")
    assert exact.extract("So the answer is (C).", exact.parse_options({}), None) == "(C)"
