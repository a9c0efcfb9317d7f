"""Issue 9, items 1, 2 and 5 at the store and pool level: a grade lands only on the response it graded,
--retry-failed reopens every failed row, a killed grading worker is replaced (a real worker process, killed
with SIGKILL) and its requests are graded, not stored as errors."""

from __future__ import annotations

import asyncio
import os
import signal
import time

from graders.base import GradeRequest, GradeResult
from graders.pool import GradingPool
from results.records import SampleKey
from results.store import ResultsStore
from tests.results.factories import sample

RIGHT = GradeResult(score=1.0, extracted="516", reason="right")


def _key(index: int = 0) -> SampleKey:
    return SampleKey(task="t", item_id="i", model="m", sample_index=index)


def test_a_grade_is_stored_only_on_the_response_it_graded(tmp_path):
    with ResultsStore(tmp_path) as store:
        store.write_samples([sample("t", "i", "m", 0, response="\\boxed{517}")])
        graded_response = "\\boxed{517}"
        # Another writer replaces the row with its own response before the first grade arrives.
        store.write_samples([sample("t", "i", "m", 0, response="\\boxed{516}")])
        stale = GradeResult(score=0.0, extracted="517", reason="wrong")
        stored = store.update_grades([(_key(), stale)], graded_responses=[graded_response])
        assert stored == 0
        [row] = list(store.iter_samples())
        assert row.score is None and row.response == "\\boxed{516}"
        stored = store.update_grades([(_key(), RIGHT)], graded_responses=["\\boxed{516}"])
        assert stored == 1
        [row] = list(store.iter_samples())
        assert (row.extracted, row.score) == ("516", 1.0)


def test_retry_all_errors_reopens_client_errors_too(tmp_path):
    with ResultsStore(tmp_path) as store:
        store.write_samples(
            [
                sample("t", "i", "m", 0),
                sample("t", "i", "m", 1, response=None, error="HTTP 401: bad key", error_kind="client"),
                sample("t", "i", "m", 2, response=None, error="HTTP 503", error_kind="transient"),
                sample("t", "i", "m", 3, response=None, error="malformed response", error_kind="malformed"),
            ]
        )
        assert store.completed_keys() == {("t", "i", "m", 0), ("t", "i", "m", 1)}
        assert store.completed_keys(retry_all_errors=True) == {("t", "i", "m", 0)}
        summary = store.failure_summary(["t"])["m"]
        assert (summary.samples, summary.failed) == (4, 3)
        assert {kind for kind, _, _ in summary.kinds} == {"client", "transient", "malformed"}


def test_rows_whose_grading_failed_are_graded_again(tmp_path):
    with ResultsStore(tmp_path) as store:
        store.write_samples(
            [
                sample("t", "i", "m", 0, score=1.0, grade_reason="right"),
                sample("t", "i", "m", 1, score=0.0, grade_reason="error", grade_detail="grading worker failed"),
                sample("t", "i", "m", 2),
                sample("t", "i", "m", 3, response=None, error="HTTP 503", error_kind="transient"),
            ]
        )
        assert [r.sample_index for r in store.iter_samples(needs_grading=True)] == [1, 2]


def _math_requests(count: int) -> list[GradeRequest]:
    return [
        GradeRequest(grader="math", response=f"so \\boxed{{{i}}}", finish_reason="stop", gold=str(i), options={})
        for i in range(count)
    ]


def _kill_workers(pool: GradingPool) -> list[int]:
    assert pool._processes is not None  # noqa: SLF001 - the test reaches for the real worker processes
    pids = list(pool._processes._processes)  # noqa: SLF001
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    return pids


async def test_a_killed_grading_worker_is_replaced_and_its_pending_requests_graded():
    requests = _math_requests(300)
    async with GradingPool(1) as pool:
        await pool.grade(requests[0])  # the worker is up
        jobs = [asyncio.ensure_future(pool.grade(r)) for r in requests]
        await asyncio.sleep(0)  # submitted: they are pending in the pool
        killed = _kill_workers(pool)
        results = await asyncio.gather(*jobs)
        replacement = list(pool._processes._processes)  # noqa: SLF001
    assert all(r.reason == "right" for r in results), {r.detail for r in results if r.reason != "right"}
    assert not set(killed) & set(replacement)


def test_map_after_the_pool_has_noticed_a_dead_worker():
    # The executor marks itself broken a moment after a worker dies; a submit after that raises at once
    # (not through the future), which map() must also survive.
    requests = _math_requests(20)
    with GradingPool(1) as pool:
        pool.map(requests[:1])
        executor = pool._processes  # noqa: SLF001
        _kill_workers(pool)
        deadline = time.monotonic() + 30
        while not executor._broken and time.monotonic() < deadline:  # noqa: SLF001
            time.sleep(0.05)
        assert executor._broken  # noqa: SLF001
        results = pool.map(requests)
    assert [r.reason for r in results] == ["right"] * len(requests)


def test_map_survives_a_killed_worker_too():
    requests = _math_requests(200)
    with GradingPool(1) as pool:
        pool.map(requests[:1])
        futures_before = pool._processes  # noqa: SLF001
        _kill_workers(pool)
        results = pool.map(requests)
        assert pool._processes is not futures_before  # noqa: SLF001
    assert all(r.reason == "right" for r in results)
