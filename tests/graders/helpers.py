"""Small builders shared by the grader tests."""

from __future__ import annotations

from typing import Any

from graders import GradeRequest, GradeResult, grade


def run(
    grader: str, response: str | None, gold: Any, finish_reason: str | None = "stop", **options: Any
) -> GradeResult:
    return grade(
        GradeRequest(
            grader=grader, response=response, finish_reason=finish_reason, gold=gold, options=options
        )
    )
