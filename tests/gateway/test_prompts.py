"""Recovering the router query (and the task) from a rendered prompt."""

from __future__ import annotations

import pytest

from harness.serving.gateway.prompts import PromptRecogniser, template_regex
from harness.taskset import discover_tasks
from tests.gateway.conftest import math_prompt, pick_prompt


def test_templates_become_anchored_regexes_with_literal_braces():
    pattern, fields = template_regex("Compute {question}. Put it in \\boxed{{}} ({question}).")
    assert fields == ["question"]
    assert pattern.fullmatch("Compute 1 + 2. Put it in \\boxed{} (1 + 2).").group("question") == "1 + 2"
    assert pattern.fullmatch("Compute 1 + 2. Put it in \\boxed{} (3).") is None


def test_toy_prompts_give_back_the_question_and_the_task(toy_tasks):
    recogniser = PromptRecogniser(toy_tasks)
    maths = recogniser.recognise([{"role": "user", "content": math_prompt(3, 4)}])
    assert (maths.query, maths.tasks) == ("3 + 4", ("toy_math",))
    pick = recogniser.recognise([{"role": "user", "content": pick_prompt(5)}])
    assert (pick.query, pick.tasks) == ("Which colour does fruit number 5 have?", ("toy_pick",))
    assert recogniser.recognise([{"role": "user", "content": "hello"}]) is None
    # a system message the template does not have: not this task's prompt
    assert (
        recogniser.recognise(
            [{"role": "system", "content": "be brief"}, {"role": "user", "content": math_prompt(1, 2)}]
        )
        is None
    )


@pytest.mark.realdata
def test_real_task_prompts_give_back_the_stored_query(data_dir):
    """Every task file whose query the prompt shows: the recovered query is the one `route fit` embeds."""
    tasks = discover_tasks()
    recogniser = PromptRecogniser(tasks.values())
    assert recogniser.unrecoverable == ["korbench", "studenteval"]  # their query field is not in the prompt
    checked = 0
    for name in (
        "aime",
        "arc_challenge",
        "bbh",
        "dailydialog",
        "humaneval",
        "knights_and_knaves",
        "math500",
        "mmlu_pro",
        "winogrande",
    ):
        try:
            items = tasks[name].load_items(data_dir, limit=25)
        except Exception as exc:  # a task whose data this mirror lacks
            pytest.skip(f"{name}: {exc}")
        for item in items:
            found = recogniser.recognise([m.model_dump() for m in item.messages])
            assert found is not None and found.query == item.query and name in found.tasks, (name, item.id)
            checked += 1
    assert checked > 150
