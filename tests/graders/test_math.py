from __future__ import annotations

import threading

import pytest

from graders import GradeRequest, grade_many, same_answer
from graders.math import extract_math_answer
from tests.graders.helpers import run


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        ("So $x = 2$ and the result is \\boxed{\\frac{1}{2}}.", "\\frac{1}{2}"),
        (
            "First \\boxed{3}, then corrected: \\boxed{\\left( 3, \\frac{\\pi}{2} \\right)}",
            "\\left( 3, \\frac{\\pi}{2} \\right)",
        ),
        ("\\fbox{42}", "42"),
        ("Thus the answer is $\\dfrac{3}{4}$.", "\\dfrac{3}{4}"),
        ("**Final Answer:** 17", "17"),
        ("The final answer is 1,000. I hope it is correct.", "1,000"),
        ("Final Answer: The final answer is 12. I hope it is correct.", "12"),
        ("Final Answer: The final answer is $-\\frac{3}{2}$. I hope it is correct.", "-\\frac{3}{2}"),
        ("Answer: \\boxed{\\{1, 2\\}}", "\\{1, 2\\}"),
        ("I computed 5 and 7 but I'm not sure.", None),
        ("truncated \\boxed{\\frac{1}{", None),
    ],
)
def test_extraction(response: str, expected: str | None) -> None:
    assert extract_math_answer(response) == expected


@pytest.mark.parametrize(
    ("gold", "answer"),
    [
        ("\\frac{1}{2}", "0.5"),
        ("\\frac{1}{2}", "\\dfrac12"),
        ("1000", "10^{3}"),
        ("1000", "1,000"),
        ("[2,5)", "[2, 5)"),
        ("(-\\infty, 3]", "(-\\infty,3]"),
        ("2\\sqrt{2}", "\\sqrt{8}"),
        ("\\frac{\\sqrt{3}}{2}", "\\frac{1}{2}\\sqrt{3}"),
        ("\\left( 3, \\frac{\\pi}{2} \\right)", "(3, \\pi/2)"),
        ("\\text{(C)}", "C"),
        ("x^2+2x+1", "(x+1)^2"),
    ],
)
def test_equivalent_answers_grade_right(gold: str, answer: str) -> None:
    result = run("math", f"Working it out, the answer is \\boxed{{{answer}}}.", gold)
    assert result.reason == "right", result
    assert result.score == 1.0


@pytest.mark.parametrize(
    ("gold", "answer"),
    [("\\frac{1}{2}", "0.25"), ("[2,5)", "[2,5]"), ("2\\sqrt{2}", "\\sqrt{2}"), ("10", "11")],
)
def test_different_answers_grade_wrong(gold: str, answer: str) -> None:
    result = run("math", f"\\boxed{{{answer}}}", gold)
    assert (result.reason, result.score) == ("wrong", 0.0)


def test_sympy_fallback_for_plain_expressions() -> None:
    from graders.math import sympy_equal

    assert sympy_equal("\\frac{6}{4}", "1.5")
    assert not sympy_equal("2", "3")


def test_no_answer_and_truncated_are_distinct() -> None:
    assert run("math", "Let me think about the triangle first.", "5").reason == "no_answer"
    assert (
        run("math", "Let me think about the triangle first and", "5", finish_reason="length").reason
        == "truncated"
    )
    assert run("math", None, "5", finish_reason=None).reason == "truncated"
    # An answer stated before the cut-off still counts.
    assert run("math", "so \\boxed{5}. Let me double", "5", finish_reason="length").reason == "right"


def test_integer_answer_for_aime() -> None:
    assert run("math", "The answer is \\boxed{033}", "33", integer_answer=True).reason == "right"
    assert run("math", "\\boxed{\\text{204}}", "204", integer_answer=True).reason == "right"
    wrong = run("math", "\\boxed{1204}", "204", integer_answer=True)
    assert wrong.reason == "wrong" and "outside" in wrong.detail
    assert run("math", "\\boxed{\\frac{1}{2}}", "204", integer_answer=True).reason == "wrong"


def test_same_answer_is_math_equivalence() -> None:
    assert same_answer("math", "\\frac{1}{2}", "0.5")
    assert not same_answer("math", "\\frac{1}{2}", "\\frac{1}{3}")
    assert same_answer("math", "033", "33", {"integer_answer": True})


def test_grading_from_a_non_main_thread() -> None:
    results = []
    worker = threading.Thread(target=lambda: results.append(run("math", "\\boxed{\\frac{2}{4}}", "0.5")))
    worker.start()
    worker.join(60)
    assert [r.reason for r in results] == ["right"]


def test_grading_in_a_process_pool() -> None:
    requests = [
        GradeRequest(grader="math", response=f"so the answer is \\boxed{{{a}}}", gold=g)
        for a, g in [("\\frac{1}{2}", "0.5"), ("3", "4"), ("10^{3}", "1000")]
    ]
    assert [r.reason for r in grade_many(requests, workers=2)] == ["right", "wrong", "right"]


def test_factorial_in_a_boxed_answer_is_kept():
    from graders import grade
    from graders.base import GradeRequest

    right = grade(GradeRequest(grader="math", response=r"So \boxed{\frac{1}{n!}}.", gold=r"\frac{1}{n!}"))
    wrong = grade(GradeRequest(grader="math", response=r"So \boxed{\frac{1}{n}}.", gold=r"\frac{1}{n!}"))
    assert right.reason == "right" and right.extracted.endswith("!}")
    assert wrong.reason == "wrong"


def test_math_verify_timeout_is_an_error_not_a_wrong_answer(monkeypatch):
    """Under load math-verify's alarm can fire mid-comparison; its default then returns False, which stored
    an equivalent answer as "wrong". A timeout must be an infrastructure error (regraded on resume)."""
    import math_verify
    from math_verify.errors import TimeoutException

    def timing_out_verify(*args, **kwargs):
        raise TimeoutException("Timeout during comparison")

    monkeypatch.setattr(math_verify, "verify", timing_out_verify)
    result = run("math", "So the answer is $\\boxed{(x+1)^2}$.", "x^2+2x+1")
    assert result.reason == "error", result
    assert "timed out" in result.detail
    from graders import same_answer

    assert same_answer("math", "(x+1)^2", "x^2+2x+1") is False
