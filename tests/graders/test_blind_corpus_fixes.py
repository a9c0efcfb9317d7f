"""Fixes found by the blind corpus (tests/graders/corpus_blind): each test failed before its fix."""

from __future__ import annotations

import pytest

from tests.graders.helpers import run

ROTATION = {
    "answer": "C",
    "choices": ["density drops", "years get longer", "days get shorter", "gravity grows"],
}
EMOTIONS = ["neutral", "joy", "surprise", "anger", "sadness", "disgust", "fear"]


@pytest.mark.parametrize(
    "response",
    [
        "行星自转加快，一天变短。\n答案：C",
        "测试表明这一点。答案是 C。",
        "Le jour raccourcit.\n\nRéponse : C",
        "Eine schnellere Rotation verkürzt den Tag. Die Antwort ist C.",
        "La respuesta es C.",
        '{"reasoning": "a faster spin shortens the day", "answer": "C"}',
    ],
)
def test_answer_heads_in_other_languages_and_json_are_read(response):
    assert run("choice", response, ROTATION, letters="A-E").reason == "right"


def test_other_language_head_still_grades_a_wrong_letter_wrong():
    assert run("choice", "答案：B", ROTATION, letters="A-E").reason == "wrong"
    assert run("choice", '{"answer": "A or C"}', ROTATION, letters="A-E").reason == "wrong"


def test_json_field_named_by_the_task_subject_is_read_for_labels():
    gold = {"answer": "surprise"}
    result = run("label", '{"emotion": "surprise"}', gold, letters=True, labels=EMOTIONS)
    assert result.reason == "right"


def test_closing_answer_line_naming_no_option_is_not_rescued_by_the_reasoning():
    gold = {"answer": "E", "choices": ["$100.20", "$102.55", "$110.35", "$95.46", "$98.92"]}
    response = "3462.20 / 35 = 98.92; with rounding I get $98.90.\n\nAnswer: $98.90"
    assert run("choice", response, gold, letters="A-E").reason == "no_answer"
    # the same reasoning without a closing Answer line still reads the one option it settles on
    assert run("choice", "So the payment is $98.92.", gold, letters="A-E").reason == "right"


def test_bbh_list_answer_on_the_lines_after_the_answer_head():
    gold = {"answer": "apple banana cherry", "choices": None}
    response = "Sorted alphabetically, the answer is:\napple\nbanana\ncherry"
    assert run("exact", response, gold, ignore_whitespace=True, words=True).reason == "right"
    numbered = "So the answer is:\n1. apple\n2. cherry\n3. banana"
    assert run("exact", numbered, gold, ignore_whitespace=True, words=True).reason == "wrong"


def test_bbh_last_line_concluding_a_value_without_answer_phrase():
    gold = {"answer": "False", "choices": None}
    response = "not True = False; (False or True) = True. The expression evaluates to False."
    assert run("exact", response, gold, ignore_whitespace=True, words=True).reason == "right"
    wrong = "not True = False; (False or True) = True. The expression evaluates to True."
    assert run("exact", wrong, gold, ignore_whitespace=True, words=True).reason == "wrong"


def test_finqa_quantity_is_the_one_the_sentence_concludes_with():
    response = (
        "Revenue rose from $1,200 million in 2019 to $1,264 million in 2020, so the change from 2019 to 2020 "
        "is 5.3%."
    )
    assert run("numeric", response, {"answer": 0.053}, rel_tol=0.01).reason == "right"
    stated = "Answer: revenue went from 1,200 in 2019 to 1,264 in 2020, therefore the growth is 5.3%"
    assert run("numeric", stated, {"answer": 0.053}, rel_tol=0.01).reason == "right"
    # an answer that opens with its number keeps it, whatever its conclusion mentions
    opening = "Answer: 23.4%, so the margin is above the 20.1% of 2018"
    assert run("numeric", opening, {"answer": 0.234}, rel_tol=0.01).reason == "right"


@pytest.mark.parametrize(
    ("response", "reason"),
    [
        ("答案：（C）", "right"),  # full-width parentheses
        ("答案：（B）", "wrong"),
        ("Answer: Ｃ", "right"),  # a full-width letter
        ("Therefore, C.", "right"),  # a conclusion that is only a letter
        ("So, (B).", "wrong"),
        ("Answer: Days get shorter (C)", "right"),  # text, then the letter in parentheses
        ("Answer: A planet that spins faster has shorter days, so C.", "right"),
        ("Answer: years get longer (C)", "wrong"),  # the text is option B's: a contradiction
    ],
)
def test_statement_closing_on_its_letter_and_full_width_forms(response, reason):
    assert run("choice", response, ROTATION, letters="A-E").reason == reason


def test_finqa_yes_or_no_hedge_is_wrong():
    hedge = "Answer: yes or no, depending on whether restructuring counts"
    assert run("numeric", hedge, {"answer": "yes"}, rel_tol=0.01).reason == "wrong"
    assert (
        run("numeric", "Answer: Yes, no doubt about it.", {"answer": "yes"}, rel_tol=0.01).reason == "right"
    )


def test_bbh_last_line_result_colon_value():
    gold = {"answer": "True", "choices": None}
    assert run("exact", "not False = True.\nThe result: True", gold, words=True).reason == "right"
    assert run("exact", "not False = True.\nThe result: False", gold, words=True).reason == "wrong"


@pytest.mark.parametrize(
    ("response", "reason"),
    [
        ("Choices:\n(A) density\n(B) years\n(C) days\n(D) gravity\nThe best is (C).", "right"),
        ("The correct one is B.", "wrong"),
        ("A) Incorrect\nB) Incorrect\nC) Correct\nD) Incorrect", "right"),
        ("A) Incorrect\nB) Correct\nC) Incorrect\nD) Incorrect", "wrong"),
        ("A) Correct\nB) Incorrect\nC) Correct\nD) Incorrect", "no_answer"),  # two marked: no one answer
    ],
)
def test_verdict_sentences_and_option_lists_marked_correct(response, reason):
    assert run("choice", response, ROTATION, letters="A-E").reason == reason
