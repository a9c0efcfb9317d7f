from __future__ import annotations

import pytest

from graders import GraderConfigError, same_answer
from graders.choice import extract_choice_letter
from tests.graders.helpers import run

CHOICES = ["London", "Paris", "Rome", "Berlin"]


@pytest.mark.parametrize(
    ("response", "letter"),
    [
        ("Answer: C", "C"),
        ("Let me think. The answer is (C).", "C"),
        ("**C**", "C"),
        ("(C)", "C"),
        ("C. Rome is correct because...", "C"),
        ("The correct option is C", "C"),
        ("Option A is tempting, but **B** fits better than **D**... final pick **D**", "D"),
        ("Considering each option...\n\nB", "B"),
        ("The answer is C because option A is wrong.", "C"),
        ("Final answer: \\boxed{\\text{B}}", "B"),
        ("**Answer:** (D) Berlin", "D"),
        ("I believe the capital is Paris.", "B"),
        ("the answer is a tricky one", None),
        ("I am not sure.", None),
    ],
)
def test_letter_extraction(response: str, letter: str | None) -> None:
    assert extract_choice_letter(response, "ABCD", CHOICES) == letter


def test_letter_range_option() -> None:
    assert extract_choice_letter("The answer is (H).", "ABCDEFGHIJ") == "H"
    # A letter outside the options is an answer, and a wrong one (it used to read as no answer).
    assert extract_choice_letter("The answer is (H).", "ABCD") == "H"
    assert run("choice", "The answer is (H).", "A").reason == "wrong"
    assert run("choice", "Answer: (J)", "J", letters="A-J").reason == "right"
    assert run("choice", "Answer: E", "E", letters="A-E").reason == "right"


def test_choice_grades_and_reasons() -> None:
    assert run("choice", "The answer is (B).", "B").reason == "right"
    assert run("choice", "The answer is (B).", "(c)").reason == "wrong"
    assert run("choice", "Hmm, let me consider", "B").reason == "no_answer"
    assert run("choice", "Hmm, let me consider", "B", finish_reason="length").reason == "truncated"


def test_choice_config_errors() -> None:
    with pytest.raises(GraderConfigError, match="letters"):
        run("choice", "A", "A", letters="A-")
    with pytest.raises(GraderConfigError, match="not among letters"):
        run("choice", "A", "E", letters="ABCD")
    with pytest.raises(GraderConfigError, match="single option letter"):
        run("choice", "A", "AB")
    with pytest.raises(GraderConfigError, match="extra"):
        run("choice", "A", "A", letter="ABCD")


def test_choice_same_answer() -> None:
    assert same_answer("choice", "C", "(c)")
    assert not same_answer("choice", "C", "D")


EMORY = ["Joyful", "Mad", "Peaceful", "Neutral", "Sad", "Powerful", "Scared"]
DAILY = ["no_emotion", "anger", "disgust", "fear", "happiness", "sadness", "surprise"]


@pytest.mark.parametrize(
    ("response", "gold", "reason"),
    [
        ("The speaker sounds Sad.", "Sad", "right"),
        ("Emotion: **mad**", "Mad", "right"),
        ("The answer is Joyful, not Sad.", "Joyful", "right"),
        ("Neutral", "Sad", "wrong"),
        ("It could be sad or mad, hard to say.", "Sad", "no_answer"),
        ("I cannot determine this.", "Sad", "no_answer"),
    ],
)
def test_label_matching(response: str, gold: str, reason: str) -> None:
    assert run("label", response, gold, labels=EMORY).reason == reason


def test_label_underscores_and_synonyms() -> None:
    assert run("label", "Answer: no emotion", "no_emotion", labels=DAILY).reason == "right"
    assert run("label", "The emotion is happy.", "happiness", labels=DAILY).reason == "no_answer"
    synonyms = {"happiness": ["happy", "joy"]}
    assert (
        run("label", "The emotion is happy.", "happiness", labels=DAILY, synonyms=synonyms).reason == "right"
    )


def test_label_letters() -> None:
    assert run("label", "Answer: (E) Sad", "Sad", labels=EMORY, letters=True).reason == "right"
    assert run("label", "E", "Sad", labels=EMORY, letters=True).reason == "right"
    assert run("label", "The answer is (A).", "Sad", labels=EMORY, letters=True).reason == "wrong"


def test_label_config_errors_and_votes() -> None:
    with pytest.raises(GraderConfigError, match="not in the label set"):
        run("label", "Sad", "Angry", labels=EMORY)
    with pytest.raises(GraderConfigError, match="synonyms for labels not in the label set"):
        run("label", "Sad", "Sad", labels=EMORY, synonyms={"Angry": ["furious"]})
    assert same_answer("label", "sad", "Sad", {"labels": EMORY})
    assert not same_answer("label", "sad", "Mad", {"labels": EMORY})
