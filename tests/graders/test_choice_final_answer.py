"""Multiple choice: the final answer statement decides; LaTeX/markdown letters, option texts, hedges (issue 7)."""

from __future__ import annotations

import pytest

from tests.graders.helpers import run

MMLU_PRO = "A-J"
TEXTS = ["4", "5", "6", "7"]


@pytest.mark.parametrize(
    ("response", "gold", "letters", "reason"),
    [
        ("Working it out...\n\nAnswer: $B$", "B", "ABCD", "right"),
        ("Working it out...\n\nAnswer: \\(B\\)", "B", "ABCD", "right"),
        ("so i pick the third one.\nanswer: c", "C", "ABCD", "right"),
        ("Paris is the capital. B is the correct answer.", "B", "ABCD", "right"),
        ("A is ruled out, B too. So the answer must be C", "C", "ABCD", "right"),
        ("Answer: I believe it is C.", "C", MMLU_PRO, "right"),
        ("Answer: A or D", "A", "ABCD", "wrong"),
        ("Answer: A, C", "A", "ABCD", "wrong"),
        ("The answer is either (B) or (C).", "B", "ABCD", "wrong"),
        ("Answer: \\boxed{\\text{D}}", "D", "ABCD", "right"),
        ("**Final Answer**\n\\[\n\\boxed{D}\n\\]", "D", "ABCD", "right"),
        ("The final answer is: $\\boxed{D}$", "D", "ABCD", "right"),
        ("**Answer:** B", "B", "ABCD", "right"),
        ("I first thought A.\n\nWait, no: the answer is D.", "D", "ABCD", "right"),
    ],
)
def test_final_statement_forms(response: str, gold: str, letters: str, reason: str) -> None:
    assert run("choice", response, gold, letters=letters).reason == reason


CITIES = {"answer": "C", "choices": ["London", "Paris", "Rome", "Berlin"]}


@pytest.mark.parametrize(
    "response",
    [
        "The correct answer is **C. Rome**.",
        "Answer: Option C",
        "ANSWER:C",
        "The answer is $\\boxed{\\text{(C)}}$",
        "Answer: [C]",
        "Answer: The answer is C.",
        "Answer: D\n\nAnswer: C",
        "Therefore, the correct option is (C).",
        "So, the final answer is C: Rome.",
        "Answer: C, because Rome is the capital",
        "Answer: C, D is wrong",
        "Answer: Rome (C)",
        "Answer: It's C",
        "The answer is not A but C",
        "The answer is C. The answer is not D.",
        "Rome is the capital of Italy.\n\n**C**",
        "c",
        "Answer: A\n\nWait, actually, it should be C.",
        "Final choice: C",
        "I'm torn between A and C. I'll go with C.",
        "It's A good question. The answer is C.",
    ],
)
def test_more_final_statement_forms_read_c(response: str) -> None:
    assert run("choice", response, CITIES).reason == "right"


def test_option_text_instead_of_letter_counts_through_the_gold_choices() -> None:
    gold = {"answer": "D", "choices": TEXTS}
    assert run("choice", "3 + 4 = 7.\n\nAnswer: 7", gold).reason == "right"
    assert run("choice", "3 + 4 = 7.\n\nAnswer: 5", gold).reason == "wrong"
    assert run("choice", "Answer: 17", gold).reason == "no_answer"


def test_letter_contradicting_its_text_is_wrong() -> None:
    gold = {"answer": "D", "choices": TEXTS}
    assert run("choice", "Answer: D. 7", gold).reason == "right"
    result = run("choice", "Answer: D. 5", gold)
    assert result.reason == "wrong" and "B" in result.detail


def test_restating_the_options_is_not_an_answer() -> None:
    restated = "Let me look at the options:\nA. 4\nB. 5\nC. 6\nD. 7\nI need to think more about this."
    assert run("choice", restated, {"answer": "A", "choices": TEXTS}).reason == "no_answer"
    assert run("choice", "**A.** 4\n**B.** 5\n**C.** 6", "A").reason == "no_answer"


def test_cut_off_response_is_graded_only_on_a_final_statement() -> None:
    thinking = "Let me check each option. B looks plausible. (C) is a distractor. Hmm, so maybe"
    assert run("choice", thinking, "B", finish_reason="length").reason == "truncated"
    assert run("choice", "Reasoning...\nB", "B", finish_reason="length").reason == "truncated"
    assert run("choice", "Answer: B\n\nExplanation: because", "B", finish_reason="length").reason == "right"
    assert run("choice", "Checking... \\boxed{B} is what I", "B", finish_reason="length").reason == "right"


def test_tentative_answer_with_question_mark_is_not_final() -> None:
    assert run("choice", "So the answer is B? Let me re-check the units.", "B").reason == "no_answer"


def test_a_restated_list_that_marks_one_option_answers_it() -> None:
    gold = {"answer": "D", "choices": TEXTS}
    assert run("choice", "Options:\nA. 4 \u274c\nB. 5 \u274c\nC. 6 \u274c\nD. 7 \u2705", gold).reason == "right"
    assert run("choice", "A. 4 \u2705\nB. 5 \u274c\nC. 6 \u274c\nD. 7 \u2705", gold).reason == "no_answer"


def test_cut_off_statement_being_retracted_is_not_final() -> None:
    retracting = "So the answer is B. But wait, let me reconsider whether the"
    assert run("choice", retracting, "B", finish_reason="length").reason == "truncated"
    assert run("choice", "\\boxed{B}. Hmm, actually the units", "B", finish_reason="length").reason == "truncated"
