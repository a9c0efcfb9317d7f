"""`harness regrade`: grade stored responses again (new grader, fixed task file), no model calls."""

from __future__ import annotations

from pathlib import Path

from graders import grade_many
from harness.taskset import discover_tasks
from results.store import ResultsStore


def regrade_run(run_dir: Path, *, task: str | None = None, workers: int | None = None) -> int:
    """Re-grade every stored response of the run (optionally one task); returns how many were graded."""
    tasks = discover_tasks()
    with ResultsStore(run_dir) as store:
        gold = {(it.task, it.item_id): it.gold for it in store.iter_items(task=task)}
        samples = [
            s for s in store.iter_samples(task=task) if s.error is None and (s.task, s.item_id) in gold
        ]
        missing = sorted({s.task for s in samples} - set(tasks))
        if missing:
            raise KeyError(f"task file(s) not found for stored task(s): {', '.join(missing)}")
        requests = [
            tasks[s.task].grade_request(gold[(s.task, s.item_id)], s.response, s.finish_reason)
            for s in samples
        ]
        results = grade_many(requests, workers=workers)
        store.update_grades([(s.key, r) for s, r in zip(samples, results, strict=True)])
    return len(samples)
