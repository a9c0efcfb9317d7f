"""Every labelled response of the realistic corpus (tests/graders/corpus/*.yaml) is graded as labelled."""

from __future__ import annotations

import pytest

from tests.graders.corpus import load_corpus

CASES = [(task, case) for task, cases in load_corpus().items() for case in cases]


@pytest.mark.parametrize(("task", "case"), CASES, ids=[f"{task}:{case.id}" for task, case in CASES])
def test_corpus_case_graded_as_labelled(task, case):
    result = case.grade()
    assert result.correct == case.expected_correct, (
        f"{task}:{case.id} labelled {case.label} ({case.why}); graded {result.reason}, "
        f"extracted {result.extracted!r}, detail {result.detail!r}"
    )
    if case.label in ("no_answer", "truncated"):
        assert result.reason == case.label, f"{task}:{case.id}: reason {result.reason}, labelled {case.label}"
