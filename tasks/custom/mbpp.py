"""MBPP rows (google-research mbpp.jsonl / the hub's `full` config): the asserts shown in the prompt, the test
program (test_setup_code, then the asserts) and the function under test (the reference code's function that the
first assert calls).

test_setup_code runs after the solution, not before it: the two tasks that have one (367, 927) build trees with
the `Node` class that the solution defines."""

from __future__ import annotations

import re
from typing import Any

from graders.code import mbpp_gold
from harness.task_data import PreprocessContext, TaskDataError

_DEFINED = re.compile(r"^\s*def\s+([A-Za-z_][A-Za-z0-9_]*)\s*\(", re.MULTILINE)


def entry_point(code: str, first_test: str) -> str | None:
    """The reference code's function that the test calls (MBPP has no entry-point field)."""
    for name in _DEFINED.findall(code):
        if re.search(rf"\b{re.escape(name)}\s*\(", first_test):
            return name
    return None


def asserts_program(rows: list[dict[str, Any]], ctx: PreprocessContext) -> list[dict[str, Any]]:
    out = []
    for number, row in enumerate(rows):
        tests = row.get("test_list")
        if not isinstance(tests, list) or not tests:
            raise TaskDataError(
                f"task {ctx.task}, {ctx.origin}, row {number}: expected a non-empty test_list"
            )
        out.append(
            {
                **row,
                "asserts": "\n".join(str(test).strip() for test in tests),
                "test_program": mbpp_gold(row).tests,
                "entry_point": entry_point(str(row.get("code", "")), str(tests[0])),
            }
        )
    return out
