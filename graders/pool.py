"""Grading off the caller's thread: a process pool (math-verify needs a main thread for its
signal.alarm timeouts, which worker processes have) plus a thread pool for graders that mostly
wait on a subprocess (code)."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from collections.abc import Iterable
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from graders.base import GradeRequest, GradeResult
from graders.registry import get_grader


def grade_request(request: GradeRequest) -> GradeResult:
    """Top-level (picklable) entry point for worker processes."""
    return get_grader(request.grader).grade(request)


def _warm_up() -> None:
    from harness.serving.lifetime import die_with_parent

    die_with_parent()  # a SIGKILLed harness must not leave grading workers behind
    import math_verify  # noqa: F401  import cost paid once per worker, not on the first item

    import graders  # noqa: F401  registers every grader


class GradingPool:
    """`await pool.grade(request)` from asyncio, or `pool.map(requests)` from sync code.

    workers: processes for CPU-bound graders (default: CPU count); code runs in a thread pool of
    `code_workers` threads (default: same), each waiting on its own sandbox subprocess.
    timeout_s: wall-clock limit per request; a request over it is graded reason="error".
    """

    def __init__(
        self,
        workers: int | None = None,
        *,
        code_workers: int | None = None,
        timeout_s: float = 120.0,
        mp_context: str = "spawn",
    ) -> None:
        self.workers = workers or os.cpu_count() or 1
        # Each concurrent sandbox run takes one of the per-process sandbox uids (64).
        self.code_workers = min(code_workers or self.workers, 64)
        self.timeout_s = timeout_s
        self._mp_context = mp_context
        self._processes: ProcessPoolExecutor | None = None
        self._threads = ThreadPoolExecutor(max_workers=self.code_workers, thread_name_prefix="grade-code")

    def _process_pool(self) -> ProcessPoolExecutor:
        if self._processes is None:
            self._processes = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=multiprocessing.get_context(self._mp_context),
                initializer=_warm_up,
            )
        return self._processes

    def _executor_for(self, request: GradeRequest) -> Executor:
        grader = get_grader(request.grader)  # unknown names fail here, in the caller
        return self._threads if grader.waits_on_subprocess else self._process_pool()

    def submit(self, request: GradeRequest) -> Future[GradeResult]:
        if get_grader(request.grader).runs_inline:
            done: Future[GradeResult] = Future()
            done.set_result(grade_request(request))
            return done
        return self._executor_for(request).submit(grade_request, request)

    def _recover(self, exc: BaseException) -> GradeResult:
        if isinstance(exc, BrokenProcessPool) and self._processes is not None:
            self._processes.shutdown(wait=False, cancel_futures=True)
            self._processes = None  # a fresh pool on the next request
        return GradeResult(
            score=0.0, reason="error", detail=f"grading worker failed: {type(exc).__name__}: {exc}"
        )

    async def grade(self, request: GradeRequest) -> GradeResult:
        if get_grader(request.grader).runs_inline:
            return grade_request(request)
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._executor_for(request), grade_request, request)
        try:
            return await asyncio.wait_for(future, self.timeout_s)
        except TimeoutError:
            return GradeResult(
                score=0.0, reason="error", detail=f"grading took longer than {self.timeout_s} s"
            )
        except (BrokenProcessPool, OSError) as exc:
            return self._recover(exc)

    def map(self, requests: Iterable[GradeRequest]) -> list[GradeResult]:
        futures = [self.submit(r) for r in requests]
        results = []
        for future in futures:
            try:
                results.append(future.result(timeout=self.timeout_s))
            except TimeoutError:
                results.append(
                    GradeResult(
                        score=0.0, reason="error", detail=f"grading took longer than {self.timeout_s} s"
                    )
                )
            except (BrokenProcessPool, OSError) as exc:
                results.append(self._recover(exc))
        return results

    def close(self) -> None:
        self._threads.shutdown(wait=True, cancel_futures=True)
        if self._processes is not None:
            self._processes.shutdown(wait=True, cancel_futures=True)
            self._processes = None

    def __enter__(self) -> GradingPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> GradingPool:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self.close)


def grade_many(requests: Iterable[GradeRequest], workers: int | None = None) -> list[GradeResult]:
    """Grade in parallel, results in request order. workers=0 grades serially in this thread."""
    requests = list(requests)
    if workers == 0:
        return [grade_request(r) for r in requests]
    with GradingPool(workers) as pool:
        return pool.map(requests)
