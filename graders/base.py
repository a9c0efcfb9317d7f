"""The contract every grader follows.

A grader turns one model response into a :class:`GradeResult`. Graders are pure
functions of a picklable :class:`GradeRequest`, so the harness can run them in a
process pool while generation is still going on.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

GradeReason = Literal["right", "wrong", "no_answer", "truncated", "error"]


class GradeRequest(BaseModel):
    """Everything a grader needs; built by the task layer from a task file and one item."""

    model_config = ConfigDict(frozen=True)

    grader: str = Field(description="registry name: math, code, choice, label, exact, numeric")
    response: str | None = Field(description="raw model text; None when the server returned no content")
    finish_reason: str | None = None
    gold: Any = Field(description="the grader-specific gold answer (see each grader's Gold model)")
    options: dict[str, Any] = Field(default_factory=dict, description="grader options from the task file")


class GradeResult(BaseModel):
    score: float = Field(
        ge=0.0, le=1.0, description="1.0 right, 0.0 wrong; partial credit where a grader allows it"
    )
    extracted: str | None = Field(
        default=None, description="the answer pulled out of the response, normalised"
    )
    reason: GradeReason
    detail: str = ""

    @property
    def correct(self) -> bool:
        return self.score >= 1.0
