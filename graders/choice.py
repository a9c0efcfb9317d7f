"""Multiple-choice answers: read the one option a free-form response settles on.

Rule (what a careful human grader does with "end with `Answer: $LETTER`"):

1. The last explicit answer statement decides: "Answer: X", "the answer is X", "**Final Answer:** X",
   ``\\boxed{X}``, "X is the correct answer", "I'll go with X". Earlier statements are what the model
   changed its mind from. A statement ending in "?" is a guess, not an answer; one that names no option
   ("the answer is consistent with ...") is passed over.
2. X may be the letter in any wrapping (``$B$``, ``\\(B\\)``, ``\\text{B}``, ``**B**``, "(b)", "option B"),
   or the option's text (exact after normalisation, or the only option the statement mentions).
3. Two different options in the final statement ("A or D", "A, C", "either B or C", boxes listed together:
   "\\boxed{B} and \\boxed{D}") are a hedge, and a letter whose accompanying text is another option's ("D. 5"
   where D is 7) contradicts itself: neither is one answer, so both grade wrong. The extraction records what
   was read ("A or D", "D but text of B"). A parenthetical remark naming another option ("joy (with a hint
   of surprise)") is not a hedge; one offering it as an alternative ("joy (or surprise)") is. A conditional
   aside after the answer ("if the question meant X, the answer would be D") is not a new answer.
4. Without any statement, looser signals count (a line that is only a letter, the last bold letter, a
   line opening with a letter, the only option text mentioned), but never lines that restate the option
   list; a letter there followed by another option's text is a contradiction as in rule 3. A response cut
   off by the length limit is graded on rule 1 only.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from pydantic import Field, field_validator, model_validator

from graders.base import GradeRequest
from graders.extraction import (
    answer_statements,
    clean_statement,
    first_clause,
    is_conditional,
    nonempty_lines,
    option_listing_lines,
    retracted_after,
    unwrap_answer,
)
from graders.registry import Grader, GraderConfigError, Judgement, StrictModel, register


class ChoiceGold(StrictModel):
    """Gold: the correct option letter, e.g. "C" (also accepted: "(C)", "c"); optionally the item's option
    texts in letter order (the task layer passes them so that an answer given as text can be read)."""

    answer: str
    choices: list[str] | None = Field(
        default=None,
        description="this item's option texts in letter order; never used to judge, only to read",
    )

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
        description="option texts in letter order when every item has the same ones (per-item texts go in the gold)",
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


# ---- reading one stated answer ------------------------------------------------------------------

Forms = list[list[str]]  # per option (in letter order): its normalised surface forms (text, synonyms)


def normalise_text(text: str) -> str:
    """Lower-case words and digits only; a minus sign before a number stays, as the word "minus" (options
    "-2" and "2", "10^{-3}" and "10^{3}" are different options), while a hyphen ("2-3", "x-ray") goes;
    so do "%" (as "percent": "10%" is not "$10"), a decimal point opening a number (".15" is 0.15) and
    thousands commas ("1,000" is "1000"); "3pm" is "3 pm"; a fraction ("2/3", "\\frac{2}{3}") is "2 over 3"."""
    fractions = _SLASH_FRACTION.sub(r"\1 over \2", _FRACTION.sub(r" \1\2 over \3\4 ", unwrap_answer(text).lower()))
    numbers = _THOUSANDS.sub("", _BARE_DECIMAL.sub("0.", fractions))
    signed = _TIMES.sub(" times ", _SIGN.sub(" minus ", numbers).replace("%", " percent "))
    return _CLOCK.sub(r"\1 \2", re.sub(r"[^a-z0-9]+", " ", signed)).strip()


# "\\frac{2}{3}", "\\dfrac23" and "2/3" are one fraction, and not the decimal "2.3" (both would be "2 3").
_FRACTION = re.compile(r"\\[dt]?frac\s*(?:\{([^{}]+)\}|(\w))\s*(?:\{([^{}]+)\}|(\w))")
_SLASH_FRACTION = re.compile(r"(?<![\w/.])(\d+|[a-z])\s*/\s*(\d+|[a-z])(?![\w/])")
_TIMES = re.compile(r"\u00d7|\\cdot|(?<=\d)\s*[x*]\s*(?=\d)")  # "5 × 10^3", "5 x 10^3" as LaTeX's "5 \times 10^3"
_BARE_DECIMAL = re.compile(r"(?<![\w.])\.(?=\d)")  # ".15" is 0.15, not 15
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")  # "1,000" is 1000


_CLOCK = re.compile(r"(\d)(am|pm)\b")  # "3pm" and "3 pm" are one time


_SIGN = re.compile(r"(?<![a-z0-9.])[-\u2212](?=\s*\.?\d)")


def option_forms(choices: list[str] | None) -> Forms:
    return [[form, *_SAME_PHRASE.get(form, ())] if (form := normalise_text(c)) else [] for c in choices or []]


# An option text and the wording replies use for it: BRAINTEASER's every item offers "None of above.".
_SAME_PHRASE = {"none of above": ("none of the above",), "none of the above": ("none of above",)}


_FILLER = re.compile(
    r"^(?:i\s+(?:think|believe|guess|would\s+say|choose|pick|select|(?:will|would)\s+go\s+with)\s+"
    r"|i'(?:d|ll)\s+(?:say|go\s+with|choose|pick)\s+|i'm\s+(?:fairly\s+|quite\s+)?(?:confident|sure)\s+"
    r"|that\s+|it\s+(?:is|must\s+be|should\s+be|would\s+be|has\s+to\s+be)\s+|it's\s+|is\s+"
    r"|(?:most\s+)?(?:probably|likely)\s+|definitely\s+|clearly\s+|maybe\s+|perhaps\s+|either\s+|both\s+"
    r"|the\s+|option\s+|choice\s+|letter\s+|answer\s+)",
    re.IGNORECASE,
)
# After a bare letter, a lower-case word that continues the sentence ("B because ...", "C is correct");
# any other lower-case word makes the letter a word: "I believe", "a cat".
_CONNECTORS = frozenset(
    {
        "because",
        "since",
        "as",
        "is",
        "seems",
        "looks",
        "would",
        "should",
        "which",
        "for",
        "with",
        "here",
        "or",
        "and",
    }
)
# Before a mention (in normalised text): "not happy", "doesn't sound happy", "rather than joy", "no fear".
# The negation reaches over a few words ("doesn't sound happy or angry") but not past a new clause ("but").
_NEGATED = re.compile(
    r"(?:\b(?:not|no|never|without|nor|neither|rather than|instead of)|n t)\s+"
    r"(?:(?!(?:but|just|rather|instead|she|he|they|it|so)\s)[a-z]+\s+){0,4}$"
)


# After a mention: "phenol is not the answer", "benzene isn't it", "toluene is wrong": the mention is ruled out.
_DENIED = re.compile(
    r"\s+(?:(?:is|are|was|seems|would\s+be)\s+(?:not|incorrect|wrong|unlikely|ruled\s+out|eliminated)"
    r"|(?:isn|aren|wasn|doesn|can)\s+t|cannot)\b"
)


def strip_filler(text: str) -> str:
    s = text.strip()
    for _ in range(6):
        match = _FILLER.match(s)
        if not match:
            break
        s = s[match.end() :].lstrip(" :")
    return s


_NEW_CLAUSE = re.compile(r"\s(?:is|are|was|isn't)\b")


class Reading(NamedTuple):
    answer: str  # one letter; or "A or D" (hedge); or "D but text of B" (contradiction)
    single: bool


def _letter_at_start(text: str, letters: str) -> tuple[str, str] | None:
    """(letter, rest) when text opens with an option letter used as a letter, else None."""
    match = re.match(
        rf"^([\(\[]\s*|[\"'\u201c\u2018](?=.[\"'\u201d\u2019]))?([{letters}{letters.lower()}])(?![A-Za-z0-9]|'[A-Za-z])\s*([\)\]\"'\u201d\u2019])?",
        text,
    )
    if not match:
        return None
    letter, rest = match.group(2), text[match.end() :]
    if match.group(1) or match.group(3):
        return letter.upper(), rest
    stripped = rest.lstrip()
    if not stripped or stripped[0] in ".:,;!-\u2013\u2014*(":
        return letter.upper(), rest
    if letter.islower():
        return None  # "a cat", "c is" : a lower-case letter counts only alone or marked
    word = re.match(r"[A-Za-z]+", stripped)
    if word is None or word.group(0)[0].isupper() or word.group(0).lower() in _CONNECTORS:
        return letter, rest
    return None


def _same_option(rest: str, forms: Forms, own: int) -> int | None:
    """The index of the option whose text `rest` (what follows a letter) gives; None when it gives none."""
    said = normalise_text(first_clause(rest.lstrip(" \t)].:-\u2013\u2014,")))
    if not said:
        return None

    def gives(i: int) -> bool:
        return any(f and (said == f or said.startswith(f + " ")) for f in forms[i])

    if own < len(forms) and gives(own):
        return own
    others = [i for i in range(len(forms)) if gives(i)]
    return others[0] if len(others) == 1 else None


# A parenthetical remark that offers no alternative: "joy (with a hint of surprise)", "sadness (mostly)". One
# that does ("joy (or surprise)", "joy (maybe surprise?)", "joy (and surprise)") is part of the answer.
_REMARK = re.compile(r"\((?![^()]*(?:\b(?:or|and|maybe|possibly|perhaps|also|either)\b|[/?]))[^()]*\)", re.I)


_BARE_NUMBER = re.compile(r"(?:minus )?\d+(?: \d+)?")  # a normalised number: "1 5" is 1.5
# " m", " kg m", but not " 10 3" (an exponent), "" or a phrase that changes the value (" or more")
_UNIT_AFTER = re.compile(r"(?: (?!(?:or|and|more|less|than|times|over|minus|plus|to|of)\b)[a-z]+){1,3}")


_CLAUSE_BREAK = re.compile(r"[.;!?\u2014]+(?=\s|$)|\s[\u2013-]\s")


def _text_options(clause: str, forms: Forms) -> list[int]:
    """Options whose text the clause states: exactly, else the options it mentions (not after "not"), leaving
    out those mentioned only in a parenthetical remark when the rest of the clause names an option."""
    said = normalise_text(clause)
    if not said:
        return []
    exact = [i for i, fs in enumerate(forms) if said in fs]
    if exact:
        return exact[:1]
    if _BARE_NUMBER.fullmatch(said):
        # "Answer: 1.5" where the options read "1.5 M", "2.0 M": the one option that is this number with a unit
        united = [i for i, fs in enumerate(forms) if any(f.startswith(said) and _UNIT_AFTER.fullmatch(f[len(said) :]) for f in fs)]
        if len(united) == 1:
            return united
    without_remarks = _REMARK.sub(" ", clause)
    if without_remarks != clause and (outside := _text_options(without_remarks, forms)):
        return outside
    pieces = re.split(r"\sor\s|,|\sand\s|/", clause)
    parts = [normalise_text(p) for p in pieces if p.strip()] if len(pieces) <= 2 * len(forms) + 2 else []
    if len(parts) > 1:
        hedged = [i for i, fs in enumerate(forms) if any(p in fs for p in parts)]
        if len(hedged) > 1:
            return hedged
    hits: dict[int, list[tuple[int, int]]] = {}
    # a negation reaches to the end of its sentence or clause, not past it ("Kevin doesn't fit; the blank is Nelson")
    sentences = [normalise_text(part) for part in _CLAUSE_BREAK.split(clause)]
    said = " | ".join(part for part in sentences if part)
    for i, fs in enumerate(forms):
        for f in fs:
            for hit in re.finditer(rf"(?<![a-z0-9]){re.escape(f)}(?![a-z0-9])", said) if f else ():
                before = said[max(0, hit.start() - 40) : hit.start()].rsplit("|", 1)[-1]
                if not (_NEGATED.search(before) or _DENIED.match(said, hit.end())):
                    hits.setdefault(i, []).append(hit.span())
    # A mention inside another option's longer mention ("emotion" in "no emotion") counts once, as the
    # longer; mentions elsewhere in the clause ("happy" beside "sad", not in "unhappy") all count.
    return [
        i
        for i, spans in hits.items()
        if any(
            not any(
                j != i and a <= start and end <= b and (a, b) != (start, end)
                for j, others in hits.items()
                for a, b in others
            )
            for start, end in spans
        )
    ]


def _alternative(rest: str, letters: str, forms: Forms, own: int) -> list[str]:
    """A second option offered after the first one's text: "B (joy) or C (surprise)", "B, or maybe fear"."""
    clause = first_clause(rest.lstrip(" \t)].:-\u2013\u2014"))
    match = re.search(  # "B (joy) or C (surprise)", "E (Sad) / G (Scared)"
        r"(?:(?:^|\s|,)(?:or|and/or)\s+|(?:\s|(?<=\)))/\s*)(?:maybe\s+|possibly\s+|perhaps\s+)?(?:option\s+)?(.*)$",
        clause,
        re.I,
    )
    if match is None:
        return []
    other = match.group(1)
    start = _letter_at_start(other.strip(), letters)
    if start is not None:
        return [start[0]] if start[0] != letters[own] else []
    options = _text_options(first_clause(other), forms) if forms else []
    return [letters[options[0]]] if len(options) == 1 and options[0] != own else []


_CLOSING_LETTER = re.compile(
    r"(?:(?<=\S)[ \t]+[\(\[]([A-Za-z])[\)\]]|(?:,[ \t]*|[ \t]+)(?:so|therefore|thus|hence)(?:,[ \t]*|[ \t]+)"
    r"(?:option[ \t]+)?[\(\[]?([A-Z])[\)\]]?)[ \t]*[.!]?$",
    re.IGNORECASE,
)


# "Option 2", "option2", "Choice #2": an option named by its position (Winogrande's own option1 / option2).
_NUMBERED_OPTION = re.compile(r"\b(?:option|choice)\s*#?\s*([1-9])(?![\d.,]?\d)", re.IGNORECASE)
# "the second option", "the first choice": an option named by its ordinal
_ORDINALS = ("first", "second", "third", "fourth", "fifth")
_ORDINAL_OPTION = re.compile(r"\b(?:the\s+)?(first|second|third|fourth|fifth)\s+(?:option|choice)\b", re.IGNORECASE)
_BARE_POSITION = re.compile(r"^[\(\[]?([12])[\)\]]?[.]?$")


def _position_as_letter(text: str, letters: str, forms: Forms) -> str:
    """An answer naming options by their positions, rewritten with their letters ("Option 2: Maria" ->
    "B: Maria", so a text that is another option's still contradicts it). A bare "1" / "2" is a position only
    between two options none of whose texts holds a digit; positions past the last option stay as written."""
    def letter(numbered: re.Match[str]) -> str:
        position = int(numbered.group(1))
        return letters[position - 1] if position <= len(letters) else numbered.group(0)

    text = _NUMBERED_OPTION.sub(letter, text)  # every one: "Option 1 or Option 2" is a hedge
    text = _ORDINAL_OPTION.sub(lambda m: letters[_ORDINALS.index(m.group(1).lower())]
                               if _ORDINALS.index(m.group(1).lower()) < len(letters) else m.group(0), text)
    if (
        len(letters) == 2
        and (bare := _BARE_POSITION.match(text))
        and forms
        and not any(re.search(r"\d", form) for option in forms for form in option)
    ):
        return letters[int(bare.group(1)) - 1]
    return text


_MAINLY = re.compile(
    r".{0,300}?(?:,[ \t]*|[ \t])but[ \t]+(?:(?:it'?s|it[ \t]+is)[ \t]+)?"
    r"(?:primarily|mainly|mostly|predominantly|chiefly|largely|more[ \t]+so)[ \t]+"
    r"(?!(?:because|since|as|due)\b)(\S.*)$",
    re.IGNORECASE,
)


def read_stated(text: str, letters: str, forms: Forms, *, by_letter: bool = True) -> Reading | None:
    """One stated answer (a statement's text) -> the option it names, a hedge, or None if it names none.

    Options are named by their letter in `letters` (position i = forms[i]); with by_letter=False only
    their texts count (labels shown without letters)."""
    cleaned = re.sub(r"^[-*\u2022][ \t]+", "", clean_statement(text))  # "Answer:" then a bullet "- C"
    if by_letter and (copied := re.match(rf"\$([{letters}])(?![A-Za-z0-9$])", cleaned)):
        cleaned = copied.group(1) + cleaned[copied.end() :]  # "Answer: $C", the prompt's "$LETTER" filled in
    if by_letter:
        cleaned = _position_as_letter(cleaned, letters, forms)
    if settled := _MAINLY.match(cleaned):
        cleaned = settled.group(1)  # "a mix of Sad and Scared, but primarily Sad" settles on Sad
    body = strip_filler(cleaned)
    if negated := re.match(r"not\s+\S.*?(?:,\s*(?:but\s+)?|\s+but\s+)(?:rather\s+)?(\S.*)$", body, re.I):
        body = strip_filler(negated.group(1))  # "not A but C", "not A, C"
    closing = _CLOSING_LETTER.search(body) if by_letter else None
    if closing and (letter := (closing.group(1) or closing.group(2)).upper()) in letters:
        # "Days get shorter (C)", "A planet spinning faster has shorter days, so C": the statement ends on
        # the one letter it settles on (after any text, which must not be another option's)
        given = _text_options(body[: closing.start()], forms) if forms else []
        if len(given) == 1 and given[0] != letters.index(letter):
            return Reading(f"{letter} but text of {letters[given[0]]}", False)
        if len(given) > 1:  # "Metformin (A) or, if contraindicated, sitagliptin (D)": two options named
            return Reading(" or ".join(dict.fromkeys([*(letters[i] for i in given), letter])), False)
        if not _letter_at_start(body, letters):
            return Reading(letter, True)
    start = _letter_at_start(body, letters) if by_letter else None
    if start is not None:
        letter, rest = start
        chain = [letter]
        link = re.compile(
            rf"[ \t]*(?:,|/|&|\bor\b|\band\b|\band/or\b)[ \t]*(?:maybe\s|possibly\s|perhaps\s|also\s)?[ \t]*"
            rf"(?:option\s)?[ \t]*[\(\[]?([{letters}{letters.lower()}])(?![A-Za-z0-9])[\)\]]?",
            re.IGNORECASE,
        )
        pos = 0
        while match := link.match(rest, pos):
            if _NEW_CLAUSE.match(rest, match.end()):
                break  # "C, D is wrong": the second letter starts a new clause
            chain.append(match.group(1).upper())
            pos = match.end()
        rest = rest[pos:]
        own = letters.index(letter)
        chain += _alternative(rest, letters, forms, own)
        distinct = list(dict.fromkeys(chain))
        if len(distinct) > 1:
            return Reading(" or ".join(distinct), False)
        given = _same_option(rest, forms, own) if forms else None
        if given is not None and given != own:
            return Reading(f"{letter} but text of {letters[given]}", False)
        return Reading(letter, True)
    if forms:
        for clause in dict.fromkeys((first_clause(cleaned), first_clause(body))):
            options = _text_options(clause, forms)
            if len(options) == 1:
                return Reading(letters[options[0]], True)
            if len(options) > 1:
                return Reading(" or ".join(letters[i] for i in options), False)
    if by_letter and re.fullmatch(r"[\(\[]?[A-Z][\)\]]?\.?", body):
        return Reading(body.strip("()[]."), False)  # a letter outside the option range: an invalid answer
    return None


# ---- the whole response -------------------------------------------------------------------------


def _verb_statements(text: str, letters: str) -> list[tuple[int, str, bool, int, bool]]:
    """ "B is the correct answer", "(C) is correct", "I'll go with D", "it should be C.": statements that the
    answer-phrase heads do not cover; each with whether it is conditional ("if ..., it would be D"), where its
    letter is, and whether a retraction ("Wait, ...") follows it."""
    cls = f"[{letters}]"
    end = r"(?=\s*(?:$|[.,;!)\n*]|\s(?:as|because|since|here|instead|after|now|then|over|for|this|finally)\b))"
    patterns = (
        rf"(?:\b(?:option|choice)\s+)?(?<![A-Za-z0-9'])[\(\[]?({cls})[\)\]]?(?:\*\*)?\s+(?:is|seems|appears|would\s+be)\s+"
        rf"(?:to\s+be\s+)?(?:(?:the|my)\s+(?:final\s+)?answer\b"
        rf"|(?:the\s+)?(?:correct|right|best|better|most\s+(?:likely|accurate|appropriate))\b)",
        rf"\b(?i:go(?:ing)?\s+with|choose|select|pick|opt\s+for|guess)\s+(?:(?i:the)\s+(?i:closest|best|nearest)"
        rf"(?:\s+(?i:one|option|answer|choice))?\s*(?::|,)?\s*)?(?:(?i:option|choice)\s+)?[\(\[]?({cls})[\)\]]?{end}",
        # "Wait, actually it should be C." / "so it's C." : a correction or conclusion naming one letter
        rf"\b(?:it|that)(?:'s|\s+is|\s+(?:should|must|has\s+to|would)\s+be)\s+(?:option\s+)?[\(\[]?({cls})[\)\]]?{end}",
        # "The best is (C).", "the correct one is B", "the most likely diagnosis is C." : a verdict naming one letter
        rf"\b(?i:the)[ \t]+(?:[A-Za-z-]+[ \t]+){{0,4}}?(?i:is|would[ \t]+be)[ \t]+"
        rf"(?:(?i:option)[ \t]+)?[\(\[]?({cls})[\)\]]?{end}",
        # "... 3.0 M, which is F.", "we are left with C.": a clause closing on the one letter it names
        rf"\b(?:(?i:which)[ \t]+(?:is|corresponds[ \t]+to|matches)|(?i:left)[ \t]+with|(?i:narrows?)[ \t]+(?:it[ \t]+)?"
        rf"down[ \t]+to)[ \t]+(?:(?i:option|choice)[ \t]+)?[\(\[]?({cls})[\)\]]?(?=[ \t]*(?:$|[.;!)\n*]))",
        # "Therefore, C." / "so (C)." : a conclusion that is only a letter
        rf"\b(?i:therefore|thus|hence|so)(?:,[ \t]*|[ \t]+)(?:(?i:option|choice)[ \t]+)?[\(\[]?({cls})[\)\]]?{end}",
    )
    return [
        (m.start(), m.group(1), is_conditional(text, m.start(), m.end()), m.start(1), retracted_after(text, m.end()))
        for p in patterns
        for m in re.finditer(p, text)
    ]


def final_reading(
    response: str,
    letters: str,
    forms: Forms,
    *,
    by_letter: bool = True,
    subjects: tuple[str, ...] = (),
    cut_off: bool = False,
) -> Reading | None:
    """Rule 1: the last explicit statement that names an option (or hedges between options). In a cut-off
    response a statement the model was retracting ("So the answer is B. Wait, ...") is not final."""
    candidates: list[tuple[int, Reading]] = []
    standing: list[int] = []  # where an answer the model stands by (not retracted) was stated
    for statement in answer_statements(response, subjects):
        if statement.tentative or (cut_off and statement.retracted):
            continue
        reading = read_stated(statement.text, letters, forms, by_letter=by_letter)
        if reading is not None:
            candidates.append((statement.start, reading))
            standing += [] if statement.retracted else [statement.start]
    if by_letter:
        for pos, letter, conditional, at, retracted in _verb_statements(response, letters):
            if (conditional and any(earlier < pos for earlier in standing)) or (cut_off and retracted):
                continue  # an aside, or (cut off) a statement being revised, as in answer_statements
            line_end = response.find("\n", at, at + 300)
            rest = response[at : at + 300 if line_end < 0 else line_end]  # "C. <B's text>": a contradiction
            candidates.append((pos, _unless_contradicted(letter, rest, letters, forms)))
    return max(candidates, key=lambda c: c[0])[1] if candidates else None


def loose_reading(response: str, letters: str, forms: Forms, *, by_letter: bool = True) -> Reading | None:
    """Rule 4: signals short of a statement, outside any restated option list."""
    lines = nonempty_lines(response)
    listing = option_listing_lines(lines, letters) if by_letter else set()
    kept = [line for i, line in enumerate(lines) if i not in listing]
    marked = [lines[i] for i in sorted(listing) if _MARKED.search(lines[i])]
    if len(marked) == 1 and (start := _letter_at_start(clean_statement(marked[0]).lstrip("*_`>-| "), letters)):
        return Reading(start[0], True)  # "A. 4 ❌ / ... / D. 7 ✅": the one option the list marks correct
    reading = _letter_signal(kept, letters, forms) if by_letter else None
    # "Joy? No. The speaker is angry.": an option asked about is not one stated
    kept = [line for line in (_ASKED.sub("", line).strip() if "?" in line else line for line in kept) if line]
    if reading is None and forms and kept and (concluded := _CONCLUDING_TEXT.search(kept[-1])):
        options = _text_options(first_clause(concluded.group(1)), forms)  # "...; so metformin."
        if len(options) == 1:
            return Reading(letters[options[0]], True)
    if reading is None and forms and kept:
        for segment in dict.fromkeys((first_clause(kept[0]), first_clause(kept[-1]), "\n".join(kept))):
            options = _text_options(segment, forms)
            if len(options) == 1:
                return Reading(letters[options[0]], True)
    return reading


_CONCLUDING_TEXT = re.compile(r"(?:^|[,;.:]\s*|\s)(?:so|therefore|thus|hence)\b[,\s]+(?:if\s+anything,?\s+)?(?!(?:if|unless)\b)([^,;.]+)[.!]?\s*$", re.I)
_ASKED = re.compile(r"(?:^|(?<=[.!?]))[^.!?\n]*\?")  # from a sentence start only: linear on a long line
_MARKED = re.compile(
    r"[\u2713\u2714\u2705]|\((?:correct|right)\)|<-+\s*(?:correct|answer)|\bcorrect answer\b"
    r"|^[^A-Za-z\n]*[A-Za-z][\)\].:][ \t*_]*(?:correct|right)\b"  # "C) Correct" among "A) Incorrect" lines
    r"|[:\u2013\u2014-][ \t*_]*(?:correct|right)\b[ \t*_.!]*$",  # "- C. 1.5 M: correct" among "- A. 0.5 M: too low"
    re.I,
)


def _letter_signal(kept: list[str], letters: str, forms: Forms) -> Reading | None:
    bare = re.compile(rf"^[\*_`\s]*[\(\[]?([{letters}])[\)\]]?[\*_`\s]*(?:[.:][\*_`\s]*)?$", re.IGNORECASE)
    for line in reversed(kept):
        if match := bare.match(clean_statement(line)):
            return Reading(match.group(1).upper(), True)
    bold = re.compile(rf"(?:\*\*|__)\s*[\(\[]?([{letters}])(?:[\)\].:]|\s*(?:\*\*|__))")
    bolds = [(m.group(1), line, m.start()) for line in kept for m in bold.finditer(line)]
    if bolds:
        letter, line, start = bolds[-1]
        return _unless_contradicted(letter, line[start : start + 300], letters, forms)
    leading = re.compile(rf"^[\*_`\s]*[\(\[]?([{letters}])(?:[\)\].:]|\s*$)")
    for line in dict.fromkeys((kept[0], kept[-1]) if kept else ()):
        if match := leading.match(line):
            return _unless_contradicted(match.group(1), line[:300], letters, forms)
    return None


def _unless_contradicted(letter: str, text: str, letters: str, forms: Forms) -> Reading:
    """The letter a loose signal gives, or the contradiction when the text after it is another option's
    ("**B) Rome**" where Rome is C), as for a stated answer (rule 3)."""
    reading = read_stated(text, letters, forms) if forms else None
    if reading is not None and reading.answer.startswith(f"{letter} but text of "):
        return reading
    return Reading(letter, True)


def read_response(
    response: str,
    letters: str,
    forms: Forms,
    *,
    final_only: bool = False,
    by_letter: bool = True,
    subjects: tuple[str, ...] = (),
) -> Reading | None:
    """The option a response settles on: its final statement, else (unless final_only) looser signals."""
    for invented in _NEXT_QUESTION.finditer(response):
        # "The answer is (C).\n\nQuestion: ... The answer is (D).": a reply that goes on to write the next
        # question itself answered the one asked before it
        if final_reading(response[: invented.start()], letters, forms, by_letter=by_letter, subjects=subjects,
                         cut_off=final_only):
            response = response[: invented.start()]
            break
    reading = final_reading(
        response, letters, forms, by_letter=by_letter, subjects=subjects, cut_off=final_only
    )
    if reading is None and not final_only:
        lines = nonempty_lines(response)
        closing = _CLOSING_ANSWER_LINE.match(clean_statement(lines[-1])) if lines else None
        if closing:
            # The response ends, as asked, on "Answer: X", and X names no option ("Answer: $98.90" where the
            # options say $98.92): it answered nothing gradable, and an option its reasoning mentions
            # earlier is not what it answered.
            return None
        reading = loose_reading(response, letters, forms, by_letter=by_letter)
    return reading


_CLOSING_ANSWER_LINE = re.compile(r"^[#>\s]*(?:final\s+)?answer\s*[:：]\s*(\S.*)$", re.IGNORECASE)
_NEXT_QUESTION = re.compile(r"\n[ \t]*(?:#{1,6}[ \t]*|\*\*)?(?:Question|Q)[ \t]*\d*[ \t]*[:.](?:\*\*)?[ \t]", re.IGNORECASE)


def extract_choice_letter(
    response: str, letters: str = "ABCD", choices: list[str] | None = None, *, final_only: bool = False
) -> str | None:
    """The option letter the response settles on ("A or D" for a hedge, see the module rule), or None."""
    reading = read_response(response, letters, option_forms(choices), final_only=final_only)
    return reading.answer if reading else None


@register
class ChoiceGrader(Grader):
    name = "choice"
    runs_inline = True
    Gold = ChoiceGold
    Options = ChoiceOptions

    def _choices(self, options: ChoiceOptions, gold: ChoiceGold | None) -> list[str] | None:
        item_choices = gold.choices if gold is not None else None
        choices = item_choices if item_choices is not None else options.choices
        if choices is not None and len(choices) > len(options.letters):
            raise GraderConfigError(f"{len(choices)} option texts but only letters {options.letters!r}")
        return choices

    def extract(self, response: str, options: ChoiceOptions, gold: ChoiceGold) -> str | None:
        return extract_choice_letter(response, options.letters, self._choices(options, gold))

    def extract_final(self, response: str, options: ChoiceOptions, gold: ChoiceGold) -> str | None:
        return extract_choice_letter(response, options.letters, self._choices(options, gold), final_only=True)

    def judge(
        self, extracted: str, gold: ChoiceGold, options: ChoiceOptions, request: GradeRequest
    ) -> Judgement:
        if gold.answer not in options.letters:
            raise GraderConfigError(f"gold letter {gold.answer!r} is not among letters {options.letters!r}")
        if extracted not in options.letters:
            return Judgement(correct=False, detail=f"not one valid option: {extracted}")
        return Judgement(correct=extracted == gold.answer)

    def same_answer(self, a: str, b: str, options: ChoiceOptions) -> bool:
        return a.strip().strip("()").upper() == b.strip().strip("()").upper()
