"""Fault round 3, what a report says about a store that holds less than the run asked for: items never
requested (an interrupted run, a report while it writes), failed requests; real SQLite, the real report."""

from __future__ import annotations

import pytest

from harness.metrics import RunMetrics, TaskInfo
from harness.report import METRICS_FILENAME, render_report
from results.manifest import build_manifest, write_manifest
from results.records import SamplingParams
from results.store import ResultsStore
from tests.results.factories import graded, item, sample

TASK_INFO = {"gsm8k": TaskInfo(category="math", grader="math")}


def equal(grader: str, a: str, b: str, options: dict) -> bool:
    return a == b


def _run_dir(tmp_path, items: int, records: list) -> object:
    run_dir = tmp_path / "run"
    with ResultsStore(run_dir) as store:
        store.upsert_items(item("gsm8k", str(i)) for i in range(items))  # what eval stores before any request
        store.write_samples(records)
    manifest = build_manifest(
        "run", config={}, sampling=SamplingParams(), seed=1, tasks=["gsm8k"], n_samples=1, task_info=TASK_INFO
    )
    write_manifest(run_dir, manifest)
    return run_dir


def _accuracy_cell(markdown: str) -> str:
    line = next(line for line in markdown.splitlines() if line.startswith("| math | gsm8k |"))
    return [c.strip() for c in line.strip("|").split("|")][-1]


def test_a_report_over_part_of_the_items_is_marked_incomplete_with_its_coverage(tmp_path):
    # An interrupted run: 10 items set out, 4 answered and graded (all right), 6 never requested.
    run_dir = _run_dir(tmp_path, 10, [graded("gsm8k", str(i), "m", 0, "42", 1.0) for i in range(4)])
    markdown = render_report(run_dir, same_answer=equal)
    assert _accuracy_cell(markdown) == "100.0 † (cov 40%)", "4 of 10 items is not a final 100%"
    row = RunMetrics.model_validate_json((run_dir / METRICS_FILENAME).read_text()).task_metrics("gsm8k", "m")
    assert (row.n_samples, row.samples_expected, row.coverage) == (4, 10, pytest.approx(0.4))


def test_a_failed_request_is_counted_apart_never_as_a_wrong_answer(tmp_path):
    # 19 right answers and one request that failed (5%: within the default error budget).
    records = [graded("gsm8k", str(i), "m", 0, "42", 1.0) for i in range(19)]
    records.append(sample("gsm8k", "19", "m", 0, response=None, error="HTTP 503", error_kind="transient"))
    run_dir = _run_dir(tmp_path, 20, records)
    markdown = render_report(run_dir, same_answer=equal)
    assert _accuracy_cell(markdown) == "100.0 † (cov 95%)", "accuracy is over the graded samples only"
    assert "| gsm8k | 19 / 0 / 0 / 0 / 1 |" in markdown, (
        "the failure is in the outcome table, not among the wrong"
    )


def test_a_complete_run_shows_no_mark(tmp_path):
    run_dir = _run_dir(
        tmp_path, 2, [graded("gsm8k", "0", "m", 0, "42", 1.0), graded("gsm8k", "1", "m", 0, "7", 0.0)]
    )
    assert _accuracy_cell(render_report(run_dir, same_answer=equal)) == "50.0"
