"""Prompt snapshots: the rendered prompt of item 0 of every task, compared with tests/tasks/snapshots/<task>.txt.

No benchmark text is stored (the data must not be copied into the repository, and GPQA's authors forbid
publishing its questions): each snapshot holds the prompt rendered with every item field replaced by a
placeholder (<question>, <option A> ...), which pins the template, plus the sha256 of the real rendered
messages, which pins the exact bytes sent for item 0. Regenerate after an intended change with
HARNESS_UPDATE_SNAPSHOTS=1 pytest tests/tasks/test_prompt_snapshots.py
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from harness.task_data import TaskDataError, format_choices
from harness.taskset import Task, discover_tasks

SNAPSHOTS = Path(__file__).parent / "snapshots"
UPDATE = os.environ.get("HARNESS_UPDATE_SNAPSHOTS") == "1"
FIXTURE_TASKS = {"finqa", "mathbench"}  # not in the mirror: snapshot their hand-made fixture item 0


def placeholders(task: Task, item: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    fake: dict[str, Any] = {key: f"<{prefix}{key}>" for key in item}
    if task.spec.choices is not None and "choice_labels" in item:
        labels = list(item["choice_labels"])
        fake["choice_labels"] = labels
        fake["choices"] = format_choices(
            labels, [f"<{prefix}option {label}>" for label in labels], task.spec.choices
        )
    return fake


def snapshot_text(task: Task, data_dir: Path) -> str:
    items = task.normalised_items(data_dir)
    exemplars = task.exemplars(data_dir)
    real = task.render(items[0], exemplars)
    fake_item = placeholders(task, items[0])
    match = task.spec.prompt.fewshot.match if task.spec.prompt.fewshot else None
    fake_shots = []
    for number, exemplar in enumerate(exemplars):
        fake = placeholders(task, exemplar, prefix=f"exemplar {number} ")
        if match:
            fake[match] = (
                fake_item[match] if exemplar.get(match) == items[0].get(match) else f"<other {match}>"
            )
        fake_shots.append(fake)
    lines = [
        f"# task: {task.name}   item 0: {real.id}",
        f"# sha256 of the real rendered messages: {real.prompt_hash}",
        "# item fields are placeholders: benchmark text is not stored in the repository",
    ]
    for message in task.render_messages(fake_item, fake_shots):
        lines += [f"=== {message.role} ===", message.content]
    return "\n".join(lines) + "\n"


def data_for(name: str, request: pytest.FixtureRequest) -> Path:
    fixture = "fixture_data_dir" if name in FIXTURE_TASKS else "data_dir"
    return request.getfixturevalue(fixture)


@pytest.mark.parametrize("name", sorted(discover_tasks()))
def test_prompt_of_item_0_matches_snapshot(name, request):
    task = discover_tasks()[name]
    try:
        text = snapshot_text(task, data_for(name, request))
    except TaskDataError as exc:
        pytest.skip(f"{name}: data not available here: {exc}")
    path = SNAPSHOTS / f"{name}.txt"
    if UPDATE:
        SNAPSHOTS.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"no snapshot for {name}; create it with HARNESS_UPDATE_SNAPSHOTS=1"
    assert text == path.read_text(encoding="utf-8"), (
        f"prompt of {name} changed; if intended, regenerate ({__doc__})"
    )


def test_snapshots_hold_no_benchmark_text(data_dir):
    """The redaction works: no snapshot contains item 0's question (GPQA's in particular)."""
    for name, task in discover_tasks().items():
        path = SNAPSHOTS / f"{name}.txt"
        if name in FIXTURE_TASKS or not path.exists():
            continue
        try:
            question = task.normalised_items(data_dir)[0]["question"]
        except TaskDataError:
            continue
        assert question[:60] not in path.read_text(encoding="utf-8"), name
