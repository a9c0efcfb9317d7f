"""How models say an utterance carries no emotion ("no particular emotion", "no strong emotion") names the
neutral label of each emotion task; "no emotion other than X" names X, never neutral."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.graders.helpers import run

REPO_ROOT = Path(__file__).resolve().parents[2]

NEUTRAL = {"meld": "neutral", "dailydialog": "no_emotion", "emorynlp": "Neutral"}


def _options(task: str) -> dict:
    options = yaml.safe_load((REPO_ROOT / "tasks" / f"{task}.yaml").read_text())["grader"]["options"]
    return {**options, "letters": False}


@pytest.mark.parametrize("task", sorted(NEUTRAL))
@pytest.mark.parametrize(
    ("response", "neutral"),
    [
        ("The speaker shows no particular emotion.", True),  # before: no answer
        ("There is no strong emotion here; the tone is flat.", True),  # before: no answer
        ("The line is informational, with no clear emotion.", True),  # before: no answer
        ("The utterance has no emotion.", True),
        ("No particular emotion? No - the speaker is clearly angry.", False),
        # before: read as neutral (a wrong answer credited)
        ("The speaker expresses no emotion other than mild surprise.", False),
        ("There is no emotion, except perhaps a hint of fear.", False),  # before: read as neutral
        ("There is no emotion here. Except for that, the scene is calm.", True),
    ],
)
def test_no_emotion_phrases(task, response, neutral):
    result = run("label", response, NEUTRAL[task], **_options(task))
    assert (result.score == 1.0) is neutral, result


@pytest.mark.parametrize(("task", "gold"), [("meld", "surprise"), ("dailydialog", "surprise")])
def test_no_emotion_other_than_x_is_x(task, gold):
    result = run(
        "label", "The speaker expresses no emotion other than mild surprise.", gold, **_options(task)
    )
    assert result.score == 1.0, result
