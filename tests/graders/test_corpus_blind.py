"""The blind corpus (tests/graders/corpus_blind/*.yaml, written from the task files and real items before the
grader source was read): every case is graded as labelled, except those marked `known_disagreement`, which
must still disagree (a grader change that resolves one has to remove its marker)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from tests.graders.corpus import BLIND_CORPUS_DIR, load_corpus

BENCH = Path(__file__).resolve().parents[2] / "bench" / "grader_agreement.py"
CASES = [(task, case) for task, cases in load_corpus(BLIND_CORPUS_DIR).items() for case in cases]


def test_blind_corpus_is_loaded_and_covers_its_tasks():
    tasks = {task for task, _ in CASES}
    assert {"arc_challenge", "mmlu_pro", "gpqa", "medqa", "winogrande", "brainteaser", "bbh"} <= tasks
    assert {"emorynlp", "meld", "dailydialog", "finqa"} <= tasks
    assert all(sum(1 for t, _ in CASES if t == task) >= 8 for task in tasks)


@pytest.mark.parametrize(("task", "case"), CASES, ids=[f"{task}:{case.id}" for task, case in CASES])
def test_blind_corpus_case_graded_as_labelled(task, case):
    result = case.grade()
    agrees = result.correct == case.expected_correct and (
        case.label not in ("no_answer", "truncated") or result.reason == case.label
    )
    if case.known_disagreement:
        assert not agrees, f"{task}:{case.id} now agrees with its label: remove its known_disagreement marker"
        return
    assert agrees, (
        f"{task}:{case.id} labelled {case.label} ({case.why}); graded {result.reason}, "
        f"extracted {result.extracted!r}, detail {result.detail!r}"
    )


def test_known_disagreements_count_as_disagreements_in_the_agreement_bench():
    spec = importlib.util.spec_from_file_location("grader_agreement", BENCH)
    bench = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, bench)  # its dataclasses look their module up while being defined
    spec.loader.exec_module(bench)
    known = [case for _, case in CASES if case.known_disagreement]
    assert known, "the blind corpus records its known disagreements"
    tally = bench.Tally()
    for case in known:
        tally.add(case, case.grade().correct)
    assert tally.cases == len(known)
    assert tally.agree < len(known)
    assert tally.false_pos + tally.false_neg == len(known) - tally.agree
