"""StudentEval's student prompts are only on the Hugging Face hub (unreachable here, and not in the mirror), so
its loader, prompt and grader are tested on HAND-MADE rows in the hub's schema (tests/tasks/fixtures/
studenteval/hub_test.jsonl) with a hand-made exclude.csv. There is no real-data gold test for this task.

`load_hub_part` is replaced by a reader of the fixture file: a stand-in for the network, not for any code of
ours (the task file, its preprocess, rendering and the sandboxed grader all run for real).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import graders
import harness.task_data
from harness.task_data import TaskDataError
from harness.task_spec import HubPart
from harness.taskset import discover_tasks
from tests.tasks.test_prompt_snapshots import SNAPSHOTS, UPDATE, snapshot_text

FIXTURES = Path(__file__).parent / "fixtures" / "studenteval"


@pytest.fixture
def hub_rows(monkeypatch):
    def fake_hub(part: HubPart) -> list[dict]:
        assert (part.path, part.split) == ("wellesley-easel/StudentEval", "test")
        return [json.loads(line) for line in (FIXTURES / "hub_test.jsonl").read_text().splitlines()]

    monkeypatch.setattr(harness.task_data, "load_hub_part", fake_hub)


@pytest.fixture
def task():
    return discover_tasks()["studenteval"]


def test_subsets_kept_excluded_prompts_dropped(hub_rows, task):
    items = task.normalised_items(FIXTURES / "data")
    assert [i["id"] for i in items] == ["double_all-10", "double_all-12", "count_vowels-14"]
    assert [i["subset"] for i in items] == ["first_success", "last_failure", "last_success"]
    rendered = task.render(items[0], [])
    assert rendered.query == "make each number in the list twice as big and return the list"
    assert rendered.messages[-1].content.endswith("```python\n" + items[0]["question"] + "```")
    assert rendered.gold == {
        "tests": "assert double_all([1, 2]) == [2, 4]\nassert double_all([]) == []\n",
        "entry_point": "double_all",
        "prompt_prefix": items[0]["question"],
    }


def test_code_grading_of_fixture_items(hub_rows, task):
    items = task.load_items(FIXTURES / "data")
    answers = {
        "double_all": "def double_all(items):\n    return [2 * x for x in items]",
        "count_vowels": "    return sum(any(c in 'aeiou' for c in s) for s in items)",  # a bare body
    }
    wrong = "def {0}(items):\n    return items"
    requests = []
    for item in items:
        problem = item.id.rsplit("-", 1)[0]
        requests.append(task.grade_request(item.gold, f"```python\n{answers[problem]}\n```", "stop"))
        requests.append(task.grade_request(item.gold, f"```python\n{wrong.format(problem)}\n```", "stop"))
    results = graders.grade_many(requests, workers=2)
    assert [r.correct for r in results] == [True, False] * len(items), [r.detail for r in results]


def test_missing_column_is_named(monkeypatch, task):
    row = json.loads((FIXTURES / "hub_test.jsonl").read_text().splitlines()[0])
    del row["assertions"]
    monkeypatch.setattr(harness.task_data, "load_hub_part", lambda part: [row])
    with pytest.raises(TaskDataError, match=r"row 0: missing column\(s\) \['assertions'\]"):
        task.normalised_items(FIXTURES / "data")


def test_prompt_snapshot_of_fixture_item_0(hub_rows, task):
    text = snapshot_text(task, FIXTURES / "data")
    path = SNAPSHOTS / "studenteval.txt"
    if UPDATE:
        path.write_text(text, encoding="utf-8")
    assert path.exists(), "no snapshot for studenteval; create it with HARNESS_UPDATE_SNAPSHOTS=1"
    assert text == path.read_text(encoding="utf-8")
