"""Item counts on the real mirror match the paper's sizes, or the task file says why not (size_note)."""

from __future__ import annotations

import pytest

from harness.taskset import discover_tasks, task_summaries

pytestmark = pytest.mark.realdata

# (items of a default run, items with --full) for the tasks of this part
EXPECTED = {
    "aime": (60, 60),
    "math500": (500, 500),
    "livemathbench": (140, 140),
    "arc_challenge": (1172, 1172),
    "mmlu_pro": (1000, 12032),
    "gpqa": (448, 448),
    "medqa": (1273, 1273),
    "winogrande": (1267, 1267),
    "brainteaser": (1021, 1021),
}
NOT_MIRRORED = {"finqa", "mathbench"}  # tested on hand-made fixtures (test_fixture_tasks.py)


@pytest.fixture(scope="module")
def summaries(data_dir):
    return {s.name: s for s in task_summaries(discover_tasks(), data_dir)}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_counts_of_mirrored_tasks(name, summaries):
    summary = summaries[name]
    assert summary.unavailable is None, summary.unavailable
    assert (summary.items, summary.full_items) == EXPECTED[name]
    assert summary.items == summary.paper_size


def test_not_mirrored_tasks_say_so(summaries):
    for name in NOT_MIRRORED:
        reason = summaries[name].unavailable
        assert reason is not None and f"missing here: {name}/" in reason, reason


def test_every_task_matches_the_paper_or_explains(summaries):
    """Also covers task files added by other parts: a size that differs from the paper needs a size_note."""
    tasks = discover_tasks()
    checked = 0
    for name, summary in summaries.items():
        if summary.unavailable:
            continue
        checked += 1
        if summary.items != summary.paper_size:
            assert tasks[name].spec.size_note, (
                f"{name}: {summary.items} items, paper {summary.paper_size}, no size_note"
            )
    assert checked >= len(EXPECTED)
