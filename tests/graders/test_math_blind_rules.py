"""Math rules found by the blind corpus (tests/graders/corpus_blind): reversed inequality chains, a text answer
without the blank's head noun, decimal golds that ask for a decimal, equations in a '... = 0' normal form."""

from __future__ import annotations

import pytest

from graders import GradeRequest, grade
from graders.math import answers_equivalent


def _reason(gold: str, response: str, **options) -> str:
    return grade(GradeRequest(grader="math", response=response, gold={"answer": gold}, options=options)).reason


@pytest.mark.parametrize(
    ("gold", "answer", "same"),
    [
        ("a > b > c", "c < b < a", True),
        ("x \\geq y > 0", "0 < y \\le x", True),
        ("p \\ge q", "q \\leq p", True),
        ("a > b > c", "a > c > b", False),
        ("a > b > c", "c > b > a", False),
        ("x \\ge 2", "x > 2", False),
    ],
)
def test_an_inequality_chain_equals_its_reverse(gold, answer, same):
    assert answers_equivalent(gold, answer) is same


@pytest.mark.parametrize(
    ("gold", "answer", "same"),
    [
        ("necessary and sufficient condition", "\\text{necessary and sufficient}", True),
        ("sampling survey", "\\text{Sampling}", False),  # one word left: too little to be the same phrase
        ("sufficient but not necessary condition", "\\text{necessary but not sufficient}", False),
        ("sufficient but not necessary condition", "\\text{sufficient but not necessary either}", False),
    ],
)
def test_a_text_answer_may_drop_the_blanks_head_noun(gold, answer, same):
    assert answers_equivalent(gold, answer) is same


def test_a_decimal_gold_rejects_a_fraction_only_with_the_option():
    asks = {"decimal_gold_asks_decimal": True}
    assert _reason("1.25", "\\boxed{\\tfrac{5}{4}}", **asks) == "wrong"
    assert _reason("1.25", "\\boxed{5/4}", **asks) == "wrong"
    assert _reason("1.25", "\\boxed{1.250}", **asks) == "right"
    assert _reason("\\frac{5}{4}", "\\boxed{\\frac{5}{4}}", **asks) == "right"  # fraction golds are untouched
    assert _reason("1.25", "\\boxed{\\tfrac{5}{4}}") == "right"  # default: numeric equivalence


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ("\\boxed{2x - y + 3z - 1 = 0}", "right"),
        ("\\boxed{2x - y + 3z = 1}", "right"),
        ("\\boxed{-2x + y - 3z + 1 = 0}", "wrong"),
        ("\\boxed{4x - 2y + 6z - 2 = 0}", "wrong"),
    ],
)
def test_an_equation_in_normal_form_keeps_its_sign_and_scale(answer, reason):
    assert _reason("2x - y + 3z - 1 = 0", answer) == reason


def test_an_equation_without_a_zero_side_is_compared_as_before():
    assert _reason("y = 2x + 1", "\\boxed{2x + 1 = y}") == "right"
