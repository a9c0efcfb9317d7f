"""Report files and tables built from a small real run directory."""

from __future__ import annotations

import pytest
from rich.console import Console

from harness.metrics import RunMetrics, TaskInfo, compute_metrics
from harness.report import METRICS_FILENAME, REPORT_FILENAME, render_report, write_report
from results.manifest import build_manifest, write_manifest
from results.records import SamplingParams
from results.store import ResultsStore
from tests.results.factories import graded

TASK_INFO = {
    "gsm8k": TaskInfo(category="math", grader="math"),
    "math500": TaskInfo(category="math", grader="math"),
    "mbpp": TaskInfo(category="code", grader="code", is_code=True),
}


def equal(grader: str, a: str, b: str, options: dict) -> bool:
    return a == b


@pytest.fixture
def run_dir(tmp_path):
    run_dir = tmp_path / "demo"
    with ResultsStore(run_dir) as store:
        store.write_samples(
            [
                # gsm8k, model a: s0 1/2, mean 1/2, SC 1/2; model b: all right
                *[graded("gsm8k", "1", "a", i, "1", 1.0) for i in range(2)],
                *[graded("gsm8k", "2", "a", i, "9", 0.0) for i in range(2)],
                *[graded("gsm8k", item, "b", i, "1", 1.0) for item in ("1", "2") for i in range(2)],
                # math500, model a only: s0 0, mean 1/2, SC 0 (tie, sample 0's wrong answer wins)
                graded("math500", "1", "a", 0, "x", 0.0),
                graded("math500", "1", "a", 1, "y", 1.0),
                # mbpp, model a: c=1 of n=2 -> pass@1 1/2
                graded("mbpp", "1", "a", 0, "f", 0.0),
                graded("mbpp", "1", "a", 1, "g", 1.0),
            ]
        )
    manifest = build_manifest(
        "demo",
        config={},
        sampling=SamplingParams(temperature=0.7),
        seed=7,
        tasks=list(TASK_INFO),
        n_samples=2,
        task_info=TASK_INFO,
    )
    write_manifest(run_dir, manifest)
    return run_dir


def _table_row(markdown: str, first_cells: str) -> list[str]:
    line = next(line for line in markdown.splitlines() if line.startswith(f"| {first_cells} |"))
    return [c.strip() for c in line.strip("|").split("|")]


def test_render_report_recomputes_from_manifest(run_dir):
    markdown = render_report(run_dir, same_answer=equal)
    assert (run_dir / REPORT_FILENAME).read_text() == markdown
    assert _table_row(markdown, "math | gsm8k") == [
        "math",
        "gsm8k",
        "2",
        "2",
        "50.0 / 50.0 / 50.0",
        "100.0 / 100.0 / 100.0",
    ]
    assert _table_row(markdown, "math | math500") == ["math", "math500", "1", "2", "0.0 / 50.0 / 0.0", "–"]
    # category average for a = mean of the two tasks; b has only one of the two (marked incomplete)
    assert _table_row(markdown, "**math** | **average**") == [
        "**math**",
        "**average**",
        "",
        "",
        "**25.0 / 50.0 / 25.0**",
        "**100.0 / 100.0 / 100.0 †**",
    ]
    assert _table_row(markdown, "code | mbpp")[2:] == ["1", "2", "0.0 / 50.0 / – · p@1 50.0", "–"]
    # overall for a = mean over its three tasks: s0 (0 + 1/2 + 0)/3, mean 1/2, SC (1/2 + 0)/2 (mbpp has
    # none, so that SC@n is marked as leaving code out)
    assert _table_row(markdown, "**all** | **average**")[4:] == [
        "**16.7 / 50.0 / 25.0‡ · p@1 50.0**",
        "**100.0 / 100.0 / 100.0 †**",
    ]
    assert "seed=7" in markdown
    metrics = RunMetrics.model_validate_json((run_dir / METRICS_FILENAME).read_text())
    assert metrics.task_metrics("mbpp", "a").pass_at_k == {1: 0.5}


def test_outcome_table(run_dir):
    markdown = render_report(run_dir, same_answer=equal)
    # right / wrong / no answer / truncated / error
    assert _table_row(markdown, "gsm8k")[1:] == ["2 / 2 / 0 / 0 / 0", "4 / 0 / 0 / 0 / 0"]
    assert "| task | a | b |\n|---|--:|--:|" in markdown


def test_write_report_prints_with_rich(run_dir):
    console = Console(record=True, width=200)
    metrics = compute_metrics(ResultsStore(run_dir, readonly=True), TASK_INFO, same_answer=equal)
    write_report(run_dir, metrics, console=console)
    text = console.export_text()
    assert "gsm8k" in text and "50.0 / 50.0 / 50.0" in text and "– · p@1 50.0" in text


def test_single_sample_runs_show_one_number(tmp_path):
    with ResultsStore(tmp_path) as store:
        store.write_samples([graded("gsm8k", "1", "a", 0, "1", 1.0), graded("gsm8k", "2", "a", 0, "2", 0.0)])
        metrics = compute_metrics(store, TASK_INFO, same_answer=equal)
    markdown = write_report(tmp_path, metrics)
    assert _table_row(markdown, "math | gsm8k") == ["math", "gsm8k", "2", "1", "50.0"]
    assert "one sample per item" in markdown


def test_render_report_needs_task_info(tmp_path):
    with ResultsStore(tmp_path):
        pass
    with pytest.raises(ValueError, match="task_info"):
        render_report(tmp_path)
    with pytest.raises(FileNotFoundError, match="results.sqlite"):
        render_report(tmp_path / "nope")


def test_empty_run_report(tmp_path):
    with ResultsStore(tmp_path):
        pass
    markdown = render_report(tmp_path, task_info=TASK_INFO, same_answer=equal)
    assert "No graded samples yet." in markdown


def test_ood_tasks_get_their_own_table_and_stay_out_of_the_averages(tmp_path):
    info = {**TASK_INFO, "winogrande": TaskInfo(category="knowledge", grader="choice", ood=True)}
    with ResultsStore(tmp_path) as store:
        store.write_samples(
            [
                graded("gsm8k", "1", "a", 0, "1", 1.0),
                graded("math500", "1", "a", 0, "1", 0.0),
                graded("mbpp", "1", "a", 0, "f", 1.0),
                *[graded("winogrande", str(i), "a", 0, "A", 0.0) for i in range(3)],
            ]
        )
        metrics = compute_metrics(store, info, same_answer=equal)
    markdown = write_report(tmp_path, metrics)
    in_dist, ood = markdown.split("## Accuracy, out-of-distribution tasks")
    assert "winogrande" not in in_dist.split("## Sample outcomes")[0]
    # overall = mean of gsm8k, math500, mbpp only (the OOD 0% would pull it to 37.5)
    assert _table_row(in_dist, "**all** | **average**")[4] == "**66.7 · p@1 100.0**"
    assert _table_row(ood, "knowledge | winogrande") == ["knowledge", "winogrande", "3", "1", "0.0"]
    assert metrics.overall_metrics("a").tasks == ["mbpp", "gsm8k", "math500"]
    assert metrics.ood_metrics("a").tasks == ["winogrande"]
