"""A total deadline for many concurrent requests at the cost of a dict entry each.

aiohttp's own total timeout arms a timer per request and enters a timer context on every read, which
showed in the CPU per request of bench/scheduler.py's profile. A deadline of minutes to hours needs no
such precision: one sweeper task looks at the requests in flight (at most once a second) and cancels
those past it; the request catches that cancellation (and only that one) and turns it into a timeout.
"""

from __future__ import annotations

import asyncio

MAX_SWEEP_INTERVAL_S = 1.0


class DeadlineExceeded(Exception):
    """The request ran past its deadline and was stopped."""


class DeadlineWatch:
    """``task = watch.start()`` ... ``watch.stop(task)``; a task still running ``deadline_s`` seconds after its
    start is cancelled, and :meth:`claim` turns that cancellation into a DeadlineExceeded."""

    def __init__(self, deadline_s: float):
        self.deadline_s = deadline_s
        self._interval = min(MAX_SWEEP_INTERVAL_S, deadline_s / 4)
        self._started: dict[asyncio.Task, float] = {}
        self._expired: set[asyncio.Task] = set()
        self._sweeper: asyncio.Task | None = None

    def start(self) -> asyncio.Task | None:
        """Watch the current task from now on; pass what this returns to :meth:`stop` (in a finally)."""
        task = asyncio.current_task()
        if task is not None:
            self._started[task] = task.get_loop().time()
            if self._sweeper is None or self._sweeper.done():
                self._sweeper = task.get_loop().create_task(self._sweep())
        return task

    def stop(self, task: asyncio.Task | None) -> None:
        self._started.pop(task, None)

    def claim(self, task: asyncio.Task | None) -> DeadlineExceeded | None:
        """For a CancelledError caught in a watched task: the timeout it stands for, or None if the
        cancellation came from elsewhere (Ctrl-C, shutdown) and must propagate."""
        if task is None or task not in self._expired:
            return None
        self._expired.discard(task)
        task.uncancel()
        return DeadlineExceeded(f"no complete answer within request_deadline_s ({self.deadline_s:g} s)")

    async def _sweep(self) -> None:
        loop = asyncio.get_running_loop()
        while self._started:
            await asyncio.sleep(self._interval)
            cutoff = loop.time() - self.deadline_s
            for task, started in list(self._started.items()):
                if started <= cutoff:
                    del self._started[task]
                    self._expired.add(task)
                    task.cancel()
