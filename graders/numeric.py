"""Numeric answers (FinQA-style) compared with a relative tolerance.

Default tolerance: rel_tol=1e-2 (1 %), because financial answers are routinely rounded by
the model (e.g. 14.1 vs 14.08) and FinQA golds carry arbitrary precision; tighten per task
with `rel_tol`. Percentages follow the `percent` option.
"""

from __future__ import annotations

import math
import re
from typing import Literal

from pydantic import Field

from graders.base import GradeRequest
from graders.extraction import answer_statements, clean_statement, declines, first_clause, nonempty_lines
from graders.registry import Grader, GraderConfigError, Judgement, StrictModel, register


class NumericGold(StrictModel):
    """Gold: a number, or a numeric string such as "12.5%", "$1,234", "(3.2)" (negative).

    "yes" / "no" golds (FinQA's comparison questions) are graded as a yes/no answer.
    """

    answer: float | int | str

    @property
    def yes_no(self) -> str | None:
        text = self.answer.strip().lower() if isinstance(self.answer, str) else ""
        return text if text in YES_NO else None


YES_NO = ("yes", "no")
# The "Answer: X" line the prompt asks to end with; when X states nothing usable, the reply answered nothing.
_CLOSING_ANSWER_LINE = re.compile(r"^[#>\s]*(?:\*\*)?(?:final\s+)?answer\s*(?:\*\*)?\s*[:：]", re.IGNORECASE)
_YES_NO_WORD = re.compile(r"\b(yes|no)\b", re.IGNORECASE)
_YES_OR_NO = re.compile(r"\b(?:yes|no)[ \t]*(?:/|\bor\b|\band/or\b)[ \t]*(?:yes|no)\b", re.IGNORECASE)


def extract_yes_no(response: str, *, final_only: bool = False) -> str | None:
    """yes/no from the last answer statement, else (not for a cut-off response) the last yes/no in the text."""
    for statement in reversed(answer_statements(response)):
        match = _YES_NO_WORD.search(statement.text)
        if match and not statement.tentative and not (final_only and statement.retracted):
            if _YES_OR_NO.search(first_clause(statement.text)):
                return "yes or no"  # "Answer: yes or no, depending on ...": a hedge, graded wrong
            return match.group(1).lower()
    lines = nonempty_lines(response)
    if final_only or (lines and _CLOSING_ANSWER_LINE.match(clean_statement(lines[-1]))):
        return None  # cut off, or the "Answer: X" line names neither ("Answer: N/A")
    words = _YES_NO_WORD.findall(response)
    return words[-1].lower() if words else None


class NumericOptions(StrictModel):
    rel_tol: float = Field(default=1e-2, ge=0, description="relative tolerance (1e-2 = 1 %)")
    abs_tol: float = Field(default=1e-6, ge=0, description="absolute tolerance, for golds near zero")
    percent: Literal["either", "as_number", "as_fraction"] = Field(
        default="either",
        description='"12.5%" means 12.5 (as_number), 0.125 (as_fraction), or either of them matches (either)',
    )


_NUMBER = re.compile(
    # each optional prefix carries its own trailing space, so no two \s* meet (no backtracking blow-up)
    r"(?P<neg_paren>\(\s*)?(?P<sign>(?:[-+\u2212]|(?<![\w-])negative\b)\s*)?(?:(?:[$€£¥]|usd)\s*)?"
    r"(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?(?:[eE][-+]?\d+)?|\.\d+)"
    r"(?:\s*/\s*(?P<den>\d+(?:\.\d+)?))?"
    r"(?:\s*(?P<scale>thousand|million|billion|trillion|mn|bn|tn)\b|[ \t]?(?P<abbrev>(?-i:[kKMBT]|MM))(?![A-Za-z0-9]))?"
    r"\s*(?P<pct>%|\\%|percent)?\s*(?P<close_paren>\))?",
    re.IGNORECASE,
)


class ParsedNumber(StrictModel):
    value: float
    is_percent: bool = False
    scale: int = Field(default=0, description='"thousand" = 1 ... "trillion" = 4: a power of 1000 was named')


_SCALES = ("", "thousand", "million", "billion", "trillion")
# "$5.3M", "$1.2B", "450K", "3.1 bn": the abbreviations finance writes for the scale words.
_ABBREVIATIONS = {"k": "thousand", "m": "million", "mm": "million", "mn": "million", "b": "billion",
                  "bn": "billion", "t": "trillion", "tn": "trillion"}  # fmt: skip


def _scale(word: str | None) -> int:
    if not word:
        return 0
    word = word.lower()
    return _SCALES.index(_ABBREVIATIONS.get(word, word))


def parse_number(text: str) -> ParsedNumber | None:
    """The first number in text: commas, currency signs, unicode minus, "(12)" negatives, a/b, percents."""
    cleaned = re.sub(r"\\text\{([^{}]*)\}|\\mathrm\{([^{}]*)\}", r"\1\2", text).replace("{,}", ",")
    cleaned = re.sub(r"\\[dt]?frac\{([^{}]*)\}\{([^{}]*)\}", r"\1/\2", cleaned)
    match = _NUMBER.search(cleaned)
    if match is None:
        return None
    value = float(match.group("num").replace(",", ""))
    if match.group("den"):
        den = float(match.group("den"))
        if den == 0:
            return None
        value /= den
    negative = (match.group("sign") or "").strip().lower() in ("-", "\u2212", "negative") or bool(
        match.group("neg_paren") and match.group("close_paren")
    )
    scale = _scale(match.group("scale") or match.group("abbrev"))
    return ParsedNumber(value=-value if negative else value, is_percent=bool(match.group("pct")), scale=scale)


def candidates(number: ParsedNumber, percent: str) -> list[float]:
    if number.scale:
        # "3.2 billion" against a table in millions (3200) or in units: the gold's unit is unknown, so the
        # stated amount may be given in any power of 1000.
        amount = number.value * 1000**number.scale
        return [amount / 1000**k for k in range(len(_SCALES))]
    if not number.is_percent:
        return [number.value]
    if percent == "as_number":
        return [number.value]
    if percent == "as_fraction":
        return [number.value / 100]
    return [number.value, number.value / 100]


def close(a: float, b: float, options: NumericOptions) -> bool:
    return math.isclose(a, b, rel_tol=options.rel_tol, abs_tol=options.abs_tol)


def numbers_match(a: ParsedNumber, b: ParsedNumber, options: NumericOptions) -> bool:
    return any(
        close(x, y, options) for x in candidates(a, options.percent) for y in candidates(b, options.percent)
    )


def _plain_numbers(text: str) -> str:
    """LaTeX and typography that hide a number: \\frac{1}{4} -> 1/4, \\text{}, \\%, \\$, {,}, a Unicode minus."""
    s = clean_statement(text)
    s = re.sub(r"\\[dt]?frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}", r"\1/\2", s)
    s = re.sub(r"\\(?:text|mathrm|textbf)\s*\{([^{}]*)\}", r"\1", s)
    s = re.sub(r"\\(?:left|right)\s*([()\[\]])", r"\1", s)
    return s.replace("\\%", "%").replace("\\$", "$").replace("{,}", ",")


def _is_year(match: re.Match[str]) -> bool:
    text = match.group("num")
    return bool(re.fullmatch(r"(?:19|20)\d\d", text)) and not (match.group("pct") or match.group("den"))


_VERB = re.compile(r"\b(?:is|was|are|were|equals?|be|of|comes\s+to|amounts\s+to)\b", re.IGNORECASE)


def _is_range(clause: str, first: re.Match[str], second: re.Match[str], between: str) -> bool:
    """ "3.2-3.5", "3.2 \u2013 3.5": two values joined by a dash, not a subtraction ("5.3 - 2.1 = 3.2") or years."""
    if "=" in clause or _is_year(first) or _is_year(second):
        return False
    dashed = between.strip() in ("\u2013", "\u2014") or (not between and second.group(0).startswith("-"))
    return dashed and not first.group("close_paren")


def final_quantity(stated: str) -> str | None:
    """The quantity a statement settles on: after its last "=", else after its last "is"/"was"/"of", else
    its first number that is not a year ("the change from 2019 to 2020 is 5.3%" -> 5.3%, "5.3 - 2.1 = 3.2"
    -> 3.2, "25% (from 2018 to 2019)" -> 25%). Two numbers joined by "or" are a hedge: "3.2 or 3.5"."""
    clause = _concluding_clause(_plain_numbers(stated))
    if denied := re.match(r"\s*not\s+[^,;]*?(?:[,;]\s*(?:but\s+)?|\s+but\s+)(?:rather\s+)?(\S.*)$", clause, re.I):
        clause = denied.group(1)  # "not 5.3 but 6.1", "not 5.3%, but 6.1%"
    elif re.match(r"\s*not\s", clause, re.I):
        return None  # "Answer: not 5.3" rules a value out and states none
    clause = first_clause(clause)
    numbers = list(_NUMBER.finditer(clause))
    for first, second in zip(numbers, numbers[1:], strict=False):
        between = clause[first.end() : second.start()]
        if _is_range(clause, first, second, between):
            return f"{first.group(0).strip()} or {second.group(0).strip().lstrip('-')}"  # "3.2-3.5": a hedge
        if re.fullmatch(r"\s*or\s*", between, re.IGNORECASE):
            a, b = first.group(0).strip(), second.group(0).strip()
            pa, pb = parse_number(a), parse_number(b)
            if pa is not None and pb is not None and not numbers_match(pa, pb, NumericOptions()):
                return f"{a} or {b}"  # "5.3% (or 0.053)" restates one value and is not a hedge
    for cut in (clause.rfind("="), max((m.end() for m in _VERB.finditer(clause)), default=-1)):
        if cut >= 0 and (match := _NUMBER.search(clause, cut + 1)):
            return _with_direction(clause, match)
    if not numbers:
        return None
    not_years = [m for m in numbers if not _is_year(m)]
    return _with_direction(clause, (not_years or numbers)[0])


# "a decrease of 12.5%", "declined by 12.5%", "down 12.5%", "12.5% lower", "the percentage decrease is 12.5%":
# an unsigned amount said to fall.
_FALL_BEFORE = re.compile(
    r"\b(?:(?:a|an)\s+)?(?:decrease|decline|drop|reduction|fall)\s+(?:of|by)\s*$"
    r"|\b(?:decrease|decline|drop|reduction)\s+(?:is|was|would\s+be|amounts\s+to|=|:)\s*(?:approximately\s+|about\s+)?$"
    r"|\b(?:decreased|declined|dropped|fell|reduced|shrank)\s+(?:by\s+)?$|\bdown\s+(?:by\s+)?$",
    re.IGNORECASE,
)
_FALL_AFTER = re.compile(r"^\s*\(?\s*(?:an?\s+)?(?:decrease|decline|drop|reduction|lower|less|down)\b", re.IGNORECASE)
FALL_MARK = "decrease of "


def _with_direction(clause: str, match: re.Match[str]) -> str:
    """The matched quantity, marked "decrease of X" when the words next to it say an unsigned X fell, so that
    a signed gold (-12.5, FinQA's percent changes) also takes it; a signed X stays as written."""
    quantity = match.group(0).strip()
    if match.group("sign") or match.group("neg_paren"):
        return quantity
    if _FALL_BEFORE.search(clause[: match.start()]) or _FALL_AFTER.match(clause[match.end() :]):
        return FALL_MARK + quantity
    return quantity


_CONCLUSION = re.compile(
    r"(?:[,;:]\s*|\s|^)(?:so|therefore|thus|hence|which\s+means)\s+(?=\S)", re.IGNORECASE
)
_OPENS_WITH_NUMBER = re.compile(r"^[\s*_`(\[]*(?:[-+]\s*)?(?:[$€£¥]\s*)?\.?\d")


def _concluding_clause(text: str) -> str:
    """ "Revenue rose from $1,200 million in 2019 to $1,264 million in 2020, so the change is 5.3%" -> "the
    change is 5.3%": a sentence that reaches a conclusion states its quantity there. A text that opens with
    its number ("23.4%, so the margin rose") and a conclusion without a quantity other than a year keep
    the whole text."""
    if _OPENS_WITH_NUMBER.match(text):
        return text
    marks = list(_CONCLUSION.finditer(text))
    if not marks:
        return text
    tail = text[marks[-1].end() :]
    return tail if any(not _is_year(m) for m in _NUMBER.finditer(tail)) else text


def extract_number_text(response: str, *, final_only: bool = False) -> str | None:
    """The last answer statement's final quantity; else (not for a cut-off response) the final quantity of
    the last line, else the last number."""
    for statement in reversed(answer_statements(response)):
        if statement.tentative or (final_only and statement.retracted):
            continue
        if quantity := final_quantity(statement.text):
            return quantity
    if final_only:
        return None
    lines = nonempty_lines(response)
    if lines and (declines(lines[-1]) or _CLOSING_ANSWER_LINE.match(clean_statement(lines[-1]))):
        # "... so I cannot compute the growth rate.", or the asked-for "Answer: X" line with no number in X
        # ("Answer: N/A"): no answer, whatever numbers the reasoning quoted
        return None
    if lines and (quantity := final_quantity(lines[-1])):
        return quantity  # "The growth rate was 5.3%, which was higher than in 2019." -> 5.3%
    spans = list(_NUMBER.finditer(_plain_numbers(response)))
    not_years = [span for span in spans if not _is_year(span)]  # "grew 14.3% in 2020." -> 14.3%
    return (not_years or spans)[-1].group(0).strip() if spans else None


@register
class NumericGrader(Grader):
    name = "numeric"
    runs_inline = True
    Gold = NumericGold
    Options = NumericOptions

    def extract(self, response: str, options: NumericOptions, gold: object) -> str | None:
        if isinstance(gold, NumericGold) and gold.yes_no:
            return extract_yes_no(response)
        return extract_number_text(response)

    def extract_final(self, response: str, options: NumericOptions, gold: object) -> str | None:
        if isinstance(gold, NumericGold) and gold.yes_no:
            return extract_yes_no(response, final_only=True)
        return extract_number_text(response, final_only=True)

    def judge(
        self, extracted: str, gold: NumericGold, options: NumericOptions, request: GradeRequest
    ) -> Judgement:
        if gold.yes_no:
            return Judgement(
                correct=extracted.strip().lower() == gold.yes_no, detail=f"answered {extracted!r}"
            )
        gold_number = (
            ParsedNumber(value=float(gold.answer))
            if not isinstance(gold.answer, str)
            else parse_number(gold.answer)
        )
        if gold_number is None:
            raise GraderConfigError(f"numeric: gold {gold.answer!r} has no number in it")
        if " or " in extracted:
            return Judgement(correct=False, detail=f"hedge between {extracted}")
        answer = parse_number(extracted)
        if answer is None:
            return Judgement(correct=False, detail=f"no number in {extracted!r}")
        readings = [answer]
        if extracted.startswith(FALL_MARK) and answer.value > 0:
            # a fall of 12.5 is the change -12.5; a gold of 12.5 ("by how much did it decline?") also takes it
            readings.append(answer.model_copy(update={"value": -answer.value}))
        return Judgement(
            correct=any(numbers_match(r, gold_number, options) for r in readings),
            detail=f"parsed {answer.value:g}",
        )

    def same_answer(self, a: str, b: str, options: NumericOptions) -> bool:
        if a.strip().lower() in YES_NO or b.strip().lower() in YES_NO:
            return a.strip().lower() == b.strip().lower()
        pa, pb = parse_number(a), parse_number(b)
        return pa is not None and pb is not None and numbers_match(pa, pb, options)
