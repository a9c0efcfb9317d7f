"""Math answers: extract the final answer, check equivalence with math-verify (sympy fallback).

math-verify's timeouts use ``signal.alarm``, which only works in a process's main thread.
In the main thread we keep its timeouts; elsewhere we disable them (math-verify would raise),
and the time limit is enforced by :class:`graders.pool.GradingPool`, which grades math in
worker processes' main threads where the alarm-based timeouts apply again.
"""

from __future__ import annotations

import itertools
import re
import threading
from typing import Any

from pydantic import Field

from graders.base import GradeRequest
from graders.extraction import (
    answer_element,
    answer_phrase,
    first_math_span,
    last_boxed,
    number_word_value,
    plain_minus,
    retracted_after,
    strip_wrappers,
)
from graders.registry import (
    Grader,
    GraderConfigError,
    GradingInfrastructureError,
    Judgement,
    StrictModel,
    register,
)

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
    decimal_gold_asks_decimal: bool = Field(
        default=False,
        description="a gold written as a terminating decimal means the problem asks for a decimal, so a "
        "fraction does not answer it (true of every such item in MATH-500 and LiveMathBench)",
    )


# A box the model questions right away ("\\boxed{288\\pi}? Wait...") is a guess, not an answer.
_TENTATIVE_AFTER_BOX = re.compile(
    r"[\s$*)\]\\]*(?:\?|[.,;:!]?\s*(?:wait|hmm+|hold on|actually|no[,.!]|or is it|let me re-?check that))",
    re.IGNORECASE,
)
# Boxes joined only by a connective on one line are one answer: "\\boxed{3} and \\boxed{4}" -> "3, 4"; so are
# boxes where the later one is offered as an alternative ("\\boxed{371}. Or possibly \\boxed{369}"): a hedge.
_BOX_JOINER = re.compile(
    r"[ \t$*]*(?:,|;|&|and|or|\\text\{\s*(?:and|or|,)\s*\})?[ \t$*]*"
    r"|[\s$*.,;:]*(?:or\s+)?(?:possibly|maybe|perhaps|alternatively|it\s+(?:could|might)\s+(?:also\s+)?be)\b[\s,:$*]*",
    re.IGNORECASE,
)
_ANSWER_JOINER = re.compile(r"\s*(?:,|and|or)\s*", re.IGNORECASE)
# "if the answer is 12" states a hypothesis, never an answer.
_HYPOTHESIS = re.compile(
    r"\b(?:if|suppose|assuming|assume|whether)\s+(?:that\s+)?(?:the\s+)?(?:final\s+)?answer\W*$",
    re.IGNORECASE,
)
# In a response cut off mid-reasoning, "maybe the answer is 12" is a guess the model had not settled on.
_GUESS = re.compile(
    r"\b(?:maybe|perhaps|possibly|probably|might|not sure|unsure|i guess|let's say|tentatively)\b[^.\n]*$",
    re.IGNORECASE,
)


def boxes(text: str) -> list[tuple[int, int, str]]:
    """Every complete \\boxed{...}/\\fbox{...} in order: (start, end, content); an unbalanced box is skipped."""
    found = []
    for match in re.finditer(r"\\(?:boxed|fbox)(?![A-Za-z])\s*", text):
        start, i = match.start(), match.end()
        if i < len(text) and text[i] == "{":
            depth = 0
            for j in range(i, len(text)):
                depth += {"{": 1, "}": -1}.get(text[j], 0)
                if depth == 0:
                    found.append((start, j + 1, text[i + 1 : j].strip()))
                    break
        else:
            bare = re.match(r"[^\s$]+", text[i:])  # \boxed 5
            if bare:
                found.append((start, i + bare.end(), bare.group(0)))
    return [box for box in found if box[2]]


def _is_tentative(text: str, box_end: int) -> bool:
    return _TENTATIVE_AFTER_BOX.match(text, box_end) is not None


_UNKNOWN_BEFORE_BOX = re.compile(r"(?P<var>[A-Za-z]\w*)\s*=\s*\$?\s*$")
_JOINED_UNKNOWN = re.compile(r"[ \t$*]*(?:,|;|and|or)?[ \t$*]*(?P<var>[A-Za-z]\w*)\s*=\s*\$?\s*", re.IGNORECASE)


def _same_unknown_listed(text: str, previous: tuple[int, int, str], box: tuple[int, int, str]) -> bool:
    """Two boxes that give values of the same unknown, joined by a connective: "$n = \\boxed{1}$ and
    $n = \\boxed{-2}$" lists two solutions. Boxes for different unknowns ("x = ..., y = ...") are not joined."""
    before = _UNKNOWN_BEFORE_BOX.search(text, max(0, previous[0] - 40), previous[0])
    between = _JOINED_UNKNOWN.fullmatch(text, previous[1], box[0])
    return before is not None and between is not None and before.group("var") == between.group("var")


def final_boxed(text: str) -> str | None:
    """The last box that is not a tentative guess, joined with the boxes listed right before it."""
    kept = [box for box in boxes(text) if not _is_tentative(text, box[1])]
    if not kept:
        return None
    group = [kept[-1]]
    for previous in reversed(kept[:-1]):
        if not (
            _BOX_JOINER.fullmatch(text, previous[1], group[0][0])
            or _same_unknown_listed(text, previous, group[0])
        ):
            break
        group.insert(0, previous)
    return ", ".join(strip_wrappers(content) for _, _, content in group)


def _phrase_answer(tail: str) -> str:
    """The math in a phrase tail: its $...$ spans when only connectives join them ("$x<-1$ or $x>6$")."""
    spans = list(re.finditer(r"\$\$?(.+?)\$\$?|\\\((.+?)\\\)", tail))
    if len(spans) > 1:
        joined = [spans[0]]
        for span in spans[1:]:
            if not _ANSWER_JOINER.fullmatch(tail, joined[-1].end(), span.start()):
                break
            joined.append(span)
        if len(joined) > 1:
            return ", ".join((m.group(1) or m.group(2)).strip() for m in joined)
    boxed = last_boxed(tail)
    if boxed or re.search(r"\$|\\\(", tail):
        return boxed or first_math_span(tail)
    return _without_trailing_clause(first_math_span(tail))


# "12 because 3 x 4 = 12", "12 (since 3*4)", "12, not 13": a reason or remark after a plain value; a list
# ("3, and 4"), a sentence answer ("The speed of the bus is 16 km/h, and ...") or a hedge ("12 or 13") is whole.
_TRAILING_CLAUSE = re.compile(
    r"\s+(?:because|since|as|given|due\s+to)\s.*$"
    r"|\s*\((?:since|because|as|from|by|using|which)\b[^)]*\)\s*$"
    r"|,\s+not\s.*$",
    re.IGNORECASE,
)


def _without_trailing_clause(answer: str) -> str:
    cut = _TRAILING_CLAUSE.sub("", answer, count=1).strip()
    return cut if cut and (re.search(r"\d|\\", cut) or re.fullmatch(r"[A-Za-z]+", cut)) else answer


# The last line of a complete reply that is only a value ("204", "$$\\frac{14}{3}$$"), or ends in one ("so m + n = 116.").
_BARE_VALUE_LINE = re.compile(
    r"\s*(?:#{1,6}\s*)?(?:\*\*)?\s*(?:\$\$?|\\\[|\\\()?\s*(?P<value>[-+]?\d[\d,]*(?:\.\d+)?|\\d?frac\{[^{}]+\}\{[^{}]+\})\s*(?:\$\$?|\\\]|\\\))?\s*(?:\*\*)?\s*\.?\s*"
)
# "so m + n = 116.", "The smallest such integer is 7.", "... equals **12**."
# "So the area is 12 square units.", "Thus, there are 37 ways.": up to three words of unit after the value.
_UNIT_WORD = (
    r"\s+(?!(?:more|less|fewer|than|times|of|and|or|if|when|but|because|since|for|to|in|on|at|by|with|minus"
    r"|plus|is|are|so|then)\b)[a-z]+"
)
_FINAL_EQUATION = re.compile(
    r"(?:=\s*(?:\*\*)?\s*\$?\s*(?P<value>[-+]?\d[\d,]*(?:\.\d+)?)"
    r"|\b(?:is|equals|are)\s+(?:\*\*)?\s*\$?\s*(?P<said>[-+]?\d[\d,]*(?:\.\d+)?(?:/\d+)?)\s*\$?\s*(?:\*\*)?(?:" + _UNIT_WORD + r"){0,3})"
    r"\s*\$?\s*(?:\*\*)?\s*[.\u3002]?\s*$"
)
_MATH_SPAN = r"(?:\$\$(?P<d>[^$]+)\$\$|\$(?P<i>[^$]+)\$|\\\((?P<p>.+?)\\\)|\\\[(?P<b>.+?)\\\])"
# "The probability is $\\frac{3}{8}$.", "After simplification, we get $\\frac{1}{2}$.", "So, $x = \\frac{1}{2}$.":
# a closing line that ends in a math span after a verb of result, or in an equation.
# "The area is $12\\sqrt{3}$ square units.": up to three words of unit may follow the span.
_CLOSING_SPAN = re.compile(
    r"(?:=|\b(?:is|are|equals|get|gives|obtain|becomes)\b|:|为|是|等于)\s*(?:\*\*)?\s*" + _MATH_SPAN
    + r"\s*(?:\*\*)?(?:" + _UNIT_WORD + r"){0,3}\s*[.\u3002]?\s*$"
)
_CLOSING_EQUATION = re.compile(r"(?:^|\s)\$(?P<i>[^$]*=[^$]+)\$\s*[.\u3002]?\s*$")
_RESULT_LEAD = re.compile(r"(?:=|\b(?:is|are|equals|get|gives|obtain|becomes)|:)\s*$")


def _closing_display_joined(lines: list[str]) -> list[str]:
    """A display block over several lines that the reply ends with ("\\[" / "12\\sqrt{3}" / "\\]") as one
    line, joined to the line before it when that line leads into it ("Therefore the area is")."""
    text = "\n".join(lines)
    for opening, closing in (("\\[", "\\]"), ("$$", "$$")):
        if not text.endswith(closing):
            continue
        start = text.rfind(opening, 0, len(text) - len(closing))
        content = " ".join(text[start + len(opening) : -len(closing)].split())
        if start < 0 or "\n" not in text[start:] or not content:
            continue  # a one-line display is read as it is
        head, _, last = text[:start].rstrip().rpartition("\n")
        joined = (last + " " if _RESULT_LEAD.search(last) else last + "\n") + opening + content + closing
        return [line for line in (head + "\n" + joined).split("\n") if line.strip()]
    return lines


# "So the solution set is $x \\le 2$ or $x > 3$.": a closing line that names what it gives in math spans.
_SOLUTION_LINE = re.compile(
    r"\b(?:solution\s+set|solutions?|roots?|possible\s+values?|values?)\s+(?:(?:of|for)\s+\$?[A-Za-z]\$?\s+)?"
    r"(?:is|are)\s*:?\s*(?P<tail>(?:\$|\\\().*)$",
    re.IGNORECASE,
)


def _closing_solutions(line: str) -> str | None:
    """"We get $x = 3$ or $x = -2$.": a closing line ending in values of one unknown joined by connectives
    lists them all; values of different unknowns ("$a = 2$ and $b = 5$") are not joined."""
    if not (_CLOSING_SPAN.search(line) or _CLOSING_EQUATION.search(line)):
        return None
    spans = list(re.finditer(_MATH_SPAN, line))
    joined = spans[-1:]
    for previous in reversed(spans[:-1]):
        if not _ANSWER_JOINER.fullmatch(line, previous.end(), joined[0].start()):
            break
        joined.insert(0, previous)
    values = [next(part for part in m.groups() if part is not None).strip() for m in joined]
    unknowns = {value.split("=")[0].strip() for value in values if "=" in value}
    if len(values) < 2 or len(unknowns) > 1 or (unknowns and not all("=" in value for value in values)):
        return None
    return ", ".join(value.split("=")[-1].strip() for value in values)


_BOLD_COMMAND = re.compile(r"\\textbf\{([^{}$]*)\}")


def final_value_line(response: str) -> str | None:
    """A complete reply's closing value when it states no box and no answer phrase."""
    lines = [line.rstrip() for line in response.splitlines() if line.strip()]
    if not lines:
        return None
    lines = _closing_display_joined(lines)
    if not re.search(r"\$|\\\(", lines[-1]):
        lines[-1] = _BOLD_COMMAND.sub(r"**\1**", lines[-1])  # "... is \\textbf{4}." as "... is **4**."
    listed = _closing_solutions(lines[-1])
    if listed:
        return listed
    solution = _SOLUTION_LINE.search(lines[-1])
    if solution:
        return strip_wrappers(_phrase_answer(solution.group("tail"))) or None
    bare = _BARE_VALUE_LINE.fullmatch(lines[-1]) or _FINAL_EQUATION.search(lines[-1])
    if bare:
        return bare.groupdict().get("value") or bare.groupdict().get("said")
    span = _CLOSING_SPAN.search(lines[-1]) or _CLOSING_EQUATION.search(lines[-1])
    if span:
        return next(part for part in span.groups() if part is not None).strip() or None
    return None


_LETTER_BEFORE_MATH = re.compile(r"\s*(?:\*\*)?\(([A-E])\)\s*(?:\*\*)?\s*(?=\$|\\\()")
_OPTION_PREFIX = re.compile(r"^\([A-E]\)\s+(?=\S)")
_BOXED_PHRASE = re.compile(r"^\\text\{\s*(?:the\s+)?(?:final\s+)?answer\s+is:?\s*\}\s*", re.IGNORECASE)


def extract_math_answer(response: str, cut_off: bool = False) -> str | None:
    """The final box (see final_boxed); else the tail of the last "the answer is"/"Answer:" phrase, unless
    it states a hypothesis ("if the answer is 12") or, in a cut-off response, a guess ("maybe the answer is 12");
    else, in a complete reply, a closing line that is a value or ends in "= value"."""
    boxed = final_boxed(response)
    if boxed:
        return _BOXED_PHRASE.sub("", boxed) or boxed  # "\boxed{\text{The answer is } 5}" boxes 5
    element = answer_element(response)
    if element is not None:  # "<answer>5</answer>"
        return strip_wrappers(_phrase_answer(element)) or None
    tail = answer_phrase(response)
    if tail is None:
        return None if cut_off else final_value_line(response)
    where = response.rfind(tail)
    if where >= 0:
        line_start = response.rfind("\n", 0, where) + 1
        before = response[line_start:where]
        before = (
            before[: before.lower().rfind("answer") + len("answer")] if "answer" in before.lower() else before
        )
        if _HYPOTHESIS.search(before) or (cut_off and _GUESS.search(before)):
            return None
    if re.search(r"\\(?:boxed|fbox)(?![A-Za-z])", tail) and last_boxed(tail) is None:
        return None  # "the final answer is $\boxed{1" : the box was cut off, its value unknown
    if last_boxed(tail) is not None and boxes(response):
        # "The answer is $\boxed{5}$. Hmm wait, that's not right. ...": the phrase's box is the guess that
        # final_boxed passed over; only what the reply closes on after it can answer
        after = response[boxes(response)[-1][1] :]
        if cut_off or _REJECTS.search(after) or re.match(r"[\s$*)\]\\]*\?", after):  # "\\boxed{11}?" asks
            return None if cut_off else final_value_line(after)
        return final_value_line(after) or strip_wrappers(_phrase_answer(tail)) or None  # "Wait, let me verify: yes."
    if cut_off and where >= 0 and retracted_after(response, _sentence_end(response, where)):
        return None  # "The answer is 5. But wait" and cut off: the model was revising it
    answer = strip_wrappers(_phrase_answer(tail))
    if (lettered := _LETTER_BEFORE_MATH.match(tail)) and answer and not answer.startswith("("):
        answer = f"({lettered.group(1)}) {answer}"  # "The answer is (D) $2\\sqrt{3}$": the option and its value
    word_value = number_word_value(answer)  # "Answer: twelve"
    return str(word_value) if word_value is not None else answer or None


# "that's not right", "I made a mistake": the reply rejects what it stated before
_REJECTS = re.compile(r"\b(?:not\s+(?:right|correct)|(?:is|was|'s)\s+(?:wrong|incorrect)|mistake|an\s+error)\b", re.I)


def _sentence_end(text: str, start: int) -> int:
    """Where the sentence that text[start:] opens ends (past its full stop or line break)."""
    end = re.compile(r"[.!?;](?:\s|$)|\n").search(text, start)
    return end.end() if end else len(text)


def _timeouts() -> int | None:
    return MATH_VERIFY_TIMEOUT_S if threading.current_thread() is threading.main_thread() else None


def _timed_out(what: str, text: str) -> GradingInfrastructureError:
    # A timeout says how busy the machine was, not whether the answer is right: stored as "error" (regraded
    # on resume), never as "wrong". math-verify's own default (raise_on_error=False) returns False instead.
    return GradingInfrastructureError(
        f"math-verify {what} timed out after {MATH_VERIFY_TIMEOUT_S} s on {text[:200]!r}"
    )


def _mv_parse(answer: str) -> list[Any]:
    from math_verify import parse
    from math_verify.errors import TimeoutException

    text = "\\boxed{" + answer + "}"
    try:
        return parse(text, parsing_timeout=_timeouts(), raise_on_error=True)
    except TimeoutException:
        raise _timed_out("parsing", answer) from None
    except Exception:
        return []


def math_verify_equal(gold: str, answer: str) -> bool | None:
    """math-verify's verdict (gold first), or None when either side does not parse. An answer written as
    inequalities in one variable ("3 < x \\le 4", "x < -1 or x > 6") is compared as the set it describes
    when the other side is an interval or union, and the other way round."""
    from math_verify import verify as mv_verify
    from math_verify.errors import TimeoutException

    def verify(gold_parsed: list[Any], answer_parsed: list[Any], timeout_seconds: int | None) -> bool:
        # Pair by pair, as math-verify's own any() does, but a timeout is raised instead of read as False.
        for g, t in itertools.product(gold_parsed, answer_parsed):
            try:
                if mv_verify(g, t, timeout_seconds=timeout_seconds, raise_on_error=True):
                    return True
            except TimeoutException:
                raise _timed_out("comparison", answer) from None
            except Exception:
                continue
        return False

    parsed_gold, parsed_answer = _mv_parse(gold), _mv_parse(answer)
    if not parsed_gold or not parsed_answer:
        return None
    try:
        if verify(parsed_gold, parsed_answer, timeout_seconds=_timeouts()):
            return True
        vectors = _as_same_vectors(parsed_gold[0], parsed_answer[0])
        if vectors is not None:
            return bool(verify([vectors[0]], [vectors[1]], timeout_seconds=_timeouts()))
        gold_set, answer_set = _solution_set(parsed_gold[0]), _solution_set(parsed_answer[0])
        if (
            gold_set is None
            or answer_set is None
            or not (_is_set(parsed_gold[0]) or _is_set(parsed_answer[0]))
        ):
            return False
        return bool(verify([gold_set], [answer_set], timeout_seconds=_timeouts()))
    except GradingInfrastructureError:
        raise
    except Exception:
        return None


def _as_same_vectors(gold: Any, answer: Any) -> tuple[Any, Any] | None:
    """A vector written as a column (or row) matrix on one side and as a tuple "(1, 2, 3)" on the other:
    both as matrices of the matrix's shape, so they compare entry by entry; None for anything else."""
    import sympy

    def entries_of(expr: Any) -> Any:
        if isinstance(expr, sympy.Interval) and expr.left_open and expr.right_open:
            return sympy.Tuple(expr.start, expr.end)  # "(1, 2)" parses as an open interval
        return expr

    gold, answer = entries_of(gold), entries_of(answer)

    def reshaped(matrix: Any, entries: Any) -> Any:
        if 1 not in matrix.shape or len(entries) != len(matrix) or len(entries) < 2:
            return None
        return sympy.Matrix(list(entries)).reshape(*matrix.shape)

    if isinstance(gold, sympy.MatrixBase) and isinstance(answer, sympy.Tuple):
        other = reshaped(gold, answer)
        return None if other is None else (gold, other)
    if isinstance(answer, sympy.MatrixBase) and isinstance(gold, sympy.Tuple):
        other = reshaped(answer, gold)
        return None if other is None else (other, answer)
    return None


def _is_set(expr: Any) -> bool:
    import sympy

    return isinstance(expr, sympy.Set) and not isinstance(expr, sympy.FiniteSet)


def _solution_set(expr: Any) -> Any:
    """The real set an interval/union, a list of intervals, or inequalities in one variable describe; None for
    anything else. A list of inequalities ("x < -1, x > 6", "x < -1 or x > 6") is their union, as in "all x with ..."."""
    import sympy
    from sympy.logic.boolalg import Boolean

    if _is_set(expr):
        return expr
    parts = list(expr) if isinstance(expr, sympy.FiniteSet) else [expr]
    if len(parts) > 1 and all(isinstance(part, sympy.Set) for part in parts):
        # "(-\\infty, -1) \\text{ and } (6, \\infty)" lists the parts of a union; parts that overlap are no
        # such list ("(1, 3), (2, 4)" are points, whose "union" (1, 4) another point must not match)
        disjoint = all(a.intersect(b) == sympy.S.EmptySet for a, b in itertools.combinations(parts, 2))
        return sympy.Union(*parts) if disjoint else None
    if not parts or not all(isinstance(part, Boolean) and not isinstance(part, sympy.Eq) for part in parts):
        return None
    symbols = set().union(*(part.free_symbols for part in parts))
    if len(symbols) != 1:
        return None
    try:
        return sympy.Union(*(part.as_set() for part in parts))
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


_RELATION = re.compile(r"\\g(?:eq?|t)(?![A-Za-z])|\\l(?:eq?|t)(?![A-Za-z])|>=|<=|[<>≤≥]")
_DESCENDING = {"\\ge": "\\le", "\\geq": "\\le", ">=": "\\le", "≥": "\\le", ">": "<", "\\gt": "<"}
_ASCENDING = {"\\le": "\\le", "\\leq": "\\le", "<=": "\\le", "≤": "\\le", "<": "<", "\\lt": "<"}


def _ascending_chain(answer: str) -> str | None:
    """A chain of inequalities ("a > b > c", "x \\ge 2") written in ascending order ("c<b<a", "2\\lex"), so that
    the two directions of the same chain compare equal as text; None when the relations are mixed or absent."""
    relations = _RELATION.findall(answer)
    terms = [_normalise_text(term) for term in _RELATION.split(answer)]
    if not relations or any(not term for term in terms):
        return None
    if all(r in _ASCENDING for r in relations):
        return "".join(t + _ASCENDING[r] for t, r in zip(terms, relations, strict=False)) + terms[-1]
    if all(r in _DESCENDING for r in relations):
        terms, relations = terms[::-1], relations[::-1]
        return "".join(t + _DESCENDING[r] for t, r in zip(terms, relations, strict=False)) + terms[-1]
    return None


def _words(answer: str) -> list[str] | None:
    """The words of a plain-text answer ("\\text{sufficient but not necessary}"); None if it has any math."""
    s = re.sub(r"\\(?:text|mathrm|textbf)\{([^{}]*)\}", r"\1", answer).strip().rstrip(".").lower()
    s = re.sub(r"^(?:a|an|the)\s+", "", s)  # "a necessary and sufficient condition"
    return s.split() if re.fullmatch(r"[a-z]+(?:[ \t]+[a-z]+)*", s) else None


def _same_phrase_but_head_noun(gold: str, answer: str) -> bool:
    """Text answers that differ only by a last word naming the kind of answer the blank asks for
    ("sufficient but not necessary" for "sufficient but not necessary condition"). The shared words must be
    in the same order and at least two, so "necessary but not sufficient" never matches its reverse."""
    a, b = _words(gold), _words(answer)
    if a is None or b is None:
        return False
    if a == b:
        return True
    if abs(len(a) - len(b)) != 1:
        return False
    shorter, longer = sorted((a, b), key=len)
    return len(shorter) >= 2 and longer[:-1] == shorter


# A number set in a text box with its unit: "\\text{20 square feet}" is 20\\text{ square feet}.
_NUMBER_IN_TEXT = re.compile(r"\\(?:text|mbox|mathrm)\{\s*([-+]?\d[\d,]*(?:\.\d+)?)\s+([A-Za-z][A-Za-z ]*)\}")
# Digits grouped by thin spaces: "1\\,000\\,000".
_SPACED_THOUSANDS = re.compile(r"[-+]?\d{1,3}(?:(?:\\,|\\ |\\;|~)\d{3})+(?:\.\d+)?")
_PERCENT = re.compile(r"\s*(?:\\%|%|\\text\{\s*\\?%\s*\}|\\text\{\s*percent\s*\}|\s+percent)\s*$")


# "\\{x \\mid x < -1 \\text{ or } x > 6\\}": the set of x with a condition is the condition on x.
_SET_BUILDER = re.compile(
    r"\s*\\\{\s*(?P<var>[A-Za-z])\s*(?:\\in\s*\\mathbb\{R\}\s*)?(?:\\mid|\\vert|\||:|\\colon)\s*(?P<cond>.+?)\s*\\\}\s*"
)
# The combination count C_n^k is \\binom{n}{k}.
_COMBINATION = re.compile(r"C_(?:\{(?P<n>[^{}]+)\}|(?P<n1>\w))\^(?:\{(?P<k>[^{}]+)\}|(?P<k1>\w))")


def _as_binomial(match: re.Match[str]) -> str:
    n, k = match.group("n") or match.group("n1"), match.group("k") or match.group("k1")
    return "\\binom{" + n + "}{" + k + "}"


# "12√3", "√(a+5)", "√{2}": the root sign as typed, before math-verify (which reads only \\sqrt).
_ROOT_SIGN = re.compile(r"\u221a\s*(?:\(([^()]*)\)|\{([^{}]*)\}|(\d+(?:\.\d+)?|[A-Za-z]))")


def _plain_form(answer: str) -> str:
    s = plain_minus(answer).replace("\u00b0", "^\\circ")  # "30°" is 30^\circ
    s = _ROOT_SIGN.sub(lambda m: "\\sqrt{" + next(g for g in m.groups() if g is not None) + "}", s)
    builder = _SET_BUILDER.fullmatch(s.strip("$ "))
    if builder and builder.group("var") in builder.group("cond"):
        s = builder.group("cond")
    s = _NUMBER_IN_TEXT.sub(r"\1\\text{ \2}", s)
    s = s.replace("\\langle", "(").replace("\\rangle", ")")  # a vector "\\langle 1, 2 \\rangle"
    s = re.sub(r"\((\d+)\)_(?=\{?\d)", r"\1_", s)  # "(1011)_2" is 1011_2
    if _SPACED_THOUSANDS.fullmatch(s.strip()):
        s = re.sub(r"\\,|\\ |\\;|~", "", s)
    return s


def answers_equivalent(gold: str, answer: str) -> bool:
    gold, answer = _plain_form(gold), _plain_form(answer)
    if "\\binom" in gold:  # only where a combination count is asked for: elsewhere C_1^2 is a constant squared
        answer = _COMBINATION.sub(_as_binomial, answer)
    if _PERCENT.search(gold) and not _PERCENT.search(answer) and "%" not in answer:
        # "What percent ...?" with gold "25\\%": 25 answers it, 0.25 (a fraction of one) does not
        gold = _PERCENT.sub("", gold)
    if _normalise_text(gold) == _normalise_text(answer):
        return True
    chain = _ascending_chain(gold)
    if chain is not None and chain == _ascending_chain(answer):
        return True
    if _same_phrase_but_head_noun(gold, answer):
        return True
    verdict = math_verify_equal(gold, answer)
    if verdict is not None:
        return verdict
    return sympy_equal(gold, answer)


_UNIT_WORDS = re.compile(
    r"^([+-]?\d+)\s*(?:\\text\{[^{}]*\}|\\(?:mbox|mathrm)\{[^{}]*\}|[A-Za-z][A-Za-z ]*)$"
)


def as_integer(answer: str) -> int | None:
    """An integer answer: a literal after removing LaTeX wrappers, "\\$", thousands separators, leading zeros,
    a left-hand side ("m+n=33") and a unit ("33 \\text{ ways}"); else anything math-verify evaluates to an
    integer ("\\frac{66}{2}"). A list ("33 or 34"), a non-integer or an expression with symbols is None."""
    s = re.sub(
        r"^\s*(?:\\textbf\{)?\([A-E]\)(?:\\[ ,;!]|~|\s)*\}?(?:\\[ ,;!]|~|\s)*(?=\S)", "", answer
    )  # "\\textbf{(B)}\\ 204", "\\textbf{(B) }204"
    s = re.sub(r"\\(?:text|textbf|mathbf|mathrm|boldsymbol|bm)\{([^{}]*)\}", r"\1", s)
    s = s.replace("\\!", "").replace("{,}", "").replace("\\$", "").replace("$", "").strip()
    if "=" in s:  # "m+n=33", "m + n = 25 + 8 = 33": the value is after the last '='
        s = s.rsplit("=", 1)[1].strip()
    s = re.sub(r"(?<=\d),(?=\d{3}\b)", "", s)
    s = re.sub(r"\^\{?\\circ\}?|\\%|%", "", s).strip().rstrip(".")
    s = re.sub(r"\s*(?:\\pmod\{[^{}]*\}|\(\s*\\?(?:b|p)?mod\s*\{?\d+\}?\s*\))$", "", s)  # "37 \\pmod{1000}", the remainder
    if re.fullmatch(r"[+-]?\d+", s):
        return int(s)
    if re.fullmatch(r"[+-]?\d+\.0*", s):
        return int(float(s))
    unit = _UNIT_WORDS.match(s)
    if unit:
        return int(unit.group(1))
    return _evaluated_integer(s)


def _evaluated_integer(answer: str) -> int | None:
    import sympy

    for value in _mv_parse(answer)[:1]:
        if isinstance(value, sympy.Eq):
            value = value.rhs
        if isinstance(value, sympy.Expr) and value.is_number and not value.free_symbols:
            exact = sympy.nsimplify(value, rational=True) if value.has(sympy.Float) else sympy.simplify(value)
            if exact.is_integer:
                return int(exact)
    return None


_DECIMAL = re.compile(r"[-+]?\d*\.\d+")
_FRACTION = re.compile(r"\\[dt]?frac(?![A-Za-z])|\d\s*/\s*\d")


def _decimal_asked_fraction_given(gold: str, answer: str) -> bool:
    """With option decimal_gold_asks_decimal: a gold written as a terminating decimal comes from a problem that
    asks for a decimal (every such item of MATH-500 and LiveMathBench says "as a decimal" or "accurate to 0.01"),
    so a fraction with no decimal in it does not answer it ("Write 3/20 as a decimal": \\frac{3}{20} is wrong).
    Checked when judging only, so votes for 0.15 and 3/20 still agree."""
    if not _DECIMAL.fullmatch(gold.replace("$", "").strip()):
        return False
    return _FRACTION.search(answer) is not None and "." not in answer


def _normal_form_equation_verdict(gold: str, answer: str) -> bool | None:
    """A gold equation in a normal form "<several terms> = 0" (MATH's "Enter your answer in the form
    Ax + By + Cz + D = 0, where A > 0"): the answer's lhs - rhs must equal the gold's, so rearranging
    ("5x - 7y + 11z = -4") is right and multiplying through by -1 is not. None when the rule does not apply."""
    import sympy

    if not re.search(r"=\s*0\s*$", gold) or "=" not in answer:
        return None
    gold_eq = next((g for g in _mv_parse(gold) if isinstance(g, sympy.Eq)), None)
    answer_eq = next((a for a in _mv_parse(answer) if isinstance(a, sympy.Eq)), None)
    if gold_eq is None or answer_eq is None or gold_eq.rhs != 0 or not isinstance(gold_eq.lhs, sympy.Add):
        return None
    try:
        return bool(sympy.simplify((gold_eq.lhs - gold_eq.rhs) - (answer_eq.lhs - answer_eq.rhs)) == 0)
    except Exception:
        return None


_OPTION_LETTER = r"\s*(?:\\text(?:bf)?\{\s*)?\(?(?P<letter>[A-H])\)?\s*\}?"


def _option_letter(answer: str, whole: bool) -> str | None:
    """The option letter of "(C)", "\\text{(C)}", "C"; with whole=False also of "(C) Parabola"."""
    pattern = _OPTION_LETTER + (r"\s*" if whole else r"(?=$|[\s.:,)}\\])")
    match = re.fullmatch(pattern, answer) if whole else re.match(pattern, answer)
    return match.group("letter") if match else None


@register
class MathGrader(Grader):
    name = "math"
    Gold = MathGold
    Options = MathOptions

    def extract(self, response: str, options: MathOptions, gold: object) -> str | None:
        return self._integer_after_box(response, extract_math_answer(response), options)

    def extract_final(self, response: str, options: MathOptions, gold: object) -> str | None:
        return self._integer_after_box(response, extract_math_answer(response, cut_off=True), options)

    @staticmethod
    def _integer_after_box(response: str, answer: str | None, options: MathOptions) -> str | None:
        """AIME asks for an integer built from intermediate results ("m + n"); a reply that boxes the
        intermediate ("\\boxed{\\frac{7}{30}}") and then closes with "so m + n = 37." answers 37: for an
        integer task, a box that is no integer in range gives way to a closing "= value" after it."""
        if not options.integer_answer or answer is None:
            return answer
        value = as_integer(answer)
        if value is not None and options.integer_range[0] <= value <= options.integer_range[1]:
            return answer  # "\\boxed{N = 2321}, so the remainder is 321." goes on to the closing value
        found = boxes(response)
        if not found:
            return answer
        after = response[found[-1][1] :]
        return final_value_line(after) or answer

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
        letter = _option_letter(gold.answer, whole=True)
        if letter is not None:  # "\\text{(C)}": the option letter decides ("(C) Parabola" names option C)
            return Judgement(correct=_option_letter(extracted, whole=False) == letter)
        extracted = _OPTION_PREFIX.sub("", extracted)  # "(D) 2\\sqrt{3}" against a gold that is the value
        if options.decimal_gold_asks_decimal and _decimal_asked_fraction_given(gold.answer, extracted):
            return Judgement(correct=False, detail="the gold is a decimal (the problem asks for one); a fraction was given")
        normal_form = _normal_form_equation_verdict(gold.answer, extracted)
        if normal_form is not None:
            return Judgement(correct=normal_form, detail="equation compared in the gold's '... = 0' form")
        return Judgement(correct=answers_equivalent(gold.answer, extracted))

    def same_answer(self, a: str, b: str, options: MathOptions) -> bool:
        try:
            if options.integer_answer:
                ia, ib = as_integer(a), as_integer(b)
                return ia is not None and ia == ib
            return answers_equivalent(_OPTION_PREFIX.sub("", a), _OPTION_PREFIX.sub("", b))
        except GradingInfrastructureError:
            return False  # a comparison that timed out is no evidence of agreement: separate votes
