"""Run directory bookkeeping for `harness eval`: the manifest at start, the report at the end."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console

from harness.config import ModelSpec
from harness.taskset import Task
from results.manifest import (
    build_manifest,
    check_compatible,
    merge_for_resume,
    read_manifest,
    write_manifest,
)
from results.records import SamplingParams, TaskInfo

if TYPE_CHECKING:
    from harness.evaluate import EvalRequest


def task_info(tasks: Sequence[Task]) -> dict[str, TaskInfo]:
    return {
        t.name: TaskInfo(
            category=t.category,
            grader=t.grader,
            grader_options=t.grader_options,
            is_code=t.is_code,
            ood=t.ood,
        )
        for t in tasks
    }


def prepare_run_dir(
    run_dir: Path, run_name: str, request: EvalRequest, tasks: Sequence[Task], models: Sequence[ModelSpec]
) -> list[str]:
    """Write (or check and update) the manifest; refuse to resume a run under different sampling."""
    sampling = request.sampling
    manifest = build_manifest(
        run_name,
        config={
            "request": request.model_dump(mode="json", exclude={"models"}),
            "models": [m.model_dump(mode="json") for m in models],
            "note": "sampling.max_tokens 0 means each task file's own max_tokens",
        },
        sampling=SamplingParams(
            temperature=sampling.temperature, top_p=sampling.top_p, max_tokens=sampling.max_tokens or 0
        ),
        seed=sampling.seed,
        tasks=[t.name for t in tasks],
        task_files={t.name: t.file for t in tasks},
        limit=request.limit,
        n_samples=sampling.samples,
        task_info=task_info(tasks),
    )
    existing = read_manifest(run_dir)
    notes: list[str] = []
    if existing is not None:
        notes = check_compatible(existing, manifest)
        manifest = merge_for_resume(existing, manifest)
    write_manifest(run_dir, manifest)
    return notes


def write_run_report(run_dir: Path, console: Console | None = None) -> str:
    """At the end of a run: stamp the manifest's updated_at, write report.md/results.json, and leave
    results.sqlite as one self-contained file (no -wal/-shm beside it)."""
    from harness.report import fold_sqlite_wal, write_report

    manifest = read_manifest(run_dir)
    if manifest is not None:
        write_manifest(run_dir, manifest.model_copy(update={"updated_at": datetime.now(UTC)}))
    markdown = write_report(run_dir, console=console)
    fold_sqlite_wal(run_dir)
    return markdown
