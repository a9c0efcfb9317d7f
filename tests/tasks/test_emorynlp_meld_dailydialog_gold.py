"""Gold tests of the conversation-emotion tasks on the real mirror: the gold label's letter, answered the way
the prompt asks, grades right on every item; the next letter grades wrong; the lettered options in the prompt
are exactly the grader's label set, in order; counts are the documented full test sets."""

from __future__ import annotations

from collections import Counter

import pytest

import graders
from harness.taskset import Task, discover_tasks

pytestmark = pytest.mark.realdata

EXPECTED = {  # task -> (items, label set in option order)
    "emorynlp": (1328, ["Joyful", "Mad", "Peaceful", "Neutral", "Sad", "Powerful", "Scared"]),
    "meld": (2610, ["neutral", "joy", "surprise", "anger", "sadness", "disgust", "fear"]),
    "dailydialog": (1000, ["no_emotion", "anger", "disgust", "fear", "happiness", "sadness", "surprise"]),
}


def letter_response(letter: str) -> str:
    return f"The speaker's tone and the context point to one option.\nAnswer: {letter}"


def grade(task: Task, gold, response: str) -> graders.GradeResult:
    return graders.grade(task.grade_request(gold, response, "stop"))


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_gold_letter_right_next_letter_wrong(name, data_dir):
    task = discover_tasks()[name]
    count, labels = EXPECTED[name]
    assert task.grader_options["labels"] == labels and task.grader_options["letters"] is True
    items = task.load_items(data_dir)
    assert len(items) == count
    assert set(Counter(i.gold["answer"] for i in items)) <= set(labels)
    failures, accepted = [], []
    for item in items:
        position = labels.index(item.gold["answer"])
        right = grade(task, item.gold, letter_response("ABCDEFG"[position]))
        if not right.correct:
            failures.append(f"{item.id}: {right.reason} {right.extracted!r}")
        if grade(task, item.gold, letter_response("ABCDEFG"[(position + 1) % 7])).correct:
            accepted.append(item.id)
    assert not failures, f"{name}: gold letters graded wrong:\n" + "\n".join(failures[:40])
    assert not accepted, f"{name}: wrong letters graded right: {accepted[:40]}"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_prompt_shows_labels_as_letters_and_history(name, data_dir):
    task = discover_tasks()[name]
    labels = EXPECTED[name][1]
    items = task.normalised_items(data_dir)
    rendered = task.render(items[1], [])
    content = rendered.messages[-1].content
    options = "\n".join(f"{'ABCDEFG'[i]}. {label}" for i, label in enumerate(labels))
    assert f"?\n{options}\n\n" in content
    assert f"Current utterance:\n{items[1]['question']}\n" in content
    assert items[1]["history"].startswith("- ") and items[1]["history"] in content
    assert rendered.query == items[1]["question"]
    if name != "dailydialog":  # its items are last turns: they always have a history
        assert "(none: this is the first utterance" in task.render(items[0], []).messages[-1].content


def test_histories_are_the_earlier_turns(data_dir):
    tasks = discover_tasks()
    meld = {i["id"]: i for i in tasks["meld"].normalised_items(data_dir)}
    assert meld["dia0_utt2"]["history"].count("\n- ") == 1  # two earlier utterances
    assert meld["dia0_utt1"]["question"] in meld["dia0_utt2"]["history"]
    daily = tasks["dailydialog"].normalised_items(data_dir)
    assert all(i["turn"] >= 2 for i in daily)  # every test dialogue has history before its last turn
    assert Counter(i["answer"] for i in daily)["no_emotion"] == 673
