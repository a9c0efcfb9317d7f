"""Exact match after normalisation (BBH targets), and Knights & Knaves role assignments (`kk: true`)."""

from __future__ import annotations

import re
import string
from typing import Any

from pydantic import Field

from graders.base import GradeRequest
from graders.extraction import answer_phrase, last_boxed, last_line, strip_wrappers
from graders.registry import Grader, GraderConfigError, Judgement, StrictModel, register

Role = str  # "knight" | "knave"


class ExactGold(StrictModel):
    """Gold: a target string ("(A)", "True", "valid", "apple banana"), or with `kk: true` a name -> role map
    ({"Zoey": "knave", "Oliver": "knight"}; booleans mean knight=True)."""

    answer: str | dict[str, str | bool]


class ExactOptions(StrictModel):
    case_sensitive: bool = False
    ignore_punctuation: bool = Field(default=False, description="drop ASCII punctuation before comparing")
    ignore_whitespace: bool = Field(default=False, description="drop all whitespace (e.g. Dyck sequences)")
    words: bool = Field(
        default=False, description="compare as word lists, ignoring commas/newlines between words"
    )
    kk: bool = Field(default=False, description="Knights & Knaves: compare name -> knight/knave assignments")


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


# ---- Knights & Knaves -----------------------------------------------------------------------

_ROLE_STATEMENT = (
    r"\b{name}\b(?:\s*\*\*)?\s*(?:is|was|must\s+be|would\s+be|:|-|=)\s*(not\s+)?(?:an?\s+)?\**(knight|knave)"
)


def _gold_roles(answer: Any) -> dict[str, Role]:
    if not isinstance(answer, dict) or not answer:
        raise GraderConfigError(f"kk: gold must be a non-empty name -> role map, got {answer!r}")
    roles: dict[str, Role] = {}
    for name, role in answer.items():
        if isinstance(role, bool):
            roles[name] = "knight" if role else "knave"
        elif isinstance(role, str) and role.strip().lower() in ("knight", "knave"):
            roles[name] = role.strip().lower()
        else:
            raise GraderConfigError(f"kk: role for {name!r} must be knight/knave or a bool, got {role!r}")
    return roles


def parse_roles(text: str, names: list[str]) -> dict[str, Role]:
    """The last "X is a knight/knave" statement per name; "is not a knight" means knave."""
    roles: dict[str, Role] = {}
    for name in names:
        pattern = re.compile(_ROLE_STATEMENT.format(name=re.escape(name)), re.IGNORECASE)
        hits = list(pattern.finditer(text))
        if hits:
            negated, role = hits[-1].group(1), hits[-1].group(2).lower()
            if negated:
                role = "knave" if role == "knight" else "knight"
            roles[name] = role
    return roles


def _conclusion(text: str) -> str:
    """The part after the last conclusion marker, where the final assignment is stated."""
    markers = list(
        re.finditer(r"conclusion|final answer|the answer is|answer:|therefore|in summary", text, re.I)
    )
    return text[markers[-1].start() :] if markers else text


def format_roles(roles: dict[str, Role], names: list[str]) -> str:
    return "; ".join(f"{name}={roles[name]}" for name in names if name in roles)


def _roles_from_formatted(text: str) -> dict[str, Role]:
    pairs = [p.split("=", 1) for p in text.split(";") if "=" in p]
    return {name.strip(): role.strip() for name, role in pairs}


@register
class ExactGrader(Grader):
    name = "exact"
    runs_inline = True
    Gold = ExactGold
    Options = ExactOptions

    def _is_gold_dict(self, raw: dict[str, Any]) -> bool:
        return set(raw) == {"answer"}  # any other dict is a K&K name -> role map

    def extract(self, response: str, options: ExactOptions, gold: ExactGold) -> str | None:
        if options.kk:
            names = list(_gold_roles(gold.answer))  # which names to look for, never their roles
            roles = parse_roles(_conclusion(response), names)
            if len(roles) < len(names):
                roles = {**parse_roles(response, names), **roles}
            return format_roles(roles, names) or None
        return extract_exact(response)

    def judge(
        self, extracted: str, gold: ExactGold, options: ExactOptions, request: GradeRequest
    ) -> Judgement:
        if options.kk:
            expected = _gold_roles(gold.answer)
            got = _roles_from_formatted(extracted)
            missing = [name for name in expected if name not in got]
            detail = f"no role stated for {missing}" if missing else ""
            return Judgement(correct=got == expected, detail=detail)
        if not isinstance(gold.answer, str):
            raise GraderConfigError(f"exact: gold must be a string unless kk is set, got {gold.answer!r}")
        letter = _PAREN_LETTER.match(gold.answer.strip())
        if letter:
            return Judgement(correct=_letter_target(extracted) == letter.group(1))
        return Judgement(correct=normalise(extracted, options) == normalise(gold.answer, options))

    def same_answer(self, a: str, b: str, options: ExactOptions) -> bool:
        if options.kk:
            return _roles_from_formatted(a) == _roles_from_formatted(b)
        la, lb = _letter_target(a), _letter_target(b)
        if la and lb and len(a.strip()) <= 3 and len(b.strip()) <= 3:
            return la == lb
        return normalise(a, options) == normalise(b, options)
