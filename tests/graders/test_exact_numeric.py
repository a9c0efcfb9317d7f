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


KK_GOLD = {"Zoey": "knave", "Oliver": "knight"}


def test_knights_and_knaves() -> None:
    right = (
        "Assume Zoey is a knight... contradiction.\nCONCLUSION:\n(1) Zoey is a knave\n(2) Oliver is a knight"
    )
    result = run("exact", right, KK_GOLD, kk=True)
    assert (result.reason, result.extracted) == ("right", "Zoey=knave; Oliver=knight")
    # Reasoning mentions the wrong roles first; the conclusion decides.
    assert (
        run(
            "exact",
            "If Zoey is a knight then Oliver is a knave. Therefore Zoey is not a knight and Oliver is a knight.",
            KK_GOLD,
            kk=True,
        ).reason
        == "right"
    )
    assert run("exact", "Zoey is a knight, and Oliver is a knave.", KK_GOLD, kk=True).reason == "wrong"
    partial = run("exact", "Oliver is a knight.", KK_GOLD, kk=True)
    assert partial.reason == "wrong" and "Zoey" in partial.detail
    assert run("exact", "I need more information.", KK_GOLD, kk=True).reason == "no_answer"
    assert (
        run("exact", "Zoey is a knave. Oliver is a knight.", {"Zoey": False, "Oliver": True}, kk=True).reason
        == "right"
    )
    with pytest.raises(GraderConfigError, match="role"):
        run("exact", "x", {"Zoey": "wizard"}, kk=True)
    assert same_answer("exact", "Zoey=knave; Oliver=knight", "Oliver=knight; Zoey=knave", {"kk": True})


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
