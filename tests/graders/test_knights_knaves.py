"""Knights and Knaves role parsing (graders/knights_knaves.py): anchored on the last conclusion; a role that
is unstated, hedged or only hypothetical there is missing, so the answer is wrong."""

from __future__ import annotations

import pytest

from graders import GraderConfigError, same_answer
from tests.graders.helpers import run

GOLD = {"Zoey": "knave", "Oliver": "knight"}
GOLD3 = {"Penelope": "knave", "David": "knave", "Evelyn": "knight"}


def kk(response: str, gold: dict | None = None, finish_reason: str = "stop"):
    return run("knights_knaves", response, gold or GOLD, finish_reason=finish_reason)


def test_conclusion_block_is_read() -> None:
    result = kk(
        "Assume Zoey is a knight... contradiction.\nCONCLUSION:\n(1) Zoey is a knave\n(2) Oliver is a knight"
    )
    assert (result.reason, result.extracted) == ("right", "Zoey=knave; Oliver=knight")


def test_without_a_marker_the_final_statement_decides() -> None:
    text = "If Zoey is a knight then Oliver is a knave. Contradiction.\n\nSo Zoey is not a knight and Oliver is a knight."
    assert kk(text).reason == "right"
    assert kk("Zoey is a knight, and Oliver is a knave.").reason == "wrong"
    assert kk("I need more information.").reason == "no_answer"


def test_names_missing_from_the_conclusion_are_not_filled_from_hypotheses() -> None:
    text = "Suppose Zoey is a knave. Then Oliver is a knight.\n\nCONCLUSION:\n(1) Oliver is a knight"
    result = kk(text)
    assert result.reason == "wrong" and "Zoey" in result.detail


def test_a_closing_hypothetical_does_not_override_the_conclusion() -> None:
    text = (
        "CONCLUSION:\n(1) Zoey is a knave\n(2) Oliver is a knight\n\nThis is consistent: if Oliver were a knave, "
        "Zoey would be a knight and her statement would be true, a contradiction."
    )
    assert kk(text).reason == "right"


@pytest.mark.parametrize(
    "hedge",
    [
        "(3) Evelyn could be either",
        "(3) Evelyn is either a knight or a knave",
        "(3) Evelyn: cannot be determined",
        "(3) Evelyn is a knight or a knave",
        "(3) Evelyn is possibly a knight",
    ],
)
def test_hedged_roles_are_missing(hedge: str) -> None:
    text = f"CONCLUSION:\n(1) Penelope is a knave\n(2) David is a knave\n{hedge}"
    result = kk(text, GOLD3)
    assert result.reason == "wrong" and "Evelyn" in result.detail


@pytest.mark.parametrize(
    "conclusion",
    [
        "(1) **Penelope** is a **knave**\n(2) **David** is a **knave**\n(3) **Evelyn** is a **knight**",
        "(1) Penelope: Knave\n(2) David: Knave\n(3) Evelyn: Knight",
        "- Penelope - knave\n- David - knave\n- Evelyn - knight",
        "Penelope and David are knaves, and Evelyn is a knight.",
        "Knights: Evelyn\nKnaves: Penelope, David",
        "The knaves are Penelope and David; the knight is Evelyn.",
        "(1) Penelope is a liar (knave)\n(2) David is not a knight\n(3) Evelyn is a truth-teller (knight)",
    ],
)
def test_conclusion_formats(conclusion: str) -> None:
    assert kk(f"Reasoning done.\n\nCONCLUSION:\n{conclusion}", GOLD3).reason == "right"


def test_the_last_conclusion_wins() -> None:
    text = (
        "CONCLUSION:\n(1) Zoey is a knight\n(2) Oliver is a knave\n\nWait, Zoey's statement fails. Let me redo it.\n"
        "CONCLUSION:\n(1) Zoey is a knave\n(2) Oliver is a knight"
    )
    assert kk(text).reason == "right"


def test_cut_off_response_needs_a_conclusion() -> None:
    text = "Let's assume Zoey is a knave. Then Oliver is a knight. Checking Oliver's statement:"
    assert kk(text, finish_reason="length").reason == "truncated"
    assert kk(
        "CONCLUSION:\n(1) Zoey is a knave\n(2) Oliver is a knight\n\nTo double", finish_reason="length"
    ).correct


def test_bool_gold_voting_and_bad_gold() -> None:
    assert (
        kk("CONCLUSION: Zoey is a knave. Oliver is a knight.", {"Zoey": False, "Oliver": True}).reason
        == "right"
    )
    with pytest.raises(GraderConfigError, match="role"):
        kk("x", {"Zoey": "wizard"})
    assert same_answer("knights_knaves", "Zoey=knave; Oliver=knight", "Oliver=knight; Zoey=knave")
    assert not same_answer("knights_knaves", "Zoey=knave; Oliver=knight", "Zoey=knave")


def test_reasons_given_in_the_conclusion_do_not_hide_its_roles() -> None:
    text = (
        "CONCLUSION:\n(1) Zoey is a knave, because her statement cannot be true.\n"
        "(2) Oliver is a knight, since if he were a knave his statement would be false."
    )
    assert kk(text).reason == "right"
    hedged = (
        "CONCLUSION:\n(1) Zoey is a knave\n(2) Oliver is a knight, although Oliver might also be a knave."
    )
    assert kk(hedged).reason == "wrong"


def test_quoted_statements_in_the_conclusion_are_not_claims() -> None:
    gold = {"William": "knight", "Evelyn": "knave"}
    text = (
        'CONCLUSION:\n(1) William is a knight\n(2) Evelyn is a knave, because her claim "William is a knight and '
        'Evelyn is a knight" is false.'
    )
    assert kk(text, gold).reason == "right"


def test_tables_and_collective_statements() -> None:
    table = "CONCLUSION:\n| Name | Role |\n|---|---|\n| Penelope | Knave |\n| David | Knave |\n| Evelyn | Knight |"
    assert kk(table, GOLD3).reason == "right"
    everyone = {"James": "knave", "Grace": "knave", "Zoey": "knave"}
    assert kk("CONCLUSION: All three inhabitants are knaves.", everyone).reason == "right"
    assert kk("CONCLUSION: All of them are knights.", everyone).reason == "wrong"
    listed = {"James": "knave", "Grace": "knave", "Zoey": "knave"}
    assert (
        kk("CONCLUSION: All three inhabitants (James, Grace and Zoey) are knaves.", listed).reason == "right"
    )


def test_elliptical_and_pronoun_statements() -> None:
    assert kk("CONCLUSION: Zoey is a knave and Oliver a knight.").reason == "right"
    assert (
        kk("So Oliver is telling the truth, so he is a knight. Zoey is lying, so she is a knave.").reason
        == "right"
    )
    gold = {"Jack": "knight", "Sebastian": "knight", "James": "knave"}
    assert kk("CONCLUSION: Sebastian is a knight, and so is Jack. James is a knave.", gold).reason == "right"


def test_the_rest_and_the_only_statements() -> None:
    gold = {"Jack": "knight", "Sebastian": "knave", "James": "knave"}
    assert kk("CONCLUSION: The knight is Jack, and the rest are knaves.", gold).reason == "right"
    assert kk("CONCLUSION: Jack is the only knight.", gold).reason == "right"
    assert kk("CONCLUSION: Only Jack is a knight.", gold).reason == "right"
    assert kk("CONCLUSION: Sebastian is the only knave.", gold).reason == "wrong"


def test_doubt_about_something_else_is_not_a_hedge_on_the_role() -> None:
    text = "CONCLUSION:\n(1) Zoey is a knave (she might be lying about Oliver)\n(2) Oliver is a knight, either way."
    assert kk(text).reason == "right"


def test_reported_claims_in_a_verification_are_not_claims() -> None:
    gold = {"Henry": "knight", "Elizabeth": "knight", "Mason": "knave"}
    text = (
        "CONCLUSION:\n(1) Henry is a knight\n(2) Elizabeth is a knight\n(3) Mason is a knave\n\n"
        "Check: Henry says Elizabeth is not a knave (true), Mason says Elizabeth is a knight iff Henry is a knave "
        "(false). Note: according to Mason, Elizabeth is a knave, which is false."
    )
    assert kk(text, gold).reason == "right"
    assert (
        kk(
            "CONCLUSION: Henry tells the truth, so he is a knight; Elizabeth says Henry is honest, so Elizabeth is "
            "a knight. Mason is a knave.",
            gold,
        ).reason
        == "right"
    )


def test_a_later_mention_of_the_word_conclusion_does_not_hide_the_block() -> None:
    text = "CONCLUSION:\n(1) Zoey is a knave\n(2) Oliver is a knight\n\nThis conclusion is consistent with every statement."
    assert kk(text).reason == "right"
    assert kk(text, finish_reason="length").reason == "right"


def test_plural_synonyms() -> None:
    assert kk("CONCLUSION: The truth-tellers are Oliver; the liars are Zoey.").reason == "right"
    assert kk("CONCLUSION: Truth tellers: Oliver. Liars: Zoey.").reason == "right"


def test_definite_article() -> None:
    assert kk("CONCLUSION: Zoey is the knave and Oliver is the knight.").reason == "right"
