"""Where the harness finds things: benchmark data, task files, run directories."""

from __future__ import annotations

import os
from pathlib import Path

DATA_DIR_ENV = "HARNESS_DATA_DIR"
TASKS_DIR_ENV = "HARNESS_TASKS_DIR"
RUNS_DIR_ENV = "HARNESS_RUNS_DIR"
CACHE_DIR_ENV = "HARNESS_CACHE_DIR"


def data_dir(override: str | Path | None = None) -> Path | None:
    """The local benchmark mirror: an explicit override, else $HARNESS_DATA_DIR, else None (use the hub)."""
    value = override if override is not None else os.environ.get(DATA_DIR_ENV)
    if not value:
        return None
    path = Path(value).expanduser()
    if not path.is_dir():
        raise FileNotFoundError(f"data directory {path} (from --data-dir or ${DATA_DIR_ENV}) does not exist")
    return path


def tasks_dir() -> Path:
    """Task files: $HARNESS_TASKS_DIR if set, else the `tasks` folder shipped with the project."""
    value = os.environ.get(TASKS_DIR_ENV)
    if value:
        return Path(value).expanduser()
    # Found beside this package, not imported: a `tasks/` folder in the working directory (first on sys.path)
    # would otherwise be imported, and its code run, just to locate the task files.
    return Path(__file__).resolve().parents[1] / "tasks"


def runs_dir(override: str | Path | None = None) -> Path:
    value = override or os.environ.get(RUNS_DIR_ENV) or "runs"
    return Path(value).expanduser()


def cache_dir() -> Path:
    value = os.environ.get(CACHE_DIR_ENV)
    base = Path(value).expanduser() if value else Path.home() / ".cache" / "avengers-harness"
    base.mkdir(parents=True, exist_ok=True)
    return base


def resolve_run_dir(run: str | Path, output: str | Path | None = None) -> Path:
    """A run given as a directory path, or as a run name under the runs directory."""
    candidate = Path(run).expanduser()
    if candidate.is_dir():
        return candidate
    named = runs_dir(output) / str(run)
    if named.is_dir():
        return named
    raise FileNotFoundError(f"no run {run!r}: neither a directory nor a run under {runs_dir(output)}")
