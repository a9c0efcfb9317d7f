"""Graders: turn one model response into a GradeResult.

    grade(request)                          -> GradeResult  (dispatch on request.grader)
    same_answer(grader, a, b, options=None) -> bool         (equivalence of extracted answers, for voting)
    grade_many(requests, workers=None)      -> list[GradeResult]
    GradingPool                             (await pool.grade(request); pool.map(requests))

Graders: math, code, choice, label, exact, numeric, knights_knaves, korbench. Each has pydantic `Gold` and `Options`
models (see GOLD_MODELS / OPTIONS_MODELS); bad gold/options raise GraderConfigError (a
ValueError) naming the grader; bad model output never raises.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from graders import choice, code, exact, knights_knaves, korbench, label, math, numeric  # noqa: F401  (registration)
from graders.base import GradeReason, GradeRequest, GradeResult
from graders.pool import GradingPool, grade_many
from graders.registry import GraderConfigError, GradingInfrastructureError, get_grader, registered_names

GRADER_NAMES: tuple[str, ...] = registered_names()
GOLD_MODELS: dict[str, type[BaseModel]] = {name: get_grader(name).Gold for name in GRADER_NAMES}
OPTIONS_MODELS: dict[str, type[BaseModel]] = {name: get_grader(name).Options for name in GRADER_NAMES}


def grade(request: GradeRequest) -> GradeResult:
    """Grade one response. Unknown grader names raise ValueError listing the known ones."""
    return get_grader(request.grader).grade(request)


def same_answer(grader: str, a: str, b: str, options: dict[str, Any] | None = None) -> bool:
    """Whether two extracted answers (GradeResult.extracted) count as the same vote.

    math: math-verify equivalence; choice: same letter; label: same canonical label; exact: equal
    after normalisation; numeric: within tolerance; knights_knaves: the same roles; korbench: equal
    ignoring whitespace, quotes and brackets. code is not votable: raises ValueError.
    """
    impl = get_grader(grader)
    return impl.same_answer(a, b, impl.parse_options(options))


def runs_inline(grader: str) -> bool:
    """Cheap enough to grade in the caller (a few regular expressions) instead of in a worker."""
    return get_grader(grader).runs_inline


def is_votable(grader: str) -> bool:
    return get_grader(grader).votable


__all__ = [
    "GOLD_MODELS",
    "GRADER_NAMES",
    "OPTIONS_MODELS",
    "GradeReason",
    "GradeRequest",
    "GradeResult",
    "GraderConfigError",
    "GradingInfrastructureError",
    "GradingPool",
    "grade",
    "grade_many",
    "is_votable",
    "runs_inline",
    "same_answer",
]
