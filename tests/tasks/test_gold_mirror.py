"""Gold tests on the real benchmark mirror: every item of each task, answered the way a model would with the
gold answer, must grade right (>= 99 %); answered with a wrong answer (another letter, or another item's
answer) it must grade wrong on nearly all items. Failing items are listed in the assertion message."""

from __future__ import annotations

import pytest

from harness.taskset import discover_tasks
from tests.tasks.helpers import gold_answer, grade_all, wrong_answer

pytestmark = pytest.mark.realdata

# task -> the largest share of wrong answers that may still grade right (coincidences: equal answers of
# neighbouring items in math sets, e.g. two MATH-500 problems whose answer is 2)
MIRROR_TASKS = {
    "aime": 0.02,
    "math500": 0.03,
    "livemathbench": 0.03,
    "arc_challenge": 0.0,
    "mmlu_pro": 0.0,
    "gpqa": 0.0,
    "medqa": 0.0,
    "winogrande": 0.0,
    "brainteaser": 0.0,
}
SLOW = {"mmlu_pro", "math500"}

# Items a grader gets wrong today, kept out of the rate but checked to still fail, so the list is pruned
# as soon as the grader is fixed. (Empty since a trailing "!" in \boxed{1/n!} is kept as a factorial.)
KNOWN_GRADER_BUGS: dict[str, set[str]] = {}


@pytest.fixture(scope="module")
def tasks():
    return discover_tasks()


@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n for n in MIRROR_TASKS]
)
def test_gold_answers_grade_right_and_wrong_answers_grade_wrong(name, tasks, data_dir):
    task = tasks[name]
    all_items = task.load_items(data_dir, full=True)
    assert all_items, f"{name}: no items"
    known = KNOWN_GRADER_BUGS.get(name, set())
    buggy = [item for item in all_items if item.id in known]
    assert len(buggy) == len(known), f"{name}: known-bug ids not found: {known - {i.id for i in buggy}}"
    still_failing = grade_all(task, buggy, [gold_answer(item.gold) for item in buggy])
    assert still_failing.right == 0, (
        f"{name}: grader fixed for some of {sorted(known)}; remove them from KNOWN_GRADER_BUGS"
    )
    items = [item for item in all_items if item.id not in known]

    right = grade_all(task, items, [gold_answer(item.gold) for item in items])
    assert right.fraction >= 0.99, (
        f"{name}: {right.right}/{right.total} gold answers right; failing:\n" + "\n".join(right.failures[:30])
    )

    wrong = grade_all(task, items, [wrong_answer(task, items, i) for i in range(len(items))])
    accepted = wrong.right / wrong.total
    assert accepted <= MIRROR_TASKS[name], f"{name}: {wrong.right}/{wrong.total} wrong answers graded right"
