"""Glue between a run directory and the router: open the store, read the table, embed, find the split."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from harness import settings
from results.records import TaskInfo
from router.embedders import Embedder
from router.split import SPLIT_META_KEY, Split, decode_split_meta, explicit_split
from router.table import OutcomeTable, load_table

log = logging.getLogger(__name__)


class RunError(ValueError):
    pass


def resolve_run(run: str | Path) -> Path:
    """A run directory, or the name of one under the runs directory."""
    path = Path(run).expanduser()
    if (path / "results.sqlite").is_file():
        return path
    named = settings.runs_dir() / str(run)
    if (named / "results.sqlite").is_file():
        return named
    raise RunError(f"run {run!r}: neither {path} nor {named} holds a results.sqlite")


def run_dir_for_import(run: str | Path) -> Path:
    """Where `route import` writes: an existing path as given, else a (new) run name under the runs directory."""
    path = Path(run).expanduser()
    if path.is_dir() or "/" in str(run) or str(run).startswith("."):
        return path
    return settings.runs_dir() / str(run)


def task_infos(task_names: list[str], run_dir: Path | None = None) -> dict[str, TaskInfo]:
    """TaskInfo per task: from the run's manifest (what was actually run), else from the task file.

    Imported tables usually have neither; their cells carry no answers, so no equivalence is needed.
    """
    infos: dict[str, TaskInfo] = {}
    if run_dir is not None:
        from results.manifest import read_manifest

        manifest = read_manifest(run_dir)
        if manifest is not None:
            infos.update({t: i for t, i in manifest.task_info.items() if t in task_names})
    task_names = [t for t in task_names if t not in infos]
    from harness.manifest_io import task_info
    from harness.taskset import Task

    root = settings.tasks_dir()
    files = [root / f"{name}.yaml" for name in task_names]
    infos.update(task_info([Task.from_file(path) for path in files if path.is_file()]))
    return infos


def open_table(run_dir: Path, *, prices: Path | None = None) -> tuple[OutcomeTable, Split | None]:
    """The run's table and recorded split. Samples carry costs recorded at import time and, with
    ``prices`` (a pool file with price fields), costs from their token usage."""
    from results.store import ResultsStore
    from router.costs import COST_META_KEY, decode_costs, token_costs, with_costs

    with ResultsStore(run_dir, readonly=True) as store:
        tasks = store.tasks()
        table = load_table(store, task_infos=task_infos(tasks, run_dir))
        recorded = store.get_meta(SPLIT_META_KEY)
        stored_costs = store.get_meta(COST_META_KEY)
        per_sample = None
        if prices is not None:
            from harness.config import load_pool

            per_sample = token_costs(store.iter_samples(graded_only=True), load_pool(prices))
    table = with_costs(table, decode_costs(stored_costs) if stored_costs else None, per_sample)
    split = None
    if recorded:
        parts, source = decode_split_meta(recorded)
        split = explicit_split(parts, source=source, ood_tasks=table.ood_tasks)
    return table, split


def embed_table(table: OutcomeTable, embedder: Embedder) -> np.ndarray:
    return embedder.embed(table.queries)
