"""Pathological responses finish: the regex graders run inline in the scheduler, so no input may trigger
catastrophic backtracking (each pattern below took minutes before its fix; linear ones take milliseconds)."""

from __future__ import annotations

import pytest

from tests.graders.helpers import run

SIZE = 200_000
PATTERNS = {
    "spaces-after-head": "Answer: " + " " * SIZE + "x",
    "spaces-line": " " * SIZE,
    "letters": "A " * (SIZE // 2),
    "answer-heads": "answer is " * (SIZE // 10),
    "open-boxes": "\\boxed{" * (SIZE // 7),
    "dollars": "$" * SIZE,
    "bold-runs": "**A" * (SIZE // 3),
    "comma-chain": "Answer: A" + ", A" * (SIZE // 3),
    "or-chain": "Answer: A" + " or B" * (SIZE // 5),
    "digits": "1" * SIZE,
    "numbers": "1, " * (SIZE // 3),
    "stars-before-text": "A" + "*" * SIZE + "x",
    "hedges-and-retractions": "So the answer is (A) or (B). Wait, " * (SIZE // 35),
    "answer-elements": "<answer>x " * (SIZE // 10),
    "conditional-heads": "the answer would be A if " * (SIZE // 25),
    "corrections": "Wait, actually it's " * (SIZE // 20),
    "parentheses": "Answer: " + "(" * SIZE + "joy",
    "listed-boxes": "\\boxed{A} and " * (SIZE // 15),
}
GRADERS = [
    ("choice", {"answer": "A", "choices": ["4", "5", "6", "7"]}, {}),
    ("label", "neutral", {"letters": True, "labels": ["neutral", "joy", "anger"], "synonyms": {"joy": ["happy"]}}),
    ("exact", {"answer": "(A)", "choices": ["x", "y"]}, {"words": True, "ignore_whitespace": True}),
    ("numeric", 5, {}),
]


@pytest.mark.timeout(120)
@pytest.mark.parametrize("name", sorted(PATTERNS))
def test_pathological_response_completes(name: str) -> None:
    for grader, gold, options in GRADERS:
        result = run(grader, PATTERNS[name], gold, **options)
        assert result.reason in ("right", "wrong", "no_answer"), (grader, result)
