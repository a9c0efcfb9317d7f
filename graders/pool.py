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

# Fresh process pools a request may go through when workers keep dying under it (OOM killer).
MAX_POOL_REPLACEMENTS = 3


class GradingUnavailable(RuntimeError):
    """The pool could not grade a request (its workers kept dying, or it ran out of time): no grade exists.

    Not a verdict on the response: the caller stores nothing, and a resumed run grades the sample again.
    """


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
    timeout_s: wall-clock limit per request.
    A worker that dies (OOM killer, segfault) breaks the process pool and fails every request pending in it:
    the pool is replaced and those requests are submitted again, up to MAX_POOL_REPLACEMENTS times each.
    `grade` raises GradingUnavailable when a request still gets no answer (or times out); `map` returns a
    reason="error" result for it, which a resumed `eval` grades again.
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
        for _ in range(MAX_POOL_REPLACEMENTS + 1):
            executor = self._executor_for(request)
            try:
                return executor.submit(grade_request, request)
            except BrokenProcessPool:  # a worker died since the last call: the pool refuses new work
                self._replace(executor)
        failed: Future[GradeResult] = Future()
        failed.set_exception(BrokenProcessPool(f"grading pool broke {MAX_POOL_REPLACEMENTS + 1} times"))
        return failed

    def _replace(self, broken: Executor) -> None:
        """Drop a broken process pool (once, however many requests saw it break); the next submit starts a fresh one."""
        if broken is self._processes:
            self._processes = None
            broken.shutdown(wait=False, cancel_futures=True)

    async def grade(self, request: GradeRequest) -> GradeResult:
        if get_grader(request.grader).runs_inline:
            return grade_request(request)
        loop = asyncio.get_running_loop()
        failure: BaseException | None = None
        for _ in range(MAX_POOL_REPLACEMENTS + 1):
            executor = self._executor_for(request)
            try:
                future = loop.run_in_executor(executor, grade_request, request)
                return await asyncio.wait_for(future, self.timeout_s)
            except TimeoutError as exc:
                raise GradingUnavailable(f"grading took longer than {self.timeout_s} s") from exc
            except (BrokenProcessPool, OSError) as exc:
                failure = exc
                self._replace(executor)
        raise GradingUnavailable(
            f"grading worker failed {MAX_POOL_REPLACEMENTS + 1} times: {type(failure).__name__}: {failure}"
        ) from failure

    def map(self, requests: Iterable[GradeRequest]) -> list[GradeResult]:
        requests = list(requests)
        results: list[GradeResult | None] = [None] * len(requests)
        pending = list(range(len(requests)))
        for attempt in range(MAX_POOL_REPLACEMENTS + 1):
            last_try = attempt == MAX_POOL_REPLACEMENTS
            futures = [(i, self.submit(requests[i])) for i in pending]
            pending = []
            for index, future in futures:
                try:
                    results[index] = future.result(timeout=self.timeout_s)
                except TimeoutError:
                    results[index] = _error(f"grading took longer than {self.timeout_s} s")
                except (BrokenProcessPool, OSError) as exc:
                    if self._processes is not None:
                        self._replace(self._processes)
                    if last_try:
                        results[index] = _error(f"grading worker failed: {type(exc).__name__}: {exc}")
                    else:
                        pending.append(index)
            if not pending:
                break
        return [r for r in results if r is not None]

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


def _error(detail: str) -> GradeResult:
    return GradeResult(score=0.0, reason="error", detail=detail)


def grade_many(requests: Iterable[GradeRequest], workers: int | None = None) -> list[GradeResult]:
    """Grade in parallel, results in request order. workers=0 grades serially in this thread."""
    requests = list(requests)
    if workers == 0:
        return [grade_request(r) for r in requests]
    with GradingPool(workers) as pool:
        return pool.map(requests)
