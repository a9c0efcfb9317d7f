"""`harness regrade`: grade stored responses again (new grader, fixed task file), no model calls."""

from __future__ import annotations

from itertools import islice
from pathlib import Path

from graders import GradingPool
from harness.taskset import discover_tasks
from results.run_lock import RunLock
from results.store import ResultsStore

BATCH = 2000  # samples held in memory at once


def regrade_run(run_dir: Path, *, task: str | None = None, workers: int | None = None) -> int:
    """Re-grade every stored response of the run (optionally one task); returns how many were graded."""
    tasks = discover_tasks()
    graded = 0
    with RunLock(run_dir), ResultsStore(run_dir) as store, GradingPool(workers) as pool:
        gold = {(it.task, it.item_id): it.gold for it in store.iter_items(task=task)}
        missing = sorted({t for t, _ in gold} - set(tasks))
        if missing:
            raise KeyError(f"task file(s) not found for stored task(s): {', '.join(missing)}")
        samples = (s for s in store.iter_samples(task=task) if s.error is None and (s.task, s.item_id) in gold)
        while batch := list(islice(samples, BATCH)):
            requests = [
                tasks[s.task].grade_request(gold[(s.task, s.item_id)], s.response, s.finish_reason) for s in batch
            ]
            results = pool.map(requests)
            store.update_grades([(s.key, r) for s, r in zip(batch, results, strict=True)])
            graded += len(batch)
    return graded
