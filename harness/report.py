"""The end-of-run report: markdown tables (tasks x models) written to ``report.md`` and printed with rich.

``results.json`` next to it holds the full :class:`RunMetrics` dump for programs.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field
from rich.console import Console
from rich.table import Table

from harness.metrics import (
    DEFAULT_MAX_ERROR_RATE,
    CategoryModelMetrics,
    RunMetrics,
    SameAnswer,
    TaskModelMetrics,
    compute_metrics,
)
from results.files import write_text_atomic
from results.manifest import MANIFEST_FILENAME, read_manifest
from results.records import TaskInfo
from results.store import DB_FILENAME, ResultsStore

REPORT_FILENAME = "report.md"
METRICS_FILENAME = "results.json"
INCOMPLETE_MARK = "†"
CODE_EXCLUDED_MARK = "‡"
ERROR_CELL = "error"


class ReportTable(BaseModel):
    """One table, renderable as markdown or with rich. ``emphasis[i]`` marks summary rows."""

    title: str
    legend: str
    headers: list[str]
    label_columns: int = Field(description="leading text columns; the rest are right-aligned figures")
    rows: list[list[str]]
    emphasis: list[bool]


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}"


def _accuracy_cell(
    s0: float | None,
    mean: float | None,
    sc: float | None,
    pass_k: Mapping[int, float],
    multi_sample: bool,
    incomplete: bool,
    sc_without_code: bool = False,
    coverage: float = 1.0,
) -> str:
    sc_text = _pct(sc) + (CODE_EXCLUDED_MARK if sc_without_code and sc is not None else "")
    cell = f"{_pct(s0)} / {_pct(mean)} / {sc_text}" if multi_sample else _pct(s0)
    if pass_k:
        cell += " · " + " ".join(f"p@{k} {_pct(v)}" for k, v in sorted(pass_k.items()))
    if not incomplete:
        return cell
    # Floor, not round: 99.96% graded must not read as "100%".
    # 1e-9: 29/100 is 28.999... in floating point, and is 29%.
    return cell + f" {INCOMPLETE_MARK}" + (f" (cov {int(100 * coverage + 1e-9)}%)" if coverage < 1 else "")


def _is_incomplete(row: TaskModelMetrics, n: int) -> bool:
    return row.samples_per_item_min < n or row.coverage < 1


def _error_cell(row: TaskModelMetrics) -> str:
    return f"{ERROR_CELL} ({row.counts.error}/{row.stored_samples} failed)"


def _summary_cells(
    metrics: RunMetrics, summaries: Sequence[CategoryModelMetrics | None], n_tasks: int, multi_sample: bool
) -> list[str]:
    return [
        "–"
        if summary is None
        else ERROR_CELL
        if any(metrics.is_error_cell(task, summary.model) for task in summary.tasks)
        else _accuracy_cell(
            summary.sample0_accuracy,
            summary.mean_accuracy,
            summary.majority_accuracy,
            summary.pass_at_k,
            multi_sample,
            len(summary.tasks) < n_tasks or summary.coverage < 1,
            sc_without_code=len(summary.majority_tasks) < len(summary.tasks),
            coverage=summary.coverage,
        )
        for summary in summaries
    ]


def _task_rows(metrics: RunMetrics, task: str, category: str, multi_sample: bool) -> list[str]:
    models = metrics.models
    per_model = {m: metrics.task_metrics(task, m) for m in models}
    n = max((r.samples_per_item_max for r in per_model.values() if r), default=0)
    items = max((r.n_items for r in per_model.values() if r), default=0)
    cells = [
        "–"
        if row is None
        else _error_cell(row)
        if metrics.is_error_cell(task, model)
        else _accuracy_cell(
            row.sample0_accuracy,
            row.mean_accuracy,
            row.majority_accuracy,
            row.pass_at_k,
            multi_sample,
            _is_incomplete(row, n),
            coverage=row.coverage,
        )
        for model, row in per_model.items()
    ]
    return [category, task, str(items), str(n), *cells]


def _legend(multi_sample: bool, max_error_rate: float) -> str:
    legend = (
        "Cells: sample-0 accuracy / mean accuracy over samples / majority-vote accuracy (SC@n), in %"
        if multi_sample
        else "Cells: accuracy (one sample per item), in %"
    )
    legend += (
        "; items = items graded, n = samples per item; p@k = unbiased pass@k for code tasks. "
        "Averages are means over tasks."
    )
    if multi_sample:
        legend += f" {CODE_EXCLUDED_MARK} = this SC@n average leaves out the code tasks (programs are not voted on)."
    return legend + (
        " Accuracy is over graded samples only: a failed request is no answer, counted apart (see"
        " Sample outcomes), never as a wrong one."
        f" {INCOMPLETE_MARK} = incomplete: fewer than n samples for some item, samples not graded, failed"
        " or never asked yet, or tasks missing from an average; cov = graded samples of those the run"
        " asked for."
        f" {ERROR_CELL} = more than {max_error_rate:.0%} of the samples failed (no answer from the"
        " endpoint): no accuracy is shown, and averages over such a cell are errors too."
    )


def accuracy_table(metrics: RunMetrics) -> ReportTable:
    """In-distribution tasks grouped by category, with category and overall averages (the paper's Table 2)."""
    models = metrics.models
    multi_sample = any(r.samples_per_item_max > 1 for r in metrics.tasks)
    rows: list[list[str]] = []
    emphasis: list[bool] = []
    in_dist = {t: info for t, info in metrics.task_info.items() if not info.ood}
    categories = sorted({info.category for info in in_dist.values()})
    for category in categories:
        tasks = sorted(t for t, info in in_dist.items() if info.category == category)
        for task in tasks:
            rows.append(_task_rows(metrics, task, category, multi_sample))
            emphasis.append(False)
        if len(tasks) > 1:
            averages = [metrics.category_metrics(category, model) for model in models]
            rows.append([category, "average", "", "", *_summary_cells(metrics, averages, len(tasks), multi_sample)])
            emphasis.append(True)
    if len(categories) > 1:
        overall = [metrics.overall_metrics(model) for model in models]
        rows.append(["all", "average", "", "", *_summary_cells(metrics, overall, len(in_dist), multi_sample)])
        emphasis.append(True)
    return ReportTable(
        title="Accuracy" if len(in_dist) == len(metrics.task_info) else "Accuracy, in-distribution tasks",
        legend=_legend(multi_sample, metrics.max_error_rate),
        headers=["category", "task", "items", "n", *models],
        label_columns=4,
        rows=rows,
        emphasis=emphasis,
    )


def ood_table(metrics: RunMetrics) -> ReportTable | None:
    """Out-of-distribution tasks with their own average, in no in-distribution average (the paper's Table 3)."""
    info = metrics.task_info
    ood = sorted((t for t in info if info[t].ood), key=lambda t: (info[t].category, t))
    if not ood:
        return None
    multi_sample = any(r.samples_per_item_max > 1 for r in metrics.tasks)
    rows = [_task_rows(metrics, task, info[task].category, multi_sample) for task in ood]
    emphasis = [False] * len(rows)
    if len(ood) > 1:
        averages = [metrics.ood_metrics(model) for model in metrics.models]
        rows.append(["ood", "average", "", "", *_summary_cells(metrics, averages, len(ood), multi_sample)])
        emphasis.append(True)
    return ReportTable(
        title="Accuracy, out-of-distribution tasks",
        legend=_legend(multi_sample, metrics.max_error_rate) + " OOD tasks are in no in-distribution average.",
        headers=["category", "task", "items", "n", *metrics.models],
        label_columns=4,
        rows=rows,
        emphasis=emphasis,
    )


def outcome_table(metrics: RunMetrics) -> ReportTable:
    headers = ["task", *metrics.models]
    rows = []
    for task in sorted(metrics.task_info, key=lambda t: (metrics.task_info[t].category, t)):
        cells = []
        for model in metrics.models:
            row = metrics.task_metrics(task, model)
            if row is None:
                cells.append("–")
                continue
            c = row.counts
            cell = f"{c.right} / {c.wrong} / {c.no_answer} / {c.truncated} / {c.error}"
            cells.append(cell + (f" (+{c.ungraded} ungraded)" if c.ungraded else ""))
        rows.append([task, *cells])
    return ReportTable(
        title="Sample outcomes",
        legend="Cells: right / wrong / no answer / truncated / request error (sample counts)",
        headers=headers,
        label_columns=1,
        rows=rows,
        emphasis=[False] * len(rows),
    )


def report_tables(metrics: RunMetrics) -> list[ReportTable]:
    tables = [accuracy_table(metrics)] if any(not i.ood for i in metrics.task_info.values()) else []
    ood = ood_table(metrics)
    return [*tables, *([ood] if ood else []), outcome_table(metrics)]


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|")


def table_to_markdown(table: ReportTable) -> str:
    lines = [f"## {table.title}", "", table.legend, ""]
    lines.append("| " + " | ".join(_md_escape(h) for h in table.headers) + " |")
    n_labels = table.label_columns
    lines.append("|" + "|".join(["---"] * n_labels + ["--:"] * (len(table.headers) - n_labels)) + "|")
    for row, emphasised in zip(table.rows, table.emphasis, strict=True):
        cells = [_md_escape(c) for c in row]
        if emphasised:
            cells = [f"**{c}**" if c else c for c in cells]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def to_markdown(metrics: RunMetrics, *, title: str = "Run report", preamble: Sequence[str] = ()) -> str:
    if not metrics.tasks:
        body = ["No graded samples yet."]
    else:
        body = [table_to_markdown(t) + "\n" for t in report_tables(metrics)]
    return "\n".join([f"# {title}", "", *preamble, *([""] if preamble else []), *body]).rstrip() + "\n"


def table_to_rich(table: ReportTable) -> Table:
    rich_table = Table(title=table.title, caption=table.legend, show_lines=False)
    for i, header in enumerate(table.headers):
        rich_table.add_column(header, justify="right" if i >= table.label_columns else "left")
    for row, emphasised in zip(table.rows, table.emphasis, strict=True):
        rich_table.add_row(*row, style="bold" if emphasised else None, end_section=emphasised)
    return rich_table


def print_report(metrics: RunMetrics, console: Console | None = None) -> None:
    console = console or Console()
    if not metrics.tasks:
        console.print("No graded samples yet.")
        return
    for table in report_tables(metrics):
        console.print(table_to_rich(table))


def _preamble(run_dir: Path) -> list[str]:
    manifest = read_manifest(run_dir)
    if manifest is None:
        return []
    sampling = manifest.sampling
    lines = [
        f"- created {manifest.created_at:%Y-%m-%d %H:%M UTC}, updated {manifest.updated_at:%Y-%m-%d %H:%M UTC}",
        f"- harness {manifest.harness_version}, python {manifest.python_version}",
        f"- sampling: temperature={sampling.temperature}, top_p={sampling.top_p}, "
        f"max_tokens={sampling.max_tokens}, samples per item={manifest.n_samples}, seed={manifest.seed}",
    ]
    if manifest.limit is not None:
        lines.append(f"- limit: first {manifest.limit} items per task")
    return lines


def compute_run_metrics(
    run_dir: Path,
    *,
    task_info: Mapping[str, TaskInfo] | None = None,
    same_answer: SameAnswer | None = None,
    models: Sequence[str] | None = None,
) -> RunMetrics:
    """Metrics from ``<run_dir>/results.sqlite``; ``task_info`` defaults to the one in the run's manifest.

    Opens the store read-only, so it is safe while the run is still writing.
    """
    run_dir = Path(run_dir)
    if not (run_dir / DB_FILENAME).is_file():
        raise FileNotFoundError(f"{run_dir} has no {DB_FILENAME}: is it a run directory?")
    manifest = read_manifest(run_dir)
    max_error_rate = (manifest.config.get("request", {}) if manifest else {}).get(
        "max_error_rate", DEFAULT_MAX_ERROR_RATE
    )
    samples_per_item = manifest.n_samples if manifest else None
    if task_info is None:
        if manifest is None or not manifest.task_info:
            raise ValueError(
                f"{run_dir / MANIFEST_FILENAME} is missing or has no task_info; "
                "pass task_info (category and grader of each task) to compute metrics"
            )
        task_info = manifest.task_info
    with ResultsStore(run_dir, readonly=True) as store:
        return compute_metrics(
            store,
            task_info,
            same_answer=same_answer,
            models=models,
            max_error_rate=max_error_rate,
            samples_per_item=samples_per_item,
        )


def write_report(
    run_dir: Path,
    metrics: RunMetrics | None = None,
    *,
    console: Console | None = None,
    task_info: Mapping[str, TaskInfo] | None = None,
    same_answer: SameAnswer | None = None,
    models: Sequence[str] | None = None,
    title: str | None = None,
) -> str:
    """Write ``report.md`` and ``results.json`` into ``run_dir`` and return the markdown.

    Without ``metrics`` they are recomputed from the store (see :func:`compute_run_metrics`).
    With a ``console`` the tables are also printed there with rich.
    """
    run_dir = Path(run_dir)
    if metrics is None:
        metrics = compute_run_metrics(run_dir, task_info=task_info, same_answer=same_answer, models=models)
    markdown = to_markdown(metrics, title=title or f"Run report: {run_dir.name}", preamble=_preamble(run_dir))
    write_text_atomic(run_dir / REPORT_FILENAME, markdown)
    write_text_atomic(run_dir / METRICS_FILENAME, metrics.model_dump_json(indent=2))
    if console is not None:
        show_report(metrics, markdown, console)
    return markdown


def show_report(metrics: RunMetrics, markdown: str, console: Console) -> None:
    """Rich tables on a terminal; the markdown of report.md when redirected (`> out.txt`), never cut to a width."""
    if console.is_terminal:
        print_report(metrics, console)
    else:
        _print_plain(markdown, console)


def _print_plain(text: str, console: Console) -> None:
    console.print(text, markup=False, highlight=False, emoji=False, soft_wrap=True, end="")


def show_stored_report(run_dir: Path, console: Console) -> None:
    """Print the report that `write_report` last wrote for this run."""
    run_dir = Path(run_dir)
    markdown = (run_dir / REPORT_FILENAME).read_text(encoding="utf-8")
    if console.is_terminal:
        print_report(RunMetrics.model_validate_json((run_dir / METRICS_FILENAME).read_text("utf-8")), console)
    else:
        _print_plain(markdown, console)


def fold_sqlite_wal(run_dir: Path) -> None:
    """Fold the write-ahead log into results.sqlite and drop the -wal/-shm files, after a finished run.

    SQLite removes them when its last connection closes, but a read-only connection cannot, and the
    report is computed through one: one read-write open and close after it leaves a single file.
    """
    path = Path(run_dir) / DB_FILENAME
    if not path.is_file():
        return
    # Tidiness only: when it cannot be done (disk full, a reader holding the WAL) the -wal file stays,
    # and SQLite reads it as part of the database.
    with contextlib.suppress(sqlite3.Error), contextlib.closing(sqlite3.connect(path, timeout=30.0)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def render_report(run_dir: Path, **kwargs: Any) -> str:
    """``harness report RUN``: recompute the metrics, rewrite report.md and results.json, return the markdown.

    Accepts the keyword arguments of :func:`write_report`.
    """
    return write_report(Path(run_dir), **kwargs)
