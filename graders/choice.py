"""Multiple-choice answers: pull one option letter out of a free-form response."""

from __future__ import annotations

import re

from pydantic import Field, field_validator, model_validator

from graders.base import GradeRequest
from graders.extraction import answer_phrase, last_boxed, nonempty_lines, strip_wrappers
from graders.registry import Grader, GraderConfigError, Judgement, StrictModel, register


class ChoiceGold(StrictModel):
    """Gold: the correct option letter, e.g. "C" (also accepted: "(C)", "c")."""

    answer: str

    @field_validator("answer")
    @classmethod
    def _letter(cls, value: str) -> str:
        letter = value.strip().strip("()").strip().upper()
        if not re.fullmatch(r"[A-Z]", letter):
            raise ValueError(f"gold must be a single option letter, got {value!r}")
        return letter


class ChoiceOptions(StrictModel):
    letters: str = Field(
        default="ABCD", description='valid option letters, e.g. "ABCD", "ABCDE", or a range "A-J"'
    )
    choices: list[str] | None = Field(
        default=None,
        description="option texts in letter order; lets a response that repeats a choice's text count",
    )

    @field_validator("letters")
    @classmethod
    def _expand_range(cls, value: str) -> str:
        value = value.strip().upper()
        if re.fullmatch(r"[A-Z]\s*-\s*[A-Z]", value):
            first, last = value[0], value[-1]
            if first > last:
                raise ValueError(f"empty letter range {value!r}")
            return "".join(chr(c) for c in range(ord(first), ord(last) + 1))
        if not re.fullmatch(r"[A-Z]+", value):
            raise ValueError(f'letters must be like "ABCD" or "A-J", got {value!r}')
        return value

    @model_validator(mode="after")
    def _choices_fit(self) -> ChoiceOptions:
        if self.choices is not None and len(self.choices) > len(self.letters):
            raise ValueError(f"{len(self.choices)} choices but only letters {self.letters!r}")
        return self


def _patterns(letters: str) -> dict[str, re.Pattern[str]]:
    cls = f"[{letters}]"
    after = r"(?![A-Za-z0-9])"
    return {
        # "answer is (C)", "Answer: C", "correct option is C", "final answer: **C**", "Option C is correct"
        "phrase": re.compile(
            r"(?:answer|(?:correct|right|best)\s+(?:option|choice))\s*(?:\*\*|__)?\s*"
            r"(?:is|would\s+be|should\s+be|will\s+be|:|=)\s*:?\s*(?:the\s+)?(?:option|choice|letter)?\s*"
            rf"[\*_`\s]*[\(\[]?\s*({cls}){after}",
            re.IGNORECASE,
        ),
        "option_first": re.compile(
            rf"\b(?:option|choice)\s+\(?({cls})\)?\s+is\s+(?:the\s+)?correct", re.IGNORECASE
        ),
        "bare_line": re.compile(rf"^[\*_`\s]*[\(\[]?({cls})[\)\]]?[\*_`\s]*[.:]?[\*_`\s]*$"),
        "bold": re.compile(rf"(?:\*\*|__)\s*[\(\[]?({cls})(?:[\)\].:]|\s*(?:\*\*|__))"),
        "leading": re.compile(rf"^[\*_`\s]*[\(\[]?({cls})(?:[\)\].:]|\s*$)"),
    }


def _phrase_letter(text: str, pattern: re.Pattern[str]) -> str | None:
    hits = [m for m in pattern.finditer(text)]
    for match in reversed(hits):
        letter = match.group(1)
        # A lowercase letter counts only when clearly marked, so "the answer is a cat" is not "A".
        if letter.isupper() or re.search(r"[\(\[\*]\s*$", text[: match.start(1)]):
            return letter.upper()
    return None


def _normalise_choice_text(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


def _match_choice_text(text: str, choices: list[str], letters: str) -> str | None:
    """The letter whose option text is the response's answer (exact, else the only one mentioned)."""
    said = _normalise_choice_text(text)
    if not said:
        return None
    normalised = [_normalise_choice_text(c) for c in choices]
    exact = [letters[i] for i, c in enumerate(normalised) if c and c == said]
    if len(exact) == 1:
        return exact[0]
    mentioned = [
        letters[i] for i, c in enumerate(normalised) if c and re.search(rf"\b{re.escape(c)}\b", said)
    ]
    return mentioned[0] if len(mentioned) == 1 else None


def extract_choice_letter(
    response: str, letters: str = "ABCD", choices: list[str] | None = None
) -> str | None:
    """Most explicit signal first: answer phrases, \\boxed{}, a bare letter line, bold letters,
    a line starting with a letter marker, and finally the repeated text of one choice."""
    pats = _patterns(letters + letters.lower())
    for key in ("phrase", "option_first"):
        letter = _phrase_letter(response, pats[key])
        if letter:
            return letter
    boxed = last_boxed(response)
    if boxed is not None:
        inner = re.sub(r"\\text(?:bf)?\{([^{}]*)\}", r"\1", boxed)
        letter = _phrase_letter(strip_wrappers(inner), pats["leading"])
        if letter:
            return letter
    lines = nonempty_lines(response)
    for line in reversed(lines):
        match = pats["bare_line"].match(line)
        if match:
            return match.group(1).upper()
    bold = [m.group(1) for m in pats["bold"].finditer(response)]
    if bold:
        return bold[-1].upper()
    if lines:
        for line in (lines[0], lines[-1]):
            match = pats["leading"].match(line)
            if match and match.group(1).isupper():
                return match.group(1)
    if choices:
        for candidate in (answer_phrase(response), lines[-1] if lines else None, response):
            if candidate:
                letter = _match_choice_text(strip_wrappers(candidate), choices, letters)
                if letter:
                    return letter
    return None


@register
class ChoiceGrader(Grader):
    name = "choice"
    runs_inline = True
    Gold = ChoiceGold
    Options = ChoiceOptions

    def extract(self, response: str, options: ChoiceOptions, gold: object) -> str | None:
        return extract_choice_letter(response, options.letters, options.choices)

    def judge(
        self, extracted: str, gold: ChoiceGold, options: ChoiceOptions, request: GradeRequest
    ) -> Judgement:
        if gold.answer not in options.letters:
            raise GraderConfigError(f"gold letter {gold.answer!r} is not among letters {options.letters!r}")
        return Judgement(correct=extracted == gold.answer)

    def same_answer(self, a: str, b: str, options: ChoiceOptions) -> bool:
        return a.strip().strip("()").upper() == b.strip().strip("()").upper()
