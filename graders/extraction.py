"""Answer-extraction helpers shared by the graders (boxed answers, "the answer is" phrases, lines)."""

from __future__ import annotations

import re

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
_ANSWER_PHRASE = re.compile(
    r"(?:final\s+answer|correct\s+answer|the\s+answer|answer)\s*"
    r"(?:\*\*|__)?\s*(?:is|would\s+be|will\s+be|should\s+be|=|:)\s*(?:\*\*|__)?\s*:?\s*"
    r"(?P<ans>[^\n]+)",
    re.IGNORECASE,
)


def answer_phrase(text: str) -> str | None:
    """The text after the last "answer is"/"Answer:"-style phrase, up to the end of that line."""
    matches = list(_ANSWER_PHRASE.finditer(text))
    for match in reversed(matches):
        tail = match.group("ans").strip()
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
        s = s.rstrip(" .;,")  # not "!": inside a boxed answer it is a factorial
        if s == before:
            break
    return s.strip()


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


def nonempty_lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def last_line(text: str) -> str | None:
    lines = nonempty_lines(text)
    return lines[-1] if lines else None
