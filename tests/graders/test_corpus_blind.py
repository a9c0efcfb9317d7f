"""The blind corpus (tests/graders/corpus_blind/*.yaml): responses written and labelled without reading the
graders or the main corpus, as an independent check. A case the graders still misjudge carries
`known_disagreement` (why) and is asserted to disagree, so it stays visible and a fix shows up as a failure
to update."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.graders.corpus import load_corpus

BLIND_DIR = Path(__file__).resolve().parent / "corpus_blind"
CASES = [(task, case) for task, cases in load_corpus(BLIND_DIR).items() for case in cases]


@pytest.mark.parametrize(("task", "case"), CASES, ids=[f"{task}:{case.id}" for task, case in CASES])
def test_blind_case_graded_as_labelled(task, case):
    result = case.grade()
    agrees = result.correct == case.expected_correct and (
        case.label not in ("no_answer", "truncated") or result.reason == case.label
    )
    detail = (f"{task}:{case.id} labelled {case.label} ({case.why}); graded {result.reason}, "
              f"extracted {result.extracted!r}, detail {result.detail!r}")
    if case.known_disagreement:
        assert not agrees, f"known disagreement now agrees, drop the field: {detail}"
    else:
        assert agrees, detail
