"""Gold tests of the code tasks on the real mirror: each item's reference solution, answered the way a chat model
answers (a ```python block), passes its own tests in the sandbox (100 %); the next item's solution fails them.

MBPP's 974 sandbox runs take about 80 s on two busy cores (task 123's reference alone takes ~8 s); HumanEval's
164 about 11 s. Both use graders.grade_many (a thread pool over sandbox subprocesses).
"""

from __future__ import annotations

import pytest

from graders import grade_many
from harness.taskset import Task, discover_tasks

pytestmark = pytest.mark.realdata

WORKERS = 2


def python_block(code: str) -> str:
    return f"Here is a solution.\n\n```python\n{code.rstrip()}\n```\n\nIt passes the tests above."


def reference_code(task: Task, item: dict) -> str:
    """MBPP: the reference program; HumanEval: the prompt (signature, docstring) plus the canonical body."""
    return item["question"] + item["answer"] if task.name == "humaneval" else item["answer"]


def grade_codes(task: Task, golds: list, codes: list[str]) -> list:
    return grade_many(
        [
            task.grade_request(gold, python_block(code), "stop")
            for gold, code in zip(golds, codes, strict=True)
        ],
        WORKERS,
    )


@pytest.mark.parametrize("name", [pytest.param("mbpp", marks=pytest.mark.slow), "humaneval"])
def test_reference_solutions_pass_and_other_solutions_fail(name, data_dir):
    task = discover_tasks()[name]
    raw = task.normalised_items(data_dir, full=True)
    items = task.load_items(data_dir, full=True)
    assert [i.id for i in items] == [r["id"] for r in raw]
    golds = [item.gold for item in items]
    codes = [reference_code(task, r) for r in raw]

    results = grade_codes(task, golds, codes)
    failing = [
        f"{item.id}: {r.reason} {r.detail}" for item, r in zip(items, results, strict=True) if not r.correct
    ]
    assert not failing, f"{name}: {len(failing)} reference solutions fail their own tests:\n" + "\n".join(
        failing
    )

    shifted = codes[1:] + codes[:1]
    wrong = grade_codes(task, golds, shifted)
    accepted = [item.id for item, r in zip(items, wrong, strict=True) if r.correct]
    assert not accepted, f"{name}: another item's solution passed the tests of {accepted}"


def test_mbpp_prompt_is_the_paper_recipe(data_dir):
    task = discover_tasks()["mbpp"]
    item = task.normalised_items(data_dir)[0]
    content = task.render(item, []).messages[-1].content
    assert content.startswith(
        f"You are an expert Python programmer, and here is your task: {item['question']} "
    )
    assert content.endswith("Your code should pass these tests:\n\n" + item["asserts"])
    assert item["asserts"].count("\nassert ") == 2 and item["entry_point"] == "min_cost"
    # the two tasks with test_setup_code run it after the solution (it uses the solution's Node class)
    by_id = {i["id"]: i for i in task.normalised_items(data_dir)}
    for task_id in ("367", "927"):
        assert by_id[task_id]["tests"].startswith("root = Node(")
        assert by_id[task_id]["tests"].rstrip().endswith(by_id[task_id]["asserts"].splitlines()[-1])


def test_humaneval_restated_function_and_body_only_answers_both_run(data_dir):
    """The prompt is the gold's prompt_prefix: a restated function may rely on the prompt's helpers, and an
    answer that is only the body continues the prompt."""
    task = discover_tasks()["humaneval"]
    raw = task.normalised_items(data_dir, full=True)
    by_id = {r["id"]: r for r in raw}
    item = by_id["HumanEval/38"]  # decode_cyclic: its prompt defines the helper encode_cyclic
    signature = item["question"][item["question"].index("def decode_cyclic") :]
    signature = signature[: signature.index("\n") + 1]
    answer = signature + item["answer"]
    gold = task.render(item, []).gold
    assert grade_codes(task, [gold], [answer])[0].correct
    assert gold["prompt_prefix"] == item["question"]
    assert grade_codes(task, [gold], [item["answer"]])[0].correct  # the body alone
    assert not grade_codes(task, [gold], ["    return s\n"])[0].correct
