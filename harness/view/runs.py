"""The runs the viewer shows: discovery, one-line summaries, report tables and run comparison.

Report tables are the ones `harness report` prints (:func:`harness.report.report_tables`), from the
run's ``results.json`` when it is newer than the store, else recomputed read-only from the store
(:func:`harness.report.compute_run_metrics`). Both are cached until the store changes.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from harness.metrics import RunMetrics
from harness.report import METRICS_FILENAME, compute_run_metrics, report_tables
from harness.view.db import RunDatabase
from harness.view.samples import facets
from harness.view.search_index import SearchIndex
from results.manifest import read_manifest
from results.store import DB_FILENAME, StoreError

T = TypeVar("T")


def _signature(run_dir: Path) -> tuple[float, ...]:
    """Changes whenever a transaction is committed to the store (the WAL file grows or is checkpointed)."""
    parts: list[float] = []
    for name in (DB_FILENAME, f"{DB_FILENAME}-wal"):
        path = run_dir / name
        if path.exists():
            stat = path.stat()
            parts += [stat.st_mtime, float(stat.st_size)]
    return tuple(parts)


def discover_runs(root: Path) -> dict[str, Path]:
    """``root`` itself when it is a run directory, else its sub-directories that hold a results store."""
    root = Path(root)
    if (root / DB_FILENAME).is_file():
        return {root.resolve().name: root}
    if not root.is_dir():
        raise FileNotFoundError(f"{root} is neither a run directory nor a folder of runs")
    return {p.name: p for p in sorted(root.iterdir()) if (p / DB_FILENAME).is_file()}


class Run:
    """One run directory: its read-only database, search index and cached summaries."""

    def __init__(self, name: str, run_dir: Path):
        self.name = name
        self.dir = Path(run_dir)
        self.db = RunDatabase(self.dir)
        self.index = SearchIndex(self.dir)
        self._cache: dict[str, tuple[tuple[float, ...], Any]] = {}
        self._lock = threading.Lock()

    def cached(self, key: str, compute: Callable[[], T]) -> T:
        signature = _signature(self.dir)
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None and hit[0] == signature:
                return hit[1]
        value = compute()
        with self._lock:
            self._cache[key] = (signature, value)
        return value

    def attach_index_if_ready(self) -> None:
        if self.index.state.ready and self.index.path.is_file():
            self.db.attach_index(self.index.path)

    # -- summaries --------------------------------------------------------------------------------

    def summary(self) -> dict[str, Any]:
        return self.cached("summary", self._summary)

    def _summary(self) -> dict[str, Any]:
        manifest = read_manifest(self.dir)
        db = self.db
        return {
            "name": self.name,
            "path": str(self.dir),
            "created": manifest.created_at.isoformat(timespec="minutes") if manifest else None,
            "updated": manifest.updated_at.isoformat(timespec="minutes") if manifest else None,
            "models": [r["model"] for r in db.query("SELECT DISTINCT model FROM samples ORDER BY model")],
            "tasks": facets(db)["tasks"],
            "samples": db.scalar("SELECT COUNT(*) FROM samples"),
            "errors": db.scalar("SELECT COUNT(*) FROM samples WHERE response IS NULL AND error IS NOT NULL"),
            "n_samples": manifest.n_samples if manifest else None,
            "sampling": manifest.sampling.model_dump() if manifest else None,
            "seed": manifest.seed if manifest else None,
            "has_router": (self.dir / "router").is_dir(),
        }

    def metrics(self, *, fresh: bool = False) -> RunMetrics:
        return self.metrics_with_source(fresh=fresh)[0]

    def metrics_with_source(self, *, fresh: bool = False) -> tuple[RunMetrics, str]:
        """The run's metrics and where they came from.

        ``results.json`` is used while no sample was written after it (regrades rewrite it too);
        otherwise, or with ``fresh``, they are recomputed read-only from the store (slow on big runs).
        """
        if not fresh:
            stored = self.cached("stored-metrics", self._stored_metrics)
            if stored is not None:
                return stored
        return self.cached(
            "metrics", lambda: (compute_run_metrics(self.dir), "recomputed from results.sqlite")
        )

    def _stored_metrics(self) -> tuple[RunMetrics, str] | None:
        path = self.dir / METRICS_FILENAME
        if not path.is_file():
            return None
        written = path.stat().st_mtime
        if self.db.scalar("SELECT 1 FROM samples WHERE written_at > ? LIMIT 1", (written,)):
            return None
        when = dt.datetime.fromtimestamp(written, dt.UTC).isoformat(timespec="minutes")
        return RunMetrics.model_validate_json(
            path.read_text(encoding="utf-8")
        ), f"{METRICS_FILENAME} (written {when})"

    def report(self, *, fresh: bool = False) -> dict[str, Any]:
        try:
            metrics, source = self.metrics_with_source(fresh=fresh)
        except (ValueError, FileNotFoundError, StoreError) as exc:
            return {"tables": [], "error": str(exc), "source": None}
        tables = [t.model_dump() for t in report_tables(metrics)] if metrics.tasks else []
        return {"tables": tables, "error": None, "source": source}


def _pct(value: float | None) -> float | None:
    return None if value is None else round(100 * value, 2)


def compare_runs(a: RunMetrics, b: RunMetrics) -> list[dict[str, Any]]:
    """One row per (category, task, model) in either run: sample-0 / mean / SC@n of each, and the change."""
    keys = sorted(
        {(m.category, m.task, m.model) for m in a.tasks} | {(m.category, m.task, m.model) for m in b.tasks}
    )
    rows = []
    for category, task, model in keys:
        left, right = a.task_metrics(task, model), b.task_metrics(task, model)

        def cells(m):
            if m is None:
                return None
            return {
                "n_items": m.n_items,
                "sample0": _pct(m.sample0_accuracy),
                "mean": _pct(m.mean_accuracy),
                "sc": _pct(m.majority_accuracy),
            }

        delta = (
            _pct(right.mean_accuracy - left.mean_accuracy)
            if left and right and left.mean_accuracy is not None and right.mean_accuracy is not None
            else None
        )
        rows.append(
            {
                "category": category,
                "task": task,
                "model": model,
                "a": cells(left),
                "b": cells(right),
                "delta_mean": delta,
            }
        )
    return rows
