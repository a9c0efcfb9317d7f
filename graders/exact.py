"""Exact match after normalisation (BBH targets). Knights & Knaves has its own grader: graders/knights_knaves.py."""

from __future__ import annotations

import re
import string

from pydantic import Field

from graders.base import GradeRequest
from graders.extraction import answer_phrase, last_boxed, last_line, strip_wrappers
from graders.registry import Grader, Judgement, StrictModel, register


class ExactGold(StrictModel):
    """Gold: a target string ("(A)", "True", "valid", "apple banana")."""

    answer: str


class ExactOptions(StrictModel):
    case_sensitive: bool = False
    ignore_punctuation: bool = Field(default=False, description="drop ASCII punctuation before comparing")
    ignore_whitespace: bool = Field(default=False, description="drop all whitespace (e.g. Dyck sequences)")
    words: bool = Field(
        default=False, description="compare as word lists, ignoring commas/newlines between words"
    )


_PAREN_LETTER = re.compile(r"^\(([A-Z])\)$")


def normalise(text: str, options: ExactOptions) -> str:
    s = strip_wrappers(text)
    s = re.sub(r"\\text\{([^{}]*)\}", r"\1", s)
    if not options.case_sensitive:
        s = s.lower()
    if options.words:
        s = " ".join(re.split(r"[\s,;]+", s))
    if options.ignore_punctuation:
        s = s.translate(str.maketrans("", "", string.punctuation))
    s = "".join(s.split()) if options.ignore_whitespace else " ".join(s.split())
    return s.strip()


def extract_exact(response: str) -> str | None:
    """ "the answer is X" / "Answer: X" (also \\boxed{X}), else the last non-empty line."""
    for candidate in (answer_phrase(response), last_boxed(response), last_line(response)):
        if candidate:
            cleaned = strip_wrappers(candidate)
            if cleaned:
                return cleaned
    return None


def _letter_target(extracted: str) -> str | None:
    """ "(A)", "A", "(A) the text", "A)" -> "A"; for BBH multiple-choice targets."""
    match = re.match(r"^[\(\[]?([A-Z])(?:[\)\].:]|\s|$)", extracted.strip())
    return match.group(1) if match else None


@register
class ExactGrader(Grader):
    name = "exact"
    runs_inline = True
    Gold = ExactGold
    Options = ExactOptions

    def extract(self, response: str, options: ExactOptions, gold: ExactGold) -> str | None:
        return extract_exact(response)

    def judge(
        self, extracted: str, gold: ExactGold, options: ExactOptions, request: GradeRequest
    ) -> Judgement:
        letter = _PAREN_LETTER.match(gold.answer.strip())
        if letter:
            return Judgement(correct=_letter_target(extracted) == letter.group(1))
        return Judgement(correct=normalise(extracted, options) == normalise(gold.answer, options))

    def same_answer(self, a: str, b: str, options: ExactOptions) -> bool:
        la, lb = _letter_target(a), _letter_target(b)
        if la and lb and len(a.strip()) <= 3 and len(b.strip()) <= 3:
            return la == lb
        return normalise(a, options) == normalise(b, options)
