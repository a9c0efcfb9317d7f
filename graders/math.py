"""Math answers: extract the final answer, check equivalence with math-verify (sympy fallback).

math-verify's timeouts use ``signal.alarm``, which only works in a process's main thread.
In the main thread we keep its timeouts; elsewhere we disable them (math-verify would raise),
and the time limit is enforced by :class:`graders.pool.GradingPool`, which grades math in
worker processes' main threads where the alarm-based timeouts apply again.
"""

from __future__ import annotations

import re
import threading
from typing import Any

from pydantic import Field

from graders.base import GradeRequest
from graders.extraction import answer_phrase, first_math_span, last_boxed, strip_wrappers
from graders.registry import Grader, GraderConfigError, Judgement, StrictModel, register

MATH_VERIFY_TIMEOUT_S = 5


class MathGold(StrictModel):
    """Gold: the reference final answer as LaTeX or plain text, e.g. "\\frac{1}{2}", "(3, \\pi/2)", "204"."""

    answer: str = Field(description="reference answer (the content of \\boxed{}, without the box)")


class MathOptions(StrictModel):
    integer_answer: bool = Field(
        default=False,
        description="AIME-style: the answer must be an integer 0..999 and is compared as an integer",
    )
    integer_range: tuple[int, int] = Field(default=(0, 999), description="allowed range when integer_answer")


def extract_math_answer(response: str) -> str | None:
    """Last \\boxed{...}/\\fbox{...}; else the tail of the last "the answer is"/"Answer:" phrase."""
    boxed = last_boxed(response)
    if boxed is not None:
        return strip_wrappers(boxed) or None
    tail = answer_phrase(response)
    if tail is None:
        return None
    inner = last_boxed(tail) or first_math_span(tail)
    answer = strip_wrappers(inner)
    return answer or None


def _timeouts() -> int | None:
    return MATH_VERIFY_TIMEOUT_S if threading.current_thread() is threading.main_thread() else None


def _mv_parse(answer: str) -> list[Any]:
    from math_verify import parse

    try:
        return parse("\\boxed{" + answer + "}", parsing_timeout=_timeouts())
    except Exception:
        return []


def math_verify_equal(gold: str, answer: str) -> bool | None:
    """math-verify's verdict (gold first), or None when either side does not parse."""
    from math_verify import verify

    parsed_gold, parsed_answer = _mv_parse(gold), _mv_parse(answer)
    if not parsed_gold or not parsed_answer:
        return None
    try:
        return bool(verify(parsed_gold, parsed_answer, timeout_seconds=_timeouts()))
    except Exception:
        return None


_LATEX_TO_SYMPY = [
    (re.compile(r"\\[dt]?frac\{([^{}]*)\}\{([^{}]*)\}"), r"((\1)/(\2))"),
    (re.compile(r"\\sqrt\{([^{}]*)\}"), r"sqrt(\1)"),
    (re.compile(r"\\left|\\right|\\!|\\,|\\;|\\ "), ""),
    (re.compile(r"\\cdot|\\times"), "*"),
    (re.compile(r"\\pi"), "pi"),
    (re.compile(r"\^\{([^{}]*)\}"), r"**(\1)"),
    (re.compile(r"\^"), "**"),
    (re.compile(r"\{|\}"), ""),
    (re.compile(r"(?<=\d),(?=\d{3}\b)"), ""),
]


def _to_sympy(answer: str) -> Any:
    import sympy

    s = answer.replace("$", "").strip()
    for pattern, repl in _LATEX_TO_SYMPY:
        s = pattern.sub(repl, s)
    if "\\" in s or not s:
        raise ValueError(f"cannot convert {answer!r}")
    return sympy.sympify(s, rational=True)


def sympy_equal(gold: str, answer: str) -> bool:
    """Fallback for simple numbers/expressions math-verify did not parse: structural or numeric equality."""
    import sympy

    try:
        g, a = _to_sympy(gold), _to_sympy(answer)
        if g == a:
            return True
        diff = sympy.N(g - a, 30)
        return bool(diff.is_number and abs(diff) <= 1e-9 * max(1.0, float(abs(sympy.N(g)))))
    except Exception:
        return False


def _normalise_text(answer: str) -> str:
    s = re.sub(r"\\text\{([^{}]*)\}|\\mathrm\{([^{}]*)\}", r"\1\2", answer)
    return re.sub(r"\s+", "", s).lower()


def answers_equivalent(gold: str, answer: str) -> bool:
    if _normalise_text(gold) == _normalise_text(answer):
        return True
    verdict = math_verify_equal(gold, answer)
    if verdict is not None:
        return verdict
    return sympy_equal(gold, answer)


def as_integer(answer: str) -> int | None:
    """An integer literal after removing LaTeX wrappers, thousands separators and leading zeros."""
    s = re.sub(r"\\text\{([^{}]*)\}|\\mathbf\{([^{}]*)\}", r"\1\2", answer)
    s = s.replace("\\!", "").replace("{,}", "").replace("$", "").strip()
    s = re.sub(r"(?<=\d),(?=\d{3}\b)", "", s)
    s = re.sub(r"\^\{?\\circ\}?|\\%|%", "", s).strip()
    if re.fullmatch(r"[+-]?\d+", s):
        return int(s)
    if re.fullmatch(r"[+-]?\d+\.0*", s):
        return int(float(s))
    return None


@register
class MathGrader(Grader):
    name = "math"
    Gold = MathGold
    Options = MathOptions

    def extract(self, response: str, options: MathOptions, gold: object) -> str | None:
        return extract_math_answer(response)

    def judge(self, extracted: str, gold: MathGold, options: MathOptions, request: GradeRequest) -> Judgement:
        if options.integer_answer:
            value = as_integer(extracted)
            low, high = options.integer_range
            if value is None:
                return Judgement(correct=False, detail=f"not an integer: {extracted!r}")
            if not low <= value <= high:
                return Judgement(correct=False, detail=f"integer {value} outside {low}..{high}")
            gold_value = as_integer(gold.answer)
            if gold_value is None:
                raise GraderConfigError(f"integer_answer set but gold {gold.answer!r} is not an integer")
            return Judgement(correct=value == gold_value)
        return Judgement(correct=answers_equivalent(gold.answer, extracted))

    def same_answer(self, a: str, b: str, options: MathOptions) -> bool:
        if options.integer_answer:
            ia, ib = as_integer(a), as_integer(b)
            return ia is not None and ia == ib
        return answers_equivalent(a, b)
