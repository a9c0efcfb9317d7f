"""Labels: letters and emotion words, synonyms from the task file, hedges, contradictions (issue 7)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from graders.registry import GraderConfigError
from tests.graders.helpers import run

TASKS = Path(__file__).resolve().parents[2] / "tasks"
MELD = ["neutral", "joy", "surprise", "anger", "sadness", "disgust", "fear"]


def task_options(name: str) -> dict:
    return yaml.safe_load((TASKS / f"{name}.yaml").read_text())["grader"]["options"]


def meld(response: str, gold: str, finish_reason: str = "stop") -> str:
    return run("label", response, gold, finish_reason=finish_reason, **task_options("meld")).reason


def test_hedge_between_letters_or_labels_is_wrong() -> None:
    assert meld("Answer: A or G", "neutral") == "wrong"
    assert meld("Answer: B, C", "joy") == "wrong"
    assert meld("The emotion is either joy or surprise.", "joy") == "wrong"


@pytest.mark.parametrize(
    ("task", "response", "gold"),
    [
        ("meld", "The speaker sounds happy.\n\nAnswer: happy", "joy"),
        ("meld", "Answer: angry", "anger"),
        ("meld", "Answer: Joy", "joy"),
        ("meld", "She is clearly sad here. Answer: sad", "sadness"),
        ("emorynlp", "Answer: happy", "Joyful"),
        ("emorynlp", "Answer: angry", "Mad"),
        ("emorynlp", "Answer: joy", "Joyful"),
        ("emorynlp", "Answer: fear", "Scared"),
        ("dailydialog", "Answer: happy", "happiness"),
        ("dailydialog", "Answer: neutral", "no_emotion"),
        ("dailydialog", "Answer: angry", "anger"),
    ],
)
def test_plain_emotion_words_and_task_synonyms(task: str, response: str, gold: str) -> None:
    assert run("label", response, gold, **task_options(task)).reason == "right"


def test_letter_contradicting_its_label_is_wrong() -> None:
    result = run("label", "Answer: D. sadness", "anger", **task_options("meld"))
    assert result.reason == "wrong" and "sadness" in result.detail
    assert meld("Answer: D. anger", "anger") == "right"
    assert meld("Answer: (E) sadness", "sadness") == "right"


def test_restating_the_options_is_not_answering_a() -> None:
    restated = "The options are:\nA. neutral\nB. joy\nC. surprise\nD. anger\nE. sadness\nF. disgust\nG. fear"
    assert meld(restated, "neutral") == "no_answer"


def test_cut_off_label_response_needs_a_final_statement() -> None:
    assert meld("She might be sad (E) or just neutral (A). Let me think about", "sadness", "length") == "truncated"
    assert meld("Answer: E\n\nBecause she", "sadness", "length") == "right"


def test_every_label_has_a_word_family_in_the_task_files() -> None:
    for task in ("emorynlp", "meld", "dailydialog"):
        options = task_options(task)
        assert set(options["families"]) == set(options["labels"]), f"{task}.yaml leaves a label without words"


@pytest.mark.parametrize(
    ("task", "response", "gold"),
    [
        ("meld", "The tone is one of frustration.\n\nAnswer: frustration", "anger"),
        ("meld", "Emotion: annoyance", "anger"),
        ("emorynlp", "The speaker expresses fury.\nAnswer: fury", "Mad"),
        ("emorynlp", "Emotion: contentment", "Peaceful"),
        ("dailydialog", "Label: amazement", "surprise"),
        ("dailydialog", "The emotion is delight.", "happiness"),
        ("meld", "Emotion: panic", "fear"),
    ],
)
def test_noun_forms_of_an_emotion_name_its_label(task: str, response: str, gold: str) -> None:
    assert run("label", response, gold, **task_options(task)).reason == "right"


def test_a_word_naming_two_emotions_is_no_answer() -> None:
    assert meld("Emotion: upset", "anger") == "no_answer"


def test_an_unknown_word_family_is_a_config_error() -> None:
    with pytest.raises(GraderConfigError, match="unknown word families"):
        run("label", "Sad", "Sad", labels=["Sad", "Mad"], families={"Sad": "sorrowfulness"})


@pytest.mark.parametrize("task", ["emorynlp", "meld", "dailydialog"])
def test_label_corpus_uses_the_task_files_options(task: str) -> None:
    from tests.graders.corpus import CORPUS_DIR, load_corpus_file

    cases = load_corpus_file(CORPUS_DIR / f"{task}.yaml")
    assert cases and all(case.options == task_options(task) for case in cases)


@pytest.mark.parametrize("response", ["Answer: B (joy) or C (surprise)", "Answer: B, or maybe fear"])
def test_a_second_option_after_the_first_ones_text_is_a_hedge(response: str) -> None:
    assert meld(response, "joy") == "wrong"


def test_a_negated_emotion_word_is_not_the_answer() -> None:
    assert meld("The speaker doesn't sound happy at all.", "joy") == "no_answer"
    assert meld("No fear here, just plain joy.", "joy") == "right"
