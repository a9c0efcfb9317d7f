"""Answer-extraction helpers shared by the graders (boxed answers, "the answer is" phrases, lines)."""

from __future__ import annotations

import functools
import re
from typing import NamedTuple

_BOX_COMMANDS = ("\\boxed", "\\fbox")


def last_boxed(text: str) -> str | None:
    """Content of the last ``\\boxed{...}`` / ``\\fbox{...}`` (nested braces ok), or ``\\boxed 5``."""
    best_start = -1
    best_cmd = ""
    for cmd in _BOX_COMMANDS:
        pos = text.rfind(cmd)
        while pos != -1:
            after = text[pos + len(cmd) : pos + len(cmd) + 1]
            if not after.isalpha():  # \boxed, not \boxedfoo
                break
            pos = text.rfind(cmd, 0, pos)
        if pos > best_start:
            best_start, best_cmd = pos, cmd
    if best_start < 0:
        return None
    i = best_start + len(best_cmd)
    while i < len(text) and text[i] == " ":
        i += 1
    if i < len(text) and text[i] == "{":
        depth = 0
        for j in range(i, len(text)):
            if text[j] == "{":
                depth += 1
            elif text[j] == "}":
                depth -= 1
                if depth == 0:
                    content = text[i + 1 : j].strip()
                    return content or None
        return None  # unbalanced: the box was cut off
    match = re.match(r"\s*([^\s$]+)", text[i:])  # \boxed 5
    return match.group(1) if match else None


# "The final answer is X", "the answer is: X", "Answer: X", "**Final Answer:** X", "answer would be X".
# Also in the languages models answer in: "答案是 12", "La respuesta es 12", "La réponse est 12", "Antwort: 12".
_ANSWER_PHRASE = re.compile(
    r"(?:(?:final\s+answer|correct\s+answer|the\s+answer|answer)\s*"
    r"(?:\*\*|__)?\s*(?:is|would\s+be|will\s+be|should\s+be|=|:)"
    r"|(?:最终|正确)?答案\s*(?:应该|应)?(?:是|为|：|:)"
    r"|(?<![a-z])(?:respuesta|r[ée]ponse|antwort|resposta|risposta)(?:\s+(?:correcta|final|finale|correcte))?"
    r"\s*(?:es|est|ist|é|è|:|：))"
    r"\s*(?:\*\*|__)?\s*:?\s*(?P<ans>[^\n]+)",
    re.IGNORECASE,
)
_DISPLAY = {"$$": "$$", "\\[": "\\]"}


def answer_phrase(text: str) -> str | None:
    """The text after the last "answer is"/"Answer:"-style phrase, up to the end of that line; a display
    block that the phrase opens ("The answer is:" then "$$ ... $$" over several lines) as one "$...$" span."""
    matches = list(_ANSWER_PHRASE.finditer(text))
    for match in reversed(matches):
        tail = match.group("ans").strip()
        if tail in _DISPLAY:
            start = match.start("ans") + match.group("ans").index(tail) + len(tail)
            end = text.find(_DISPLAY[tail], start)
            if end > start and text[start:end].strip():
                return "$" + " ".join(text[start:end].split()) + "$"
        # "Final Answer: The final answer is 5. I hope it is correct." -> the innermost phrase.
        while (inner := _ANSWER_PHRASE.search(tail)) and inner.group("ans").strip():
            tail = inner.group("ans").strip()
        if tail:
            return tail
    return None


def strip_wrappers(answer: str) -> str:
    """Remove markdown emphasis, surrounding $...$, \\( \\), trailing punctuation."""
    s = answer.strip()
    for _ in range(3):
        before = s
        s = s.strip().strip("*_`").strip()
        if s.startswith("$$") and s.endswith("$$") and len(s) > 4:
            s = s[2:-2]
        elif s.startswith("$") and s.endswith("$") and len(s) > 2:
            s = s[1:-1]
        if s.startswith("\\(") and s.endswith("\\)"):
            s = s[2:-2]
        if s.startswith("\\[") and s.endswith("\\]"):
            s = s[2:-2]
        s = s.rstrip(" .;,\u3002")  # not "!": inside a boxed answer it is a factorial
        if s == before:
            break
    return s.strip()


# ---- final answer statements (choice, label, BBH exact match, numeric) -------------------------------

# The head of an explicit answer statement: "Answer:", "the answer is", "**Final Answer:**", "the correct
# option is", "the answer must be", "Answer -". What follows it (on its line, or on the next line when the
# head ends its line) is the stated answer.
_HEAD_CONNECTOR = (
    r"[ \t]*(?:\*\*|__)?[ \t]*"
    r"(?:is|would[ \t]+be|will[ \t]+be|should[ \t]+be|must[ \t]+be|has[ \t]+to[ \t]+be|seems[ \t]+to[ \t]+be"
    r"|appears[ \t]+to[ \t]+be|=|:|-(?=\s)|\u2013|\u2014)"
    r"[ \t]*(?:\*\*|__)?[ \t]*:?"
)


# The same head in the other languages models answer in ("答案：C", "答案是 B", "Réponse : D", "Die Antwort
# ist C", "La respuesta es B"); what follows is read exactly as after "Answer:".
_FOREIGN_HEAD = (
    r"(?:(?:最终|正确)?(?:答案|选项)|回答)[ \t]*(?:应该|应)?(?:是|为|：|:)[ \t]*(?:\*\*|__)?"
    r"|(?:答え|正解|解答)[ \t]*(?:は|が|：|:)[ \t]*|(?:정답|답)[ \t]*(?:은|는|:)[ \t]*"  # "答えは A です", "정답은 A입니다"
    r"|(?<![不未])选(?:择)?(?!项)[ \t]*(?:是|：|:)?[ \t]*(?=[(（]?[A-Za-zＡ-Ｚ](?![A-Za-z]))"  # "所以选B", "故选：C"
    # "La respuesta correcta es la B", "La bonne réponse est C", "Die richtige Antwort ist B", "A resposta é a B"
    r"|(?<![a-z])(?:(?:die|la|a|il|le)[ \t]+)?(?:(?:richtige|korrekte|bonne|bonne[ \t]+r[ée]ponse)[ \t]+)?"
    r"(?:antwort|r[ée]ponse|respuesta|resposta|risposta|ответ)"
    r"(?:[ \t]+(?:correcta|correcte|correta|corretta|finale?|definitiva|правильный))?"
    r"[ \t]*(?:\*\*|__)?[ \t]*(?:ist|est|es|é|è|:|：)[ \t]*(?:\*\*|__)?[ \t]*:?"
    r"(?:(?:la|el|le|die|der|das|(?:a|o)(?=[ \t]+[A-Z](?![A-Za-z])))[ \t]+(?=\S))?"
)


# A line that is only a heading "Final Answer" ("## Final Answer", "**Final Answer**"): the next line states it.
_ANSWER_HEADING = (
    r"(?:^|(?<=\n))[ \t]*(?:#{1,6}[ \t]*)?(?:\*\*|__)?[ \t]*(?:final[ \t]+)?answer[ \t]*(?:\*\*|__)?[ \t]*(?=\n)"
)
# A correction that restates the answer as one word: "Wait, actually it's (C).", "Hmm, no, it should be 42.",
# "wait, actually D." (not "Wait, it's a tricky one": what follows must be a single word, letter or number).
_CORRECTION = (
    r"(?:\b(?:wait|hmm+|no|oops)\b[ \t]*[,.!\u2026]*[ \t]*(?:no[ \t]*[,.!]?[ \t]*)?"
    r"(?:actually[ \t]*[,:]?[ \t]*(?:it'?s|it[ \t]+is|it[ \t]+should[ \t]+be|it[ \t]+must[ \t]+be)?"
    r"|it'?s|it[ \t]+is|it[ \t]+should[ \t]+be|it[ \t]+must[ \t]+be|make[ \t]+that|i[ \t]+mean)[ \t]+"
    # "wait, no: (B)", "Hmm, no - D.", "no wait, B."
    r"|(?:\b(?:wait|hmm+|oops)\b[ \t]*[,.!\u2026]*[ \t]*no|\bno[ \t]*,?[ \t]*wait)\b[ \t]*[,.:;!\u2014-]*[ \t]*)"
    # what follows is one word, letter or number, and not a remark ("it's fine", "it's not")
    r"(?!(?:not|that|this|so|fine|ok|okay|correct|right|wrong|done|good|possible|impossible|it)\b)"
    r"(?=[\(\[]?[A-Za-z0-9.,%$+-]+[\)\]]?[.!]?[ \t]*(?:\n|$|[.!][ \t]))"
)


@functools.lru_cache(maxsize=16)
def _statement_head(subjects: tuple[str, ...]) -> re.Pattern[str]:
    nouns = "|".join(("answer", *map(re.escape, subjects)))
    return re.compile(
        rf"(?:final\s+(?:answer|choice|option|selection)|(?:correct|right|best)\s+(?:answer|option|choice)"
        rf"|\bmy\s+(?:final\s+)?(?:choice|pick|selection)|(?<![a-z])(?:{nouns})|\bfinal(?=[ \t]*(?:\*\*|__)?[ \t]*:))"
        + _HEAD_CONNECTOR
        + "|(?P<heading>" + _ANSWER_HEADING + ")|" + _CORRECTION + "|" + _FOREIGN_HEAD,
        re.IGNORECASE,
    )


@functools.lru_cache(maxsize=16)
def _json_field(subjects: tuple[str, ...]) -> re.Pattern[str]:
    """'{"answer": "C"}' : a JSON answer field; its string value is the stated answer."""
    nouns = "|".join(("answer", "final_answer", *map(re.escape, subjects)))
    return re.compile(rf"\"(?:{nouns})\"[ \t]*:[ \t]*\"([^\"\n]{{1,200}})\"", re.IGNORECASE)


# "<answer>C</answer>": the answer element of the reasoning-then-answer format many fine-tunes write.
_ANSWER_ELEMENT = re.compile(r"<answer>[ \t]*\n?((?:(?!</?answer>).){1,2000}?)\s*</answer>", re.IGNORECASE | re.DOTALL)


def answer_element(text: str) -> str | None:
    """The content of the last ``<answer>...</answer>`` element, or None."""
    found = [m.group(1).strip() for m in _ANSWER_ELEMENT.finditer(text) if m.group(1).strip()]
    return found[-1] if found else None


_BOX_START = re.compile(r"\\(?:boxed|fbox)(?![A-Za-z])")
_MAX_BOX = 2000  # a box longer than this is not an answer; bounds the brace scan on pathological input
_NEXT_LINE_GAP = 300  # a head that ends its line takes the next non-empty line within this many characters


class Statement(NamedTuple):
    """One explicit answer statement: where it starts, how it was made, and the answer text it states."""

    start: int
    kind: str  # "phrase" | "box" | "heading" (a "Final Answer" heading line; the next line is its text)
    text: str
    tentative: bool  # "the answer is B?" / "\\boxed{B}? Wait" : a guess the model goes on to question
    retracted: bool = False  # followed by "Wait, ..." / "Hmm, actually", or "but let me verify": not settled yet
    conditional: bool = False  # "if the question meant X, the answer would be D" (see _set_asides)


def _box_content(text: str, open_brace: int) -> tuple[str, int] | None:
    depth = 0
    for j in range(open_brace, min(len(text), open_brace + _MAX_BOX)):
        if text[j] == "{":
            depth += 1
        elif text[j] == "}":
            depth -= 1
            if depth == 0:
                return text[open_brace + 1 : j], j + 1
    return None


def _matching_braces(text: str) -> dict[int, int]:
    """Position of each "{" -> position of its "}" (one pass; unbalanced ones are absent)."""
    pairs: dict[int, int] = {}
    stack: list[int] = []
    for brace in re.finditer(r"[{}]", text):
        if brace.group() == "{":
            stack.append(brace.start())
        elif stack:
            pairs[stack.pop()] = brace.start()
    return pairs


def answer_statements(text: str, subjects: tuple[str, ...] = ()) -> list[Statement]:
    """Every explicit answer statement in text order: answer phrases and ``\\boxed{}`` contents.

    `subjects` are task nouns that may stand for "answer" ("The emotion is joy", "Emotion: joy").

    A phrase states the rest of its line up to a later head on the same line ("Final Answer: The final
    answer is 5" gives "The final" and "5"); a head that ends its line states the next non-empty line.
    """
    found: list[Statement] = []
    heads = list(_statement_head(subjects).finditer(text))
    for index, head in enumerate(heads):
        line_end = text.find("\n", head.end())
        line_end = len(text) if line_end < 0 else line_end
        if index + 1 < len(heads) and heads[index + 1].start() < line_end:
            line_end = heads[index + 1].start()  # "Answer: The answer is C": this head states "The "
        tail = text[head.end() : line_end]
        if not tail.strip(" \t*_:") and text[line_end : line_end + 1] in ("\n", ""):
            following = text[line_end : line_end + _NEXT_LINE_GAP].lstrip()
            tail = following.split("\n", 1)[0] if following else ""
        if tail.strip():
            rest = re.split(r"(?<=[.!?;])\s", tail.strip(), maxsplit=1)[1:]
            after = " ".join(rest) + " " + text[line_end : line_end + 120]
            retracted = _retracts(after) or _CHECKS_ITSELF.search(tail) is not None
            found.append(
                Statement(head.start(), "heading" if head.group("heading") else "phrase", tail.strip(),
                          _is_tentative(tail), retracted,
                          is_conditional(text, head.start(), head.end()))
            )
    for field in _json_field(subjects).finditer(text):
        found.append(Statement(field.start(), "phrase", field.group(1).strip(), False))
    for element in _ANSWER_ELEMENT.finditer(text):
        if element.group(1).strip() and not _BOX_START.search(element.group(1)):  # a box inside is read as a box
            found.append(Statement(element.start(), "phrase", element.group(1).strip(), False))
    boxes = list(_BOX_START.finditer(text))
    pairs = _matching_braces(text) if boxes else {}
    listed: list[tuple[Statement, int]] = []  # each box with where it ends
    for box in boxes:
        i = box.end()
        while i < len(text) and text[i] == " ":
            i += 1
        if i < len(text) and text[i] == "{":
            close = pairs.get(i)
            if close is None or close - i > _MAX_BOX:
                continue  # unbalanced (cut off), or too long to be an answer
            content, end = text[i + 1 : close], close + 1
            after = text[end : end + 8].lstrip(" $\\)]")
            retracted = _retracts(text[end : end + 120].lstrip(" $\\)].,"))
            statement = Statement(box.start(), "box", content.strip(), after.startswith("?"), retracted)
            if (
                listed
                and len(listed[-1][0].text) < _MAX_BOX
                and (joiner := _BOX_LIST_JOINER.fullmatch(text, listed[-1][1], box.start()))
            ):
                # "\boxed{B} and \boxed{D}": boxes listed together are one answer naming both
                previous = listed.pop()[0]
                connector = (joiner.group(1) or ",").strip()
                statement = previous._replace(text=f"{previous.text} {connector} {content.strip()}".replace(" ,", ","),
                                              tentative=statement.tentative, retracted=statement.retracted)
            listed.append((statement, end))
        else:
            match = re.match(r"\s*([^\s$]+)", text[i : i + 100])  # \boxed 5
            if match:
                found.append(Statement(box.start(), "box", match.group(1), False))
    found += [statement for statement, _ in listed]
    return _set_asides(sorted(found, key=lambda s: s.start))


_BOX_LIST_JOINER = re.compile(r"[ \t$*)\]\\]*(,|;|&|\band\b|\bor\b|\band/or\b)?[ \t$*(\[\\]*", re.IGNORECASE)


def _set_asides(statements: list[Statement]) -> list[Statement]:
    """A conditional statement after an answer the model stands by ("Answer: C. Note: if the question meant
    Germany, the answer would be D") is an aside, so it counts as tentative; one with no such answer before
    it ("So, if we follow the rule, the answer would be C") is the answer."""
    out, standing = [], False
    for statement in statements:
        if statement.conditional and standing:
            statement = statement._replace(tentative=True)
        standing = standing or not (statement.tentative or statement.retracted or statement.conditional)
        out.append(statement)
    return out


_RETRACTION = re.compile(
    r"\s*(?:but\s+)?(?:wait\b|hmm+\b|actually\b|no\b[,.!]|on\s+second\s+thought|let\s+me\s+(?:re|double)"
    r"|hold\s+on|that'?s\s+(?:not\s+right|wrong)|that\s+can'?t\s+be)",
    re.IGNORECASE,
)


# "the answer is likely B, but let me verify": the statement goes on to put itself to a check
_CHECKS_ITSELF = re.compile(
    r"\b(?:but|though|although|however)\b[^.\n]{0,40}?\b(?:let\s+me|let'?s|i\s+(?:should|need\s+to|will|'ll|want\s+to)"
    r"|we\s+(?:should|need\s+to))\s+(?:verify|check|double|re|confirm|make\s+sure)",
    re.IGNORECASE,
)


def _retracts(following: str) -> bool:
    return bool(_RETRACTION.match(following))


def retracted_after(text: str, end: int) -> bool:
    """Whether what follows text[:end] (past its sentence's end) opens with a retraction ("Wait, ...")."""
    return _retracts(text[end : end + 120].lstrip(" $\\)].,*!;:"))


_MODAL_HEAD = re.compile(r"\b(?:would|could|might)[ \t]+be\b", re.IGNORECASE)
_CONDITION = re.compile(r"\b(?:if|unless|assuming|supposing|suppose|otherwise|provided)\b", re.IGNORECASE)


def is_conditional(text: str, start: int, end: int) -> bool:
    """ "If the question meant Germany, the answer would be D", "it would be D if ...": the statement at
    text[start:end] is in the conditional mood under a condition in its own sentence."""
    if not _MODAL_HEAD.search(text, start, end):
        return False
    reach = 400  # a sentence is at most this long either side (bounds the scan on pathological input)
    low = max(0, start - reach)
    sentence_start = max(max(text.rfind(mark, low, start) for mark in (". ", "\n", "! ", "? ")) + 1, low)
    ends = [i for i in (text.find(mark, end, end + reach) for mark in (". ", "\n")) if i >= 0]
    return _CONDITION.search(text, sentence_start, min(ends) if ends else min(len(text), end + reach)) is not None


def _is_tentative(tail: str) -> bool:
    """The stated answer is a question ("B? Let me check"), not a statement."""
    clause = re.split(r"(?<=[.!?])\s|\n", tail.strip(), maxsplit=1)[0]
    return clause.rstrip(" *_$)").endswith("?")


# A minus sign as typed: U+2212, or a dash (hyphen variants, en dash) right before a number that no
# word, number or bracket precedes ("Answer: –1,234.5", "x = –3"); "2019–2020" stays a range.
_DASH_MINUS = re.compile(r"\u2212|(?<![\w.,)\]}])[\u2010\u2011\u2012\u2013\ufe63](?=\.?\d)")


def plain_minus(text: str) -> str:
    return _DASH_MINUS.sub("-", text)


_LATEX_TEXT = re.compile(r"\\(?:text|textbf|textit|mathrm|mathbf|mathit|mbox|operatorname)\s*\{([^{}]*)\}")


def unwrap_answer(answer: str) -> str:
    """The bare answer inside LaTeX and markdown: ``$\\boxed{\\text{B}}$`` -> ``B``, ``**(B)**`` -> ``(B)``,
    ``\\(B\\)`` -> ``B``; a Unicode minus becomes ``-``. Inner text is kept as written otherwise."""
    s = answer.strip()
    for _ in range(4):
        before = s
        s = strip_wrappers(s)
        box = _BOX_START.match(s)
        if box:
            brace = s.find("{", box.end())
            inside = _box_content(s, brace) if brace >= 0 else None
            if inside is not None and not s[inside[1] :].strip(" .$"):
                s = inside[0]
        s = _LATEX_TEXT.sub(r"\1", s)
        s = s.replace("\\%", "%").replace("\\$", "$").replace("{,}", ",")
        if s == before:
            break
    return plain_minus(s).strip()


_INLINE_WRAPPERS = (
    (re.compile(r"\$\$?([^$\n]{1,60}?)\$\$?"), r"\1"),
    (re.compile(r"\\\((.{1,60}?)\\\)"), r"\1"),
    (re.compile(r"\\boxed\s*\{([^{}\n]{0,60})\}"), r"\1"),
    (re.compile(r"\\(?:text|textbf|mathrm|mathbf)\s*\{([^{}\n]{0,60})\}"), r"\1"),
    (re.compile(r"\*\*|__|`"), ""),
)


# Full-width ASCII forms (U+FF01-FF5E) as Chinese/Japanese models write them: "（C）" -> "(C)", "：" -> ":".
_FULLWIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}


def clean_statement(text: str) -> str:
    """Inline LaTeX/markdown wrappers removed inside a statement: "$B$. Because" -> "B. Because"; full-width
    punctuation and letters become ASCII ("（C）" -> "(C)")."""
    s = text.strip().translate(_FULLWIDTH)
    for pattern, repl in _INLINE_WRAPPERS:
        s = pattern.sub(repl, s)
    return plain_minus(s).strip()


def first_clause(text: str) -> str:
    """The text up to its first sentence end, line break, or a trailing "because"/"since"/"as" clause."""
    return re.split(
        r"\n|(?<!\d)\.(?:\s|$)|\.\s|;\s|\s(?:because|since|as|which|given|due\s+to)\s|,\s(?:because|since|as|which|so|but)\s",
        text.strip(),
        maxsplit=1,
    )[0].strip()


def option_listing_lines(lines: list[str], letters: str) -> set[int]:
    """Indices of lines that restate lettered options ("A. 4", "**(B)** text"), when two or more distinct
    letters are listed that way: such a block is a restatement, not an answer."""
    # "A. 4", "**(B)** text", and a table's rows "| A | 4 |"
    pattern = re.compile(rf"^[\*_`>\-\s|]*[\(\[]?([{letters}])(?:[\)\].:]|[ \t]*\|)[\*_`]*\s+\S")
    hits = {i: m.group(1) for i, line in enumerate(lines) if (m := pattern.match(line))}
    return set(hits) if len(set(hits.values())) >= 2 else set()


_UNITS = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
]
_UNITS += ["sixteen", "seventeen", "eighteen", "nineteen"]
_TENS = {
    w: 10 * (i + 2)
    for i, w in enumerate(["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"])
}


def number_word_value(text: str) -> int | None:
    """ "nine" -> 9, "twenty-one" -> 21, "minus four" -> -4 (0-99); None for anything else."""
    words = re.split(r"[\s-]+", text.strip().lower().rstrip("."))
    sign = -1 if words and words[0] in ("minus", "negative") else 1
    words = words[1:] if sign < 0 else words
    if len(words) == 1 and words[0] in _UNITS:
        return sign * _UNITS.index(words[0])
    if words and words[0] in _TENS and (len(words) == 1 or (len(words) == 2 and words[1] in _UNITS[1:10])):
        return sign * (_TENS[words[0]] + (_UNITS.index(words[1]) if len(words) == 2 else 0))
    return None


def first_math_span(text: str) -> str:
    """If a phrase tail contains `$...$`, the first such span; else the tail up to a sentence end."""
    match = re.search(r"\$\$?(.+?)\$\$?", text)
    if match:
        return match.group(1)
    match = re.search(r"\\\((.+?)\\\)", text)
    if match:
        return match.group(1)
    # Cut at a sentence end ". " (not a decimal point) or a clause that follows.
    cut = re.split(r"\.(?:\s|$)|,\s+(?:since|because|which|so)\b", text, maxsplit=1)[0]
    return cut


# "I cannot determine the growth rate", "the table does not provide enough information": the reply declines.
_REFUSAL = re.compile(
    r"\b(?:cannot|can't|can\s+not|unable\s+to|impossible\s+to|not\s+possible\s+to)\s+(?:be\s+)?"
    r"(?:determine|determined|compute|computed|calculate|calculated|answer|answered|find|found|tell|say)\b"
    r"|\b(?:not\s+enough|insufficient|missing)\s+(?:information|data)\b"
    r"|\bdoes(?:n't|\s+not)\s+(?:provide|contain|include|give)\s+(?:enough|the|any|sufficient)\b",
    re.IGNORECASE,
)


def declines(text: str) -> bool:
    """Whether text says it cannot answer (used on a reply's closing line when it states no answer)."""
    return _REFUSAL.search(text) is not None


def nonempty_lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def last_line(text: str) -> str | None:
    lines = nonempty_lines(text)
    return lines[-1] if lines else None
