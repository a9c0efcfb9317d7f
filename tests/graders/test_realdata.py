"""Canonical solutions and gold answers from the real benchmark mirror grade right."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from graders import GradeRequest, grade_many
from graders.code import humaneval_canonical_request, mbpp_gold

pytestmark = pytest.mark.realdata


def test_humaneval_canonical_solutions_pass(data_dir: Path) -> None:
    with gzip.open(data_dir / "humaneval" / "HumanEval.jsonl.gz", "rt") as lines:
        records = [json.loads(line) for line in lines][::8]  # every 8th task keeps this fast
    requests = [humaneval_canonical_request(rec) for rec in records]
    results = grade_many(requests, workers=2)
    assert [(r.reason, r.detail) for r in results] == [("right", "passed")] * len(records)
    # A solution returning the wrong thing fails the same tests.
    broken = requests[0].model_copy(update={"response": "    return None\n"})
    assert grade_many([broken], workers=0)[0].reason == "wrong"


def test_mbpp_reference_code_passes(data_dir: Path) -> None:
    with (data_dir / "mbpp" / "mbpp.jsonl").open() as lines:
        records = [json.loads(line) for line in lines]
    chosen = [r for r in records if r["test_setup_code"].strip()] + records[:10]
    requests = [
        GradeRequest(
            grader="code", response=f"```python\n{rec['code']}\n```", gold=mbpp_gold(rec).model_dump()
        )
        for rec in chosen
    ]
    assert [r.reason for r in grade_many(requests, workers=2)] == ["right"] * len(chosen)


def test_math500_gold_answers_in_model_format(data_dir: Path) -> None:
    with (data_dir / "math500" / "test.jsonl").open() as lines:
        items = [json.loads(line) for line in lines][:100]
    requests = [
        GradeRequest(
            grader="math",
            response=f"Thus the final answer is $\\boxed{{{it['answer']}}}$.",
            gold=it["answer"],
        )
        for it in items
    ]
    assert all(r.correct for r in grade_many(requests, workers=0))
    # Shifted answers (each item's response holds the next item's gold) are graded wrong almost always.
    shifted = [
        r.model_copy(update={"gold": items[(i + 1) % len(items)]["answer"]}) for i, r in enumerate(requests)
    ]
    wrong = sum(not r.correct for r in grade_many(shifted, workers=0))
    assert wrong >= 95
