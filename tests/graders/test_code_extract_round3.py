"""Extraction of pathological replies stays linear in their size: it runs in a thread of the harness, holding
the GIL, so a reply that costs minutes to extract stalls every other request. Measured as characters handed
to the parser (a count, not a time): 1,000 one-line functions then a line of prose (32 KB) took 38 s before."""

from __future__ import annotations

import random

import pytest

import graders.code_extract as code_extract
from graders.code import CodeGold, CodeGrader, CodeOptions

FUNCTIONS = "\n".join(f"def f{i}(x):\n    return x + {i}" for i in range(1000))
REPLIES = {
    "functions_then_prose": FUNCTIONS + "\nThat is all, I hope it helps!",
    "function_and_prose_alternating": "\n".join(
        f"def f{i}(x):\n    return x\nprose line {i}" for i in range(1000)
    ),
    "unclosed_bracket": "def f0(x):\n    return (x +\n" + "\n".join(f"x{i} = {i}" for i in range(2000)),
    "unclosed_docstring": "def f0(x):\n    '''doc\n"
    + "\n".join(f"def g{i}(x): return {i}" for i in range(2000)),
}


@pytest.fixture
def parsed_characters(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    sizes: list[int] = []
    real = code_extract._parses

    def counting(code: str):  # noqa: ANN202 - the wrapped function's own type
        sizes.append(len(code))
        return real(code)

    monkeypatch.setattr(code_extract, "_parses", counting)
    return sizes


@pytest.mark.parametrize("name", list(REPLIES))
def test_pathological_replies_cost_a_bounded_amount_of_parsing(
    name: str, parsed_characters: list[int]
) -> None:
    reply = REPLIES[name]
    gold = CodeGold(tests="pass\n", entry_point="f0")
    CodeGrader().extract(reply, CodeOptions(), gold)
    CodeGrader().extract_final(reply, CodeOptions(), gold)
    assert sum(parsed_characters) <= 4 * code_extract._PARSE_BUDGET + 100 * len(reply)


def exhaustive_longest_span(text: str) -> str | None:
    """The definition: from each line that starts like code, the longest run of lines that parses; the first
    of the longest of those (by non-blank lines)."""
    lines = text.split("\n")
    best, best_size = None, 0
    for start in (n for n, line in enumerate(lines) if code_extract._CODE_START.match(line)):
        for end in range(len(lines), start, -1):
            candidate = "\n".join(lines[start:end])
            if lines[end - 1].strip() and code_extract.parses(candidate):
                size = sum(1 for line in lines[start:end] if line.strip())
                if size > best_size:
                    best, best_size = candidate, size
                break
    return best


def test_the_longest_span_is_still_the_longest(parsed_characters: list[int]) -> None:
    """Skipping spans that cannot beat the best one found so far changes no answer."""
    assert code_extract.longest_parsable_span(REPLIES["functions_then_prose"]) == FUNCTIONS
    assert sum(parsed_characters) < 5 * len(FUNCTIONS)
    pieces = ["def f(x):", "    return x", "", "prose words here", "import os", "x = 1", "class A:", "    pass",
              "    y = (", "    )", "@dec", "print(1)", "  bad indent", "for i in range(3):", "Here is why:"]  # fmt: skip
    rng = random.Random(3)
    for _ in range(500):
        text = "\n".join(rng.choice(pieces) for _ in range(rng.randint(1, 25)))
        assert code_extract.longest_parsable_span(text) == exhaustive_longest_span(text), text
