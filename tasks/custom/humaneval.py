"""HumanEval rows: the test program is the dataset's `test` (which defines check) followed by check(entry_point)."""

from __future__ import annotations

from typing import Any

from graders.code import humaneval_gold
from harness.task_data import PreprocessContext


def check_program(rows: list[dict[str, Any]], ctx: PreprocessContext) -> list[dict[str, Any]]:
    return [{**row, "check_program": humaneval_gold(row).tests} for row in rows]
