"""BBH exact match: boxes, lower-case letters, Unicode minus, number words, option texts, hedges, votes (issue 7)."""

from __future__ import annotations

from pathlib import Path

import pytest

from graders import same_answer
from harness.taskset import Task
from tests.graders.helpers import run

TASKS = Path(__file__).resolve().parents[2] / "tasks"
BBH = {"ignore_whitespace": True, "words": True}
DATE_OPTIONS = ["12/11/1937", "12/25/1937", "01/04/1938", "12/04/1937", "12/25/2006", "07/25/1937"]


def bbh(response: str, gold, finish_reason: str = "stop") -> str:
    return run("exact", response, gold, finish_reason=finish_reason, **BBH).reason


@pytest.mark.parametrize(
    ("response", "gold", "reason"),
    [
        ("not ( True ) and True = False and True = False. Wait: \\boxed{True}", "True", "right"),
        ("So the answer is \\boxed{(B)}.", "(B)", "right"),
        ("Final answer: \\boxed{12}", "12", "right"),
        ("So the answer is (b).", "(B)", "right"),
        ("So the answer is \u221280.", "-80", "right"),
        ("I count nine objects. So the answer is nine.", "9", "right"),
        ("So the answer is (A) or (D).", "(A)", "wrong"),
        ("So the answer is (A) or (D).", "(D)", "wrong"),
        ("So the answer is either (A) or (B).", "(A)", "wrong"),
        ("So the answer is **Yes**.", "Yes", "right"),
        ("So the answer is \\(\\text{valid}\\).", "valid", "right"),
        ("So the answer is True. Actually, re-checking, the answer is False.", "False", "right"),
        ("So the answer is Yes, Elanor tells the truth.", "Yes", "right"),
        ("So the answer is 63 (sixty-three).", "63", "right"),
        ("So the answer is 8 or 9.", "8", "wrong"),
        ("So the answer is `] ] >`.", "] ] >", "right"),
    ],
)
def test_bbh_forms(response: str, gold: str, reason: str) -> None:
    assert bbh(response, gold) == reason


def test_option_text_instead_of_letter() -> None:
    gold = {"answer": "(B)", "choices": DATE_OPTIONS}
    assert bbh("Tomorrow is December 25, 1937. So the answer is 12/25/1937.", gold) == "right"
    assert bbh("So the answer is 12/25/2006.", gold) == "wrong"
    assert bbh("So the answer is (B) 12/25/1937.", gold) == "right"
    assert bbh("So the answer is (B) 12/04/1937.", gold) == "wrong"  # letter and text disagree


def test_same_answer_treats_a_letter_and_letter_with_text_alike() -> None:
    assert same_answer("exact", "(B)", "(B) Paris", BBH)
    assert same_answer("exact", "(b)", "B", BBH)
    assert not same_answer("exact", "(B)", "(C) Paris", BBH)
    assert same_answer("exact", "-80", "\u221280", BBH)


def test_cut_off_bbh_response_without_final_statement_is_truncated() -> None:
    assert bbh("Let's think step by step. (A) seems right but (B)", "(A)", "length") == "truncated"
    assert bbh("So the answer is (A).", "(A)", "length") == "right"


def test_bbh_task_passes_each_items_option_texts_to_the_grader() -> None:
    from tasks.custom.bbh import option_texts

    spec = Task.from_file(TASKS / "bbh.yaml").spec
    assert spec.grader.gold == {"answer": "answer", "choices": "option_texts"}
    rows = [
        {
            "input": "Today is Christmas Eve of 1937. What is the date tomorrow?\nOptions:\n(A) 12/11/1937\n(B) 12/25/1937",
            "target": "(B)",
        },
        {"input": "not ( True ) and ( True ) is", "target": "False"},
    ]
    texts = [row["option_texts"] for row in option_texts(rows, None)]  # type: ignore[arg-type]
    assert texts == [["12/11/1937", "12/25/1937"], None]


def test_a_continued_few_shot_pattern_is_not_the_answer() -> None:
    response = "So the answer is (B).\n\nQ: Today is 3/5/2020. What is the date tomorrow?\nA: So the answer is (C)."
    assert bbh(response, "(B)") == "right"
