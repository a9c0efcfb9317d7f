"""A live progress line per run: done/total, requests/s, errors, graded, ETA, and Retry-After waits."""

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
        self._note = ""
        self._capped_models: set[str] = set()

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
            TextColumn("[yellow]{task.fields[note]}"),
            console=self.console,
            transient=False,
        )
        self._progress.start()
        self._task_id = self._progress.add_task(self.description, total=total, rate=0.0, errors=0, graded=0, note="")

    def update(self, *, done: int, errors: int, graded: int, requests: int) -> None:
        self._errors += errors
        self._graded += graded
        if self._progress is None or self._task_id is None:
            return
        elapsed = max(time.perf_counter() - self._started, 1e-9)
        self._progress.update(
            self._task_id, advance=done, rate=requests / elapsed, errors=self._errors, graded=self._graded
        )

    def note_retry_after(self, model: str, wait_s: float, asked_s: float) -> None:
        """A server asked the run to wait: shown in the line; a wait cut to max_retry_after_s is also logged once."""
        capped = asked_s > wait_s + 0.5
        self._note = f"{model}: Retry-After {asked_s:.0f}s, waiting {wait_s:.0f}s" + (" (capped)" if capped else "")
        if capped and model not in self._capped_models:
            self._capped_models.add(model)
            self.console.print(
                f"[yellow]note:[/] {model}: the server asked to wait {asked_s:.0f} s (Retry-After); "
                f"waiting {wait_s:.0f} s, the model's max_retry_after_s"
            )
        if self._progress is not None and self._task_id is not None:
            self._progress.update(self._task_id, note=self._note)

    def finish(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
