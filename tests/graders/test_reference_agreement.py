"""Ours next to the offline reference graders on the labelled corpus (bench/grader_agreement.py): wherever a
reference and ours disagree, ours is the one that matches the label, and the disagreements are the kinds the
bench lists as deliberate."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bench.grader_agreement import evalplus_sanitized, korbench_official, math_verify_bare
from tests.graders.corpus import load_corpus

CORPUS = load_corpus()


def disagreements(tasks: tuple[str, ...], reference) -> list[tuple[str, bool, bool]]:
    """(case id, label says right, ours graded right) for each case where the reference's verdict differs."""
    out = []
    for task in tasks:
        for case in CORPUS[task]:
            ours = case.grade().correct
            if reference(case) != ours:
                out.append((f"{task}:{case.id}", case.expected_correct, ours))
    return out


@pytest.mark.slow  # ~8 s on a busy 2-core machine: math-verify parses every whole response
def test_math_verify_differences_are_ours_being_right() -> None:
    differ = disagreements(("aime", "math500", "livemathbench"), math_verify_bare)
    assert differ, "bare math-verify should differ on reasoning blocks, truncation and inequalities"
    assert [case for case, label, ours in differ if label != ours] == []
    ids = " ".join(case for case, _, _ in differ)
    assert "truncated-inside-think" in ids and "inequality-for-interval" in ids


@pytest.mark.slow  # ~8 s: evalplus' span search plus 27 sandbox runs
def test_evalplus_sanitizer_differences_are_ours_being_right() -> None:
    differ = disagreements(("humaneval", "mbpp"), evalplus_sanitized)
    assert [case for case, label, ours in differ if label != ours] == []
    assert {case for case, _, _ in differ} >= {
        "humaneval:HumanEval-7-closing-fence-on-code-line",
        "humaneval:HumanEval-13-body-only",
    }


def test_korbench_official_differences_are_ours_being_right() -> None:
    checkout = os.environ.get("KORBENCH_CHECKOUT")
    official = korbench_official(Path(checkout)) if checkout else None
    if official is None:
        pytest.skip(
            "set KORBENCH_CHECKOUT to a KOR-Bench/KOR-Bench work tree to compare with the official rules"
        )
    differ = disagreements(("korbench",), official)
    assert [case for case, label, ours in differ if label != ours] == []
    assert "korbench:cipher-1-first-bracket-right-last-wrong" in {case for case, _, _ in differ}
