"""FinQA and MathBench are not in the benchmark mirror, so their loaders, prompts and graders are tested on
a few HAND-MADE items in the official schemas (tests/tasks/fixtures/data). There is no real-data gold test
for these two tasks until their data can be mirrored."""

from __future__ import annotations

import pytest

import graders
from harness.taskset import discover_tasks
from tests.tasks.helpers import offline_env, respond


@pytest.fixture(scope="module")
def tasks():
    return discover_tasks()


def test_finqa_items_from_official_schema(tasks, fixture_data_dir):
    task = tasks["finqa"]
    items = task.load_items(fixture_data_dir)
    assert [item.id for item in items] == [
        "EXAMPLE/2019/page_1.pdf-1",
        "EXAMPLE/2019/page_2.pdf-1",
        "EXAMPLE/2019/page_3.pdf-2",
        "EXAMPLE/2019/page_4.pdf-1",
    ]
    first = items[0]
    assert first.query == "what was the percentage change in net revenue from 2018 to 2019?"
    content = first.messages[0].content
    assert " | 2019 | 2018\nnet revenue | $ 1250 | $ 1000" in content  # the table, one row per line
    assert "net revenue grew in 2019" in content and "all amounts in millions" in content
    assert content.index("net revenue grew") < content.index("net revenue |") < content.index("all amounts")
    assert "Question: what was the percentage change" in content
    assert [item.gold for item in items] == [
        {"answer": 0.25},
        {"answer": -30.0},
        {"answer": 13.5},
        {"answer": "yes"},
    ]


@pytest.mark.parametrize(
    ("position", "response_answer", "right"),
    [
        (0, "25%", True),  # exe_ans 0.25, percentage written as percent
        (0, "0.25", True),
        (0, "2.5%", False),
        (1, "-30", True),
        (1, "30", False),
        (2, "13.5", True),
        (2, "27", False),
    ],
)
def test_finqa_numeric_grading(tasks, fixture_data_dir, position, response_answer, right):
    task = tasks["finqa"]
    item = task.load_items(fixture_data_dir)[position]
    result = graders.grade(task.grade_request(item.gold, respond(task, response_answer), "stop"))
    assert result.correct is right, result


def test_finqa_yes_no_gold(tasks, fixture_data_dir):
    """FinQA's comparison questions have yes/no answers, graded as such by the numeric grader."""
    task = tasks["finqa"]
    item = task.load_items(fixture_data_dir)[3]
    assert str(item.gold["answer"] if isinstance(item.gold, dict) else item.gold).lower() == "yes"
    right = graders.grade(task.grade_request(item.gold, respond(task, "yes"), "stop"))
    wrong = graders.grade(task.grade_request(item.gold, respond(task, "no"), "stop"))
    silent = graders.grade(task.grade_request(item.gold, "I cannot tell from the table.", "stop"))
    assert right.correct and right.extracted == "yes"
    assert not wrong.correct and wrong.reason == "wrong"
    assert silent.reason == "no_answer"


def test_mathbench_items_from_official_schema(tasks, fixture_data_dir):
    task = tasks["mathbench"]
    items = task.load_items(fixture_data_dir)
    assert [item.id for item in items] == [f"college_single_choice_en-{i}" for i in range(4)]
    assert [item.gold["answer"] for item in items] == ["A", "C", "D", "B"]
    assert "\n\nA. $3x^2$\nB. $x^2$\nC. $3x$\nD. $x^3/3$\n\n" in items[0].messages[0].content
    for item in items:
        answer = item.gold["answer"]
        assert graders.grade(task.grade_request(item.gold, respond(task, answer), "stop")).correct
        other = "ABCD"[("ABCD".index(answer) + 1) % 4]
        assert not graders.grade(task.grade_request(item.gold, respond(task, other), "stop")).correct


def test_finqa_hub_path_reads_the_official_json_through_datasets(tmp_path, fixture_data_dir):
    """The hub branch for real: datasets' json builder (as for the GitHub test.json) on the hand-made file,
    in a subprocess with the hub switched off and a private cache."""
    import subprocess
    import sys
    from pathlib import Path

    task_dir = tmp_path / "tasks"
    task_dir.mkdir()
    text = (Path(__file__).resolve().parents[2] / "tasks" / "finqa.yaml").read_text(encoding="utf-8")
    url = "https://raw.githubusercontent.com/czyssrs/FinQA/main/dataset/test.json"
    assert url in text
    (task_dir / "finqa.yaml").write_text(
        text.replace(url, str(fixture_data_dir / "finqa" / "test.json")), encoding="utf-8"
    )
    script = (
        "from harness.taskset import select_tasks\n"
        "[task] = select_tasks('finqa')\n"
        "items = task.load_items(None)\n"
        "print([i.id for i in items]); print([i.gold for i in items])\n"
    )
    env = offline_env(task_dir, tmp_path)
    repo = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=repo, env=env, capture_output=True, text=True, timeout=180
    )
    assert out.returncode == 0, out.stderr[-3000:]
    ids, gold = out.stdout.strip().splitlines()
    assert ids == str(
        [
            "EXAMPLE/2019/page_1.pdf-1",
            "EXAMPLE/2019/page_2.pdf-1",
            "EXAMPLE/2019/page_3.pdf-2",
            "EXAMPLE/2019/page_4.pdf-1",
        ]
    )
    assert gold == str([{"answer": 0.25}, {"answer": -30.0}, {"answer": 13.5}, {"answer": "yes"}])
