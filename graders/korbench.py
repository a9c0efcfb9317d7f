"""KOR-Bench answers: the official evaluation's rules (KOR-Bench/KOR-Bench, eval/eval_utils.py at bb8194d),
re-implemented, with the deliberate differences listed here.

Extraction. Official: the first ``[[...]]``, else ``$\\boxed{...}$``, else the first ``[...]``. Ours: the
*last* ``[[...]]`` (our prompt asks for reasoning and then a final ``The answer is [[...]]`` line, so earlier
brackets are working or the restated format) or a ``\\boxed{...}`` after it, else a ``[...]`` on the final
answer line.
A cut-off response counts only a bracket answer on an answer line or on a line of its own. Text from a
``### Question`` line on (a reply inventing the prompt's next exemplar) is not read.

Comparison, by category and rule (as the official code, with its intent where its code is looser):
  operation 178/179   the same set of ``≤ n``/``≥ n`` conditions, in any order (also ``<=``, ``\\le``)
  operation rule 18   the same set of elements (official: the same characters: {12,45} passes for {1,2,4,5})
  operation 23-25     the same numbers in order (official drops minus signs; we keep them)
  operation math ids  math equivalence (math-verify; official: sympy on parse_latex), ``or``-parts as a set
  operation ``or``    the same ``or``-parts in any order
  logic rule 5        the same ``;``-parts in any order
  logic               equal ignoring whitespace, quotes and periods
  option letters      (counterfactual, logic) the same letter in either case: [[c]] is option C
  puzzle 1            the same letters, ignoring case and everything else
  puzzle 2 / 4        one of the gold's alternatives (comma / space separated; official 4 accepts substrings)
  puzzle 3            the same words in any order
  puzzle 5            the same comma-separated assignments in any order
  puzzle 9            the gold's operators in order and the same value (any valid fill)
  puzzle 10           the gold's numbers, each once, evaluating to 24 (any valid expression)
  puzzle 18           equal ignoring commas, whitespace and brackets
  other puzzles       equal ignoring everything but letters and digits
  everything else     equal ignoring whitespace, quotes and brackets
"""

from __future__ import annotations

import ast
import operator
import re
from fractions import Fraction
from typing import Any

from pydantic import Field

from graders.base import GradeRequest
from graders.math import answers_equivalent
from graders.math import boxes as math_boxes
from graders.registry import Grader, GraderConfigError, Judgement, StrictModel, register

CATEGORIES = ("operation", "logic", "cipher", "puzzle", "counterfactual")
# Operation items whose answers are LaTeX expressions (the official list of ids).
MATH_IDS = frozenset(
    [
        18,
        73,
        74,
        77,
        94,
        115,
        116,
        117,
        121,
        122,
        123,
        125,
        131,
        132,
        134,
        135,
        136,
        141,
        143,
        149,
        145,
        146,
        147,
    ]
    + list(range(151, 157))
    + [160, 161, 162, 164, 165, 166, 170, 206, 209]
    + list(range(211, 216))
    + [217, 218]
)
INEQUALITY_IDS = frozenset([178, 179])


class KorBenchGold(StrictModel):
    """Gold: the official answer string ("[[N]]") and what selects its rule: category, rule_id, idx."""

    answer: str = Field(min_length=1)
    category: str
    rule_id: str
    idx: str = Field(
        default="", description="the question's idx within its category (some operation checks use it)"
    )


class KorBenchOptions(StrictModel):
    pass


_DOUBLE = re.compile(r"\[\[\s*(.*?)\s*\]\]", re.DOTALL)
_SINGLE = re.compile(r"\[\s*([^\[\]]*?)\s*\]")
_ANSWER_LINE = re.compile(r"answer|final", re.IGNORECASE)
# The question's format example restated ("[[your answer]]", "[[encrypted answer]]", "[[...]]"): no answer.
_PLACEHOLDER = re.compile(
    r"\s*(?:(?:your|the|final|encrypted|decrypted)\s+)*answer\s*|\s*(?:\.\.\.|…)\s*", re.IGNORECASE
)


def _stated_as_answer(text: str, start: int, end: int) -> bool:
    """On an answer line ("The answer is [[N]]", "**Final:** [[N]]") or on a line of its own."""
    line_start, line_end = text.rfind("\n", 0, start) + 1, text.find("\n", end)
    before, after = text[line_start:start], text[end : len(text) if line_end < 0 else line_end]
    return bool(_ANSWER_LINE.search(before)) or not re.sub(r"[\s*_`$.]", "", before + after)


# The prompt's exemplar separator: a reply that goes on to write "### Question: ..." is inventing the next
# exemplar, and only the text before it answers the question asked.
_NEXT_EXEMPLAR = re.compile(r"^[ \t]*#{2,}[ \t]*Question\b", re.MULTILINE | re.IGNORECASE)


def _line_before(text: str, start: int) -> str:
    return text[text.rfind("\n", 0, start) + 1 : start]


def _aside(text: str, start: int) -> bool:
    """A bracket in the conditional mood, not in an answer sentence ("in the real world it would be [[C]]")."""
    before = re.split(r"(?<=[.!?])\s+", _line_before(text, start))[-1]  # its own sentence
    return bool(re.search(r"\b(?:would|could|might)\b", before, re.I)) and not _ANSWER_LINE.search(before)


# Two bracket answers joined on one line ("[[A]] or [[B]]", "[[A]], [[B]]") are offered together.
_OFFERED_TOGETHER = re.compile(r"[ \t*$]*(?:,|/|\bor\b|\band/or\b)[ \t*$]*(?:maybe|possibly|perhaps)?[ \t*$]*", re.I)


def extract_answer(response: str, cut_off: bool = False) -> str | None:
    """The bracket answer, as ``[[...]]`` (see the module docstring), or None."""
    invented = _NEXT_EXEMPLAR.search(response)
    response = response[: invented.start()] if invented else response
    spans = [
        (m.start(), m.end(), m.group(1))
        for m in _DOUBLE.finditer(response)
        if m.group(1).strip() and not _PLACEHOLDER.fullmatch(m.group(1))
    ]
    spans += math_boxes(response)
    if cut_off:
        spans = [span for span in spans if _stated_as_answer(response, span[0], span[1])]
    if spans:
        spans.sort()
        while len(spans) > 1 and _aside(response, spans[-1][0]) and _ANSWER_LINE.search(_line_before(response, spans[-2][0])):
            spans.pop()  # "The answer is [[B]]. However, in the real world it would be [[C]]": an aside
        last = spans[-1]  # the last one: a later box or bracket is the final answer
        listed = [span for span in spans[:-1] if _OFFERED_TOGETHER.fullmatch(response, span[1], last[0])]
        if listed and listed[-1][2].strip() != last[2].strip():
            return f"[[{listed[-1][2]}]] or [[{last[2]}]]"  # "[[A]] or [[B]]": a hedge, graded wrong
        return f"[[{last[2]}]]"
    lines = [line for line in response.splitlines() if line.strip()]
    candidates = [line for line in lines if _ANSWER_LINE.search(line)] or ([] if cut_off else lines[-1:])
    for line in reversed(candidates):
        singles = list(_SINGLE.finditer(line))
        if singles and singles[-1].group(1):
            return f"[[{singles[-1].group(1)}]]"
    return None


def inner(answer: str) -> str:
    """The text inside the outer ``[[...]]`` (the official answers all have one; ours always do)."""
    match = _DOUBLE.search(answer)
    return match.group(1) if match else answer.strip()


def _clean(text: str) -> str:
    return re.sub(r'[\s"\[\]]', "", text)


def _or_parts(text: str) -> list[str]:
    return sorted(
        part for part in re.split(r"\\text\{\s*or\s*\}|\bor\b|(?<=[\w}])or(?=[-\w\\])", text) if part
    )


def _same_or_lists(response: str, gold: str) -> bool:
    return _or_parts(_clean(response)) == _or_parts(_clean(gold))


def _latex(text: str) -> str:
    """The official clean-up before comparing LaTeX: the right-hand side of the last '=', no \\text{...}."""
    text = text.rsplit("=", 1)[-1] if "=" in text else text
    text = re.sub(r"\\text\{[^{}]*\}", "", text)
    return re.sub(r"\\(?:left|right|displaystyle)|\\[()\[\]]|\$", "", text).strip()


def _same_math(response: str, gold: str) -> bool:
    gold_parts = [p.strip() for p in re.split(r"\bor\b|(?<=[\w}])or(?=[-\w\\])", gold) if p.strip()]
    response_parts = [
        p.strip()
        for p in re.split(r"\\text\{\s*or\s*\}|\bor\b|(?<=[\w}])or(?=[-\w\\])", response)
        if p.strip()
    ]
    if len(gold_parts) != len(response_parts):
        return False
    unmatched = [_latex(p) for p in response_parts]
    for part in (_latex(p) for p in gold_parts):
        hit = next((i for i, r in enumerate(unmatched) if answers_equivalent(part, r)), None)
        if hit is None:
            return False
        unmatched.pop(hit)
    return True


_INEQUALITY = re.compile(r"(≥|≤|>=|<=|\\geq?|\\leq?)\s*(-?\d+(?:\.\d+)?)")
_INEQUALITY_SIGNS = {">=": "≥", "\\ge": "≥", "\\geq": "≥", "<=": "≤", "\\le": "≤", "\\leq": "≤"}


def _conditions(text: str) -> list[str]:
    return sorted(_INEQUALITY_SIGNS.get(sign, sign) + number for sign, number in _INEQUALITY.findall(text))


def _elements(text: str) -> list[str]:
    return sorted(part for part in re.split(r",", re.sub(r"[\s{}\[\]]", "", text)) if part)


def _numbers(text: str) -> list[int]:
    return [int(n) for n in re.findall(r"-?\d+", text)]


def _letters(text: str) -> str:
    return re.sub(r"[^A-Za-z]", "", text).lower()


_OPERATORS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}


def evaluate_arithmetic(expression: str) -> Fraction | None:
    """Exact value of + - * / ( ) arithmetic on integers (× ÷ − accepted), or None; never calls eval()."""
    text = (
        expression.replace("×", "*").replace("÷", "/").replace("−", "-").replace("x", "*").replace("X", "*")
    )

    def value(node: ast.AST) -> Fraction:
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, int)
            and not isinstance(node.value, bool)
        ):
            return Fraction(node.value)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -value(node.operand)
        if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
            return _OPERATORS[type(node.op)](value(node.left), value(node.right))
        raise ValueError("not arithmetic")

    try:
        return value(ast.parse(text.strip(), mode="eval").body)
    except (SyntaxError, ValueError, ZeroDivisionError, RecursionError):
        return None


def _operator_sequence(text: str) -> list[str]:
    return re.findall(r"[+\-*/]", text.replace("×", "*").replace("÷", "/").replace("−", "-"))


def _puzzle_9(response: str, gold: str) -> bool:
    left, target = response.split("=")[0], re.search(r"=\s*(-?\d+)", gold)
    if target is None or _operator_sequence(left) != _operator_sequence(gold.split("=")[0]):
        return False
    return evaluate_arithmetic(left) == int(target.group(1))


def _puzzle_10(response: str, gold: str) -> bool:
    left = response.split("=")[0]
    if sorted(re.findall(r"\d+", left)) != sorted(re.findall(r"\d+", gold.split("\n")[0])):
        return False  # the four given numbers, each used once (the gold's first expression uses them)
    return evaluate_arithmetic(left) == 24


_PUZZLE_RULES = {
    "1": lambda r, g: _letters(r) == _letters(g),
    "2": lambda r, g: _letters(r) in [_letters(a) for a in g.split(",")],
    "3": lambda r, g: sorted(w for w in re.split(r"\W+", r.lower()) if w) == sorted(g.lower().split()),
    "4": lambda r, g: _letters(r) in [_letters(a) for a in g.split()],
    "5": lambda r, g: sorted(re.sub(r"\s+", "", r).split(",")) == sorted(re.sub(r"\s+", "", g).split(",")),
    "9": _puzzle_9,
    "10": _puzzle_10,
    "18": lambda r, g: re.sub(r"[,\s\[\]]+", "", r) == re.sub(r"[,\s\[\]]+", "", g),
}


_PLAIN_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
# A whole answer in math delimiters or single quotes ([[$24$]], [['N']]) whose gold is not.
_WRAPPED = re.compile(r"\s*(?:\$+\s*(.*?)\s*\$+|'(.*)')\s*", re.DOTALL)


def _unwrapped(got: str, want: str) -> str:
    match = _WRAPPED.fullmatch(got)
    if match is None or _WRAPPED.fullmatch(want):
        return got
    return match.group(1) if match.group(1) is not None else match.group(2)


_OPTION_CATEGORIES = ("counterfactual", "logic")  # the categories whose questions list lettered options


def korbench_equal(response: str, gold: KorBenchGold) -> bool:
    """Whether an extracted ``[[...]]`` answer is right under the rule of the gold's category/rule/idx."""
    got, want = _unwrapped(inner(response), inner(gold.answer)), inner(gold.answer)
    idx = int(gold.idx) if gold.idx.isdigit() else -1
    if gold.category in _OPTION_CATEGORIES and re.fullmatch(r"[A-Z]", want.strip()):
        # an option letter: [[c]], [[(C)]], [[C.]] name option C
        letter = re.fullmatch(r"\(?([A-Za-z])[.)]?", _clean(got))
        return letter is not None and letter.group(1).upper() == want.strip()
    if gold.category == "operation":
        if _PLAIN_NUMBER.fullmatch(got.strip()) and _PLAIN_NUMBER.fullmatch(want.strip()):
            return Fraction(got.strip()) == Fraction(want.strip())  # [[24.0]] is [[24]]
        if idx in INEQUALITY_IDS:
            return _conditions(got) == _conditions(want)
        if gold.rule_id == "18":
            return _elements(got) == _elements(want)
        if gold.rule_id in {"23", "24", "25"}:
            return _numbers(got) == _numbers(want)
        if idx in MATH_IDS:
            return _same_math(got, want)
        if "or" in want:
            return _same_or_lists(got, want)
    if gold.category == "logic":

        def logic(text: str) -> str:
            return re.sub(r'[\s".]', "", text).strip("[]")

        if gold.rule_id == "5":
            return sorted(p.strip("[]") for p in logic(got).split(";")) == sorted(
                p.strip("[]") for p in logic(want).split(";")
            )
        return logic(got) == logic(want)
    if gold.category == "puzzle":
        rule = _PUZZLE_RULES.get(gold.rule_id)
        if rule is not None:
            return bool(rule(got, want))
        return re.sub(r"\W+", "", got) == re.sub(r"\W+", "", want)
    return _clean(got) == _clean(want)


@register
class KorBenchGrader(Grader):
    name = "korbench"
    Gold = KorBenchGold
    Options = KorBenchOptions

    def parse_gold(self, raw: Any) -> KorBenchGold:
        gold = super().parse_gold(raw)
        if gold.category not in CATEGORIES:
            raise GraderConfigError(f"korbench: category {gold.category!r} is not one of {CATEGORIES}")
        return gold

    def extract(self, response: str, options: KorBenchOptions, gold: KorBenchGold) -> str | None:
        return extract_answer(response)

    def extract_final(self, response: str, options: KorBenchOptions, gold: KorBenchGold) -> str | None:
        return extract_answer(response, cut_off=True)

    def judge(
        self, extracted: str, gold: KorBenchGold, options: KorBenchOptions, request: GradeRequest
    ) -> Judgement:
        if len(_DOUBLE.findall(extracted)) > 1:
            return Judgement(correct=False, detail=f"two answers offered: {extracted}")
        return Judgement(correct=korbench_equal(extracted, gold))

    def same_answer(self, a: str, b: str, options: KorBenchOptions) -> bool:
        """Votes agree when equal ignoring whitespace, quotes and brackets: two different valid 24-game
        expressions are both right but are different answers."""
        return _clean(inner(a)) == _clean(inner(b))
