"""A live progress line per run: done/total, requests/s, errors, graded, ETA."""

from __future__ import annotations

import time

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn


class RunProgress:
    def __init__(self, description: str, console: Console | None = None, enabled: bool = True):
        self.description = description
        self.console = console or Console(stderr=True)
        self.enabled = enabled
        self._progress: Progress | None = None
        self._task_id = None
        self._errors = 0
        self._graded = 0
        self._started = time.perf_counter()

    def start(self, total: int) -> None:
        self._started = time.perf_counter()
        if not self.enabled:
            return
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]:.1f} req/s"),
            TextColumn("graded {task.fields[graded]}"),
            TextColumn("[red]errors {task.fields[errors]}"),
            TimeRemainingColumn(),
            console=self.console,
            transient=False,
        )
        self._progress.start()
        self._task_id = self._progress.add_task(self.description, total=total, rate=0.0, errors=0, graded=0)

    def update(self, *, done: int, errors: int, graded: int, requests: int) -> None:
        self._errors += errors
        self._graded += graded
        if self._progress is None or self._task_id is None:
            return
        elapsed = max(time.perf_counter() - self._started, 1e-9)
        self._progress.update(
            self._task_id, advance=done, rate=requests / elapsed, errors=self._errors, graded=self._graded
        )

    def finish(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
