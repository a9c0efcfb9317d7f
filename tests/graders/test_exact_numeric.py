from __future__ import annotations

import pytest

from graders import GraderConfigError, same_answer
from tests.graders.helpers import run


@pytest.mark.parametrize(
    ("response", "gold", "options", "reason"),
    [
        ("Let's think step by step. ... So the answer is (A).", "(A)", {}, "right"),
        ("So the answer is A.", "(A)", {}, "right"),
        ("So the answer is (B) the second one.", "(A)", {}, "wrong"),
        ("Evaluating: not False is True. So the answer is True.", "True", {}, "right"),
        ("So the answer is **valid**.", "valid", {}, "right"),
        ("So the answer is invalid.", "valid", {}, "wrong"),
        ("So the answer is apple, banana, cherry.", "apple banana cherry", {"words": True}, "right"),
        ("So the answer is ] ] >.", "]]>", {"ignore_whitespace": True}, "right"),
        ("The result:\n-11520", "-11520", {}, "right"),
    ],
)
def test_exact(response: str, gold: str, options: dict, reason: str) -> None:
    assert run("exact", response, gold, **options).reason == reason


@pytest.mark.parametrize(
    ("response", "gold", "options", "reason"),
    [
        ("The change is 14.08 - 12 = 2.08, so the answer is 2.08.", 2.08, {}, "right"),
        ("so the answer is 2.1", "2.08", {}, "right"),  # within 1 %
        ("so the answer is 2.2", "2.08", {}, "wrong"),
        ("Revenue: $1,234.5 million. Answer: $1,234.5", 1234.5, {}, "right"),
        ("The net change was (3.2).", -3.2, {}, "right"),
        ("The answer is 12.5%", 0.125, {}, "right"),
        ("The answer is 12.5%", 12.5, {}, "right"),
        ("The answer is 12.5%", 0.125, {"percent": "as_number"}, "wrong"),
        ("The answer is 12.5%", 12.5, {"percent": "as_fraction"}, "wrong"),
        ("The answer is \u22124", -4, {}, "right"),
        ("I could not find the figures.", 5, {}, "no_answer"),
        ("We compute 5 + 7 = 12", 12, {"rel_tol": 0}, "right"),
    ],
)
def test_numeric(response: str, gold: float | str, options: dict, reason: str) -> None:
    assert run("numeric", response, gold, **options).reason == reason


def test_numeric_votes_and_errors() -> None:
    assert same_answer("numeric", "2.08", "2.081")
    assert not same_answer("numeric", "2.08", "3")
    with pytest.raises(GraderConfigError, match="no number"):
        run("numeric", "5", "n/a")
    with pytest.raises(GraderConfigError, match="rel_tol"):
        run("numeric", "5", 5, rel_tol=-1)


def test_yes_no_golds_are_graded_and_voted_as_yes_no():
    from graders import grade, same_answer
    from graders.base import GradeRequest

    def request(text):
        return GradeRequest(grader="numeric", response=text, gold={"answer": "no"})

    assert grade(request("Revenue fell, so the answer is no.")).reason == "right"
    assert grade(request("The answer is yes, it grew 12%.")).reason == "wrong"
    assert same_answer("numeric", "yes", "Yes") and not same_answer("numeric", "yes", "no")
    assert same_answer("numeric", "12.5%", "0.125")
