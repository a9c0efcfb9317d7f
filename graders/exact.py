"""Exact match after normalisation (BBH targets). Knights & Knaves has its own grader: graders/knights_knaves.py."""

from __future__ import annotations

import re
import string
from typing import Any

from pydantic import Field

from graders.base import GradeRequest
from graders.choice import Forms, Reading, normalise_text, option_forms, read_stated, strip_filler
from graders.extraction import (
    Statement,
    answer_statements,
    clean_statement,
    declines,
    first_clause,
    last_line,
    nonempty_lines,
    number_word_value,
    unwrap_answer,
)
from graders.registry import Grader, Judgement, StrictModel, register


class ExactGold(StrictModel):
    """Gold: a target string ("(A)", "True", "valid", "apple banana")."""

    answer: str
    choices: list[str] | None = Field(
        default=None, description="the item's option texts in letter order (BBH multiple choice), for reading"
    )


class ExactOptions(StrictModel):
    case_sensitive: bool = False
    ignore_punctuation: bool = Field(default=False, description="drop ASCII punctuation before comparing")
    ignore_whitespace: bool = Field(default=False, description="drop all whitespace (e.g. Dyck sequences)")
    words: bool = Field(
        default=False, description="compare as word lists, ignoring commas/newlines between words"
    )


_PAREN_LETTER = re.compile(r"^\(([A-Z])\)$")


def normalise(text: str, options: ExactOptions) -> str:
    s = _number_words_as_digits(unwrap_answer(text))
    if not options.case_sensitive:
        s = s.lower()
    if options.words:
        s = " ".join(_unquoted(word) for word in re.split(r"[\s,;]+", _unbracketed_list(s)))
    if options.ignore_punctuation:
        s = s.translate(str.maketrans("", "", string.punctuation))
    s = "".join(s.split()) if options.ignore_whitespace else " ".join(s.split())
    return s.strip()


def _unbracketed_list(text: str) -> str:
    """ "[abandon, apple, banana]" (BBH word sorting written as a list) -> its items; a bracket sequence
    (Dyck languages, no letters in it) stays whole."""
    listed = re.fullmatch(r"\s*\[([^\[\]]*[A-Za-z][^\[\]]*)\]\s*", text)
    return listed.group(1) if listed else text


def _unquoted(word: str) -> str:
    quoted = re.fullmatch(r"'([^']+)'|\"([^\"]+)\"", word)
    return (quoted.group(1) or quoted.group(2)) if quoted else word


# BBH sports understanding asks "Is the following sentence plausible?" and its targets are yes / no.
_PLAUSIBILITY = {"plausible": "yes", "implausible": "no", "not plausible": "no"}


def extract_exact(response: str, *, final_only: bool = False) -> str | None:
    """The last explicit answer statement ("So the answer is X", "Answer: X", \\boxed{X}; BBH's exemplars
    end with "So the answer is X."), unwrapped from LaTeX/markdown and cut at its sentence end; without any,
    the last non-empty line (not for a cut-off response, `final_only`)."""
    response = _NEXT_QUESTION.split(response, maxsplit=1)[0]
    stated = [s for s in answer_statements(response) if not (s.tentative or (final_only and s.retracted))]
    if stated and stated[-1].kind != "heading":
        candidate: str | None = _listed_answer(response, stated[-1]) or stated[-1].text
    elif final_only and not stated:
        candidate = None
    else:
        # no statement, or a "Final Answer" heading over a sentence: read the closing sentence
        candidate = stated[-1].text if stated else (_closing_word_list(response) or last_line(response))
        line = clean_statement(candidate).rstrip() if candidate else ""
        if declines(line):
            return None  # "I cannot determine whether the argument is valid."
        if concluded := _CONCLUDED_VALUE.search(line) or _OPENING_VERDICT.match(line):
            candidate = concluded.group(1)  # "... The expression evaluates to False." -> "False"
        elif labelled := _LABELLED_LINE.match(line):
            candidate = labelled.group(1)  # "Sorted: apple banana cherry", "Result: ) ]"
        elif len(numbers := _SENTENCE_NUMBER.findall(line)) == 1 and re.search(r"[A-Za-z]", line):
            candidate = numbers[0]  # "There are 8 objects." -> "8"
    if not candidate:
        return None
    if _SENTENCE_VERDICT.match(candidate) and (concluded := _CONCLUDED_VALUE.search(clean_statement(candidate))):
        candidate = concluded.group(1)  # "So the answer is: The argument is invalid." -> "invalid"
    answer = unwrap_answer(_CONFIDENCE.sub("", first_clause(clean_statement(candidate))))
    if quoted := re.fullmatch(r"[\"\u201c](.+)[\"\u201d]|'(.+)'", answer):
        answer = quoted.group(1) or quoted.group(2)  # 'So the answer is "apple banana".'
    if signed := re.fullmatch(r"\((-\d+(?:\.\d+)?)\)", answer):
        answer = signed.group(1)  # "So the answer is (-42)." (multistep arithmetic)
    if verdict := _BINARY_ANSWER.match(answer):
        answer = verdict.group(1)  # "Yes, Elanor tells the truth" -> "Yes"
    answer = _NEGATED_VERDICT.get(answer.lower(), answer)
    return _number_words_as_digits(answer) or None


_LIST_ITEM = re.compile(r"(?:[-*\u2022]|\d{1,3}[.)])?[ \t]*([^\s,;]*[^\s,;.])[.,;]?")


def _listed_answer(response: str, statement: Statement) -> str | None:
    """ "the answer is:" ending its line, then one item per line up to a blank line or the end (BBH word
    sorting written as a list): the items joined by spaces. None for any other statement."""
    line_end = response.find("\n", statement.start)
    if (
        line_end < 0
        or statement.kind != "phrase"
        or response[statement.start : line_end].strip(" \t*_:").endswith(statement.text)
    ):
        return None
    items: list[str] = []
    for line in response[line_end + 1 :].split("\n"):
        if not line.strip():
            if items:
                break
            continue
        item = _LIST_ITEM.fullmatch(line.strip())
        if item is None:
            return None
        items.append(item.group(1))
    return " ".join(items) if len(items) >= 2 else None


_WORD_ITEM = re.compile(r"(?:[-*\u2022]|\d{1,3}[.)])?[ \t]*(?:\*\*)?([A-Za-z][A-Za-z'-]*)(?:\*\*)?[.,;]?")


def _closing_word_list(response: str) -> str | None:
    """A reply that ends on a line leading in with ":" ("The sorted list is:") and then one word per line (BBH
    word sorting written as a list, "1. apple" / "2. banana" / ...): the words joined by spaces. At least
    three words; None for any other ending."""
    lines = nonempty_lines(response)
    words: list[str] = []
    while lines and (item := _WORD_ITEM.fullmatch(lines[-1])):
        words.insert(0, item.group(1))
        lines.pop()
    if len(words) < 3 or not lines or not clean_statement(lines[-1]).endswith(":"):
        return None
    return " ".join(words)


# Without an answer statement, a last line that concludes with a two-way word or a number states it:
# "The expression evaluates to False.", "So the total is 8.", "Result: True", "Most people would say No." (BBH's
# binary and numeric targets only).
_CONCLUDED_VALUE = re.compile(
    r"(?:\b(?:is|are|equals|evaluates\s+to|say|answer)(?:\s+(?:deductively|logically|formally))?|=|:)\s+"
    r"(yes|no|true|false|(?:not\s+)?valid|invalid|(?:not\s+)?plausible|implausible|-?\d+(?:\.\d+)?)[.!]?$",
    re.IGNORECASE,
)


# A stated answer that is a sentence about the argument or sentence ("The argument is invalid.")
_SENTENCE_VERDICT = re.compile(r"^\W*(?:the|this|that)\s+(?:argument|sentence|statement|expression)\b", re.I)
# "not valid" is BBH formal fallacies' "invalid"
_NEGATED_VERDICT = {"not valid": "invalid", "not invalid": "valid"}


# "So the answer is probably True", "clearly 8": an adverb of confidence before the answer is not part of it.
_CONFIDENCE = re.compile(r"^(?:most\s+)?(?:probably|likely|definitely|clearly|certainly|indeed|surely)\s+(?=\S)", re.I)
# "So, yes, Ka tells the truth." : a closing sentence that opens with its verdict.
_OPENING_VERDICT = re.compile(r"^(?:so|thus|therefore|hence)\s*,?\s*(yes|no|true|false|valid|invalid)\b", re.I)
# "Sorted: apple banana cherry", "The missing closing brackets are: ) ]": a closing line that labels its value
# (one to eight words).
_LABELLED_LINE = re.compile(r"^[A-Za-z]+(?:[ \t]+[A-Za-z]+){0,7}[ \t]*:[ \t]+(\S.*)$")
# A number standing on its own in a sentence ("I count 8 objects in total."), not part of a word, date or time.
_SENTENCE_NUMBER = re.compile(r"(?<![\w.,:/-])-?\d+(?:\.\d+)?(?![\w,:/]|\.\d)")


# BBH's two-way targets; a stated answer that opens with one of them and goes on to explain is that word.
_BINARY_ANSWER = re.compile(r"^(yes|no|true|false|valid|invalid)(?:[,;:.!]\s|\s+(?:-|\u2013|\u2014)\s)", re.I)


# A model continuing the few-shot pattern writes the next "Q: ..." itself; what follows is not its answer.
_NEXT_QUESTION = re.compile(r"\n\s*Q:\s")


def _number_words_as_digits(answer: str) -> str:
    """ "nine" -> "9" (BBH object counting); any other answer unchanged."""
    value = number_word_value(answer)
    return str(value) if value is not None else answer


BBH_LETTERS = "ABCDEFGHIJKLMNOPQR"  # BBH's largest option lists (geometric shapes, date understanding) fit


def _letter_reading(extracted: str, choices: list[str] | None) -> Reading | None:
    """The option an extracted BBH answer names: "(B)", "b", "(B) text", the option's text (a MM/DD/YYYY
    option also written "December 21, 2026"), or the part that sets it apart from options sharing one ending
    ("the robin" for "The robin is the leftmost"); hedges ("(A) or (D)") and a letter whose text is another
    option's are readings that name no single option."""
    letters = BBH_LETTERS[: len(choices)] if choices else BBH_LETTERS
    reading = read_stated(extracted, letters, _bbh_option_forms(choices))
    if reading is None and (subject := _distinct_subject(extracted, choices)) is not None:
        return Reading(letters[subject], True)
    return reading


_MONTHS = (
    "january", "february", "march", "april", "may", "june",
    "july", "august", "september", "october", "november", "december",
)
_SLASH_DATE = re.compile(r"(\d{2})/(\d{2})/(\d{4})")


def _written_dates(option: str) -> list[str]:
    """ "12/21/2026" (BBH date understanding) -> its normalised written forms: "december 21 2026",
    "dec 21st 2026", "21 december 2026"; [] for any other option."""
    date = _SLASH_DATE.fullmatch(option.strip())
    if date is None or not 1 <= int(date.group(1)) <= 12:
        return []
    month, day, year = _MONTHS[int(date.group(1)) - 1], int(date.group(2)), date.group(3)
    suffix = "th" if 10 <= day % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    names = {month, month[:3]} | ({"sept"} if month == "september" else set())
    return [
        form
        for name in sorted(names)
        for d in (str(day), f"{day}{suffix}")
        for form in (f"{name} {d} {year}", f"{d} {name} {year}", f"the {d} of {name} {year}")
    ]


def _bbh_option_forms(choices: list[str] | None) -> Forms:
    return [
        forms + _written_dates(c) + _spans(f)
        for forms, c in zip(option_forms(choices), choices or [], strict=True)
        for f in forms[:1] or [""]
    ]


def _spans(form: str) -> list[str]:
    """ "3 pm to 5 pm" (BBH temporal sequences) -> "between 3 pm and 5 pm", "from 3 pm to 5 pm"."""
    span = re.fullmatch(r"(\d+ [ap]m) to (\d+ [ap]m)", form)
    return [f"between {span[1]} and {span[2]}", f"from {span[1]} to {span[2]}"] if span else []


def _distinct_subject(extracted: str, choices: list[str] | None) -> int | None:
    """The one option whose words before an ending all options share are the whole answer: options
    "The owl is the leftmost" / "The robin is the leftmost" and the answer "the robin" -> 1. None when the
    options share no ending, their distinct parts repeat, or the answer is not exactly one of them."""
    words = [normalise_text(c).split() for c in choices or []]
    if len(words) < 2 or not all(words):
        return None
    shared = 0
    while all(len(w) > shared + 1 for w in words) and len({w[-1 - shared] for w in words}) == 1:
        shared += 1
    heads = [_ARTICLE.sub("", " ".join(w[: len(w) - shared])) for w in words]
    if shared == 0 or len(set(heads)) < len(heads):
        return None
    answer = _ARTICLE.sub("", normalise_text(strip_filler(extracted)))
    return heads.index(answer) if answer in heads else None


_ARTICLE = re.compile(r"^(?:the|a|an)\s+")


def _letter_target(extracted: str, choices: list[str] | None = None) -> str | None:
    """The one option letter an extracted answer names, for BBH multiple-choice targets; None otherwise."""
    reading = _letter_reading(extracted, choices)
    return reading.answer if reading is not None and reading.single else None


def _as_option(answer: str | None, gold: ExactGold | None) -> str | None:
    """On a multiple-choice item, an answer naming one option becomes "(B)" ("b", "(B) Paris", "Paris"), so
    that votes for the same option agree; hedges and contradictions stay as written (they grade wrong)."""
    if answer is None or gold is None or not isinstance(gold.answer, str) or not _PAREN_LETTER.match(gold.answer.strip()):
        return answer
    letter = _letter_target(answer, gold.choices)
    return f"({letter})" if letter else answer


def _numbers_equal(extracted: str, gold: str) -> bool:
    """An integer target ("8") against an answer that is that number with a unit ("8 objects")."""
    match = re.fullmatch(r"(-?\d+)(?:\.0+)?(?:\s\D*)?", extracted.strip())  # "8 objects", "63 (sixty-three)"
    return bool(match and re.fullmatch(r"-?\d+", gold.strip()) and int(match.group(1)) == int(gold))


@register
class ExactGrader(Grader):
    name = "exact"
    runs_inline = True
    Gold = ExactGold
    Options = ExactOptions

    def _is_gold_dict(self, raw: dict[str, Any]) -> bool:
        return "answer" in raw and set(raw) <= {"answer", "choices"}

    def extract(self, response: str, options: ExactOptions, gold: ExactGold) -> str | None:
        return _as_option(extract_exact(response), gold)

    def extract_final(self, response: str, options: ExactOptions, gold: ExactGold) -> str | None:
        return _as_option(extract_exact(response, final_only=True), gold)

    def judge(
        self, extracted: str, gold: ExactGold, options: ExactOptions, request: GradeRequest
    ) -> Judgement:
        letter = _PAREN_LETTER.match(gold.answer.strip())
        if letter:
            reading = _letter_reading(extracted, gold.choices)
            if reading is not None and not reading.single:
                return Judgement(correct=False, detail=f"not one option: {reading.answer}")
            return Judgement(correct=reading is not None and reading.answer == letter.group(1))
        if _numbers_equal(extracted, gold.answer):
            return Judgement(correct=True)
        verdict = _PLAUSIBILITY.get(normalise(extracted, ExactOptions()).rstrip("."))
        if verdict is not None and gold.answer.strip().lower() in ("yes", "no"):
            return Judgement(correct=verdict == gold.answer.strip().lower(), detail=f"{extracted!r} is {verdict}")
        return Judgement(correct=normalise(extracted, options) == normalise(gold.answer, options))

    def same_answer(self, a: str, b: str, options: ExactOptions) -> bool:
        la, lb = _letter_target(a), _letter_target(b)
        if la and lb:  # "(B)" and "(B) Paris" are one vote
            return la == lb
        return normalise(a, options) == normalise(b, options)
