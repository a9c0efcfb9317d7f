"""Shared by the task tests: model-like responses built from a gold answer, and grading through graders."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import graders
from harness.taskset import Task, TaskItem

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def gold_answer(gold: Any) -> Any:
    return gold["answer"] if isinstance(gold, dict) else gold


def respond(task: Task, answer: Any) -> str:
    """What a model that knows `answer` writes, in the format the task's prompt asks for."""
    if task.grader == "math":
        return f"Working through the problem step by step gives the result, so the answer is \\boxed{{{answer}}}."
    if task.grader == "choice":
        return f"Let me weigh each option in turn.\nOnly one of them fits.\nAnswer: {answer}"
    if task.grader == "numeric":
        return f"Taking the figures from the table and computing step by step.\nAnswer: {answer}"
    raise ValueError(f"no response style for grader {task.grader}")


def wrong_answer(task: Task, items: list[TaskItem], position: int) -> Any:
    """A wrong answer for item `position`: the next letter for choice tasks, else another item's answer."""
    answer = gold_answer(items[position].gold)
    if task.grader == "choice":
        letters = task.grader_options.get("letters", "ABCD")
        letters = (
            "".join(LETTERS[LETTERS.index(letters[0]) : LETTERS.index(letters[-1]) + 1])
            if "-" in letters
            else letters
        )
        return letters[(letters.index(answer) + 1) % len(letters)]
    return gold_answer(items[(position + 1) % len(items)].gold)


@dataclass
class GoldReport:
    total: int = 0
    right: int = 0
    failures: list[str] = field(default_factory=list)

    @property
    def fraction(self) -> float:
        return self.right / self.total if self.total else 0.0


def grade_all(task: Task, items: list[TaskItem], answers: list[Any]) -> GoldReport:
    report = GoldReport()
    for item, answer in zip(items, answers, strict=True):
        result = graders.grade(task.grade_request(item.gold, respond(task, answer), "stop"))
        report.total += 1
        if result.correct:
            report.right += 1
        else:
            report.failures.append(
                f"{item.id}: answer {answer!r} -> {result.reason} ({result.extracted!r}) {result.detail}"
            )
    return report


def offline_env(task_dir, tmp_path) -> dict[str, str]:
    """Environment for a child process that sees only `task_dir`'s tasks, no data dir and no hub."""
    import os

    env = {
        **os.environ,
        "HARNESS_TASKS_DIR": str(task_dir),
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "HF_HOME": str(tmp_path / "hf"),
    }
    env.pop("HARNESS_DATA_DIR", None)
    return env
