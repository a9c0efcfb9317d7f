"""The async scheduler: every (task, item, model, sample) not yet stored, through bounded workers.

One event loop, one shared aiohttp session. Each replica of each model gets as many workers as its
`max_concurrency`; a worker *is* a concurrency slot, so the slot is held before the request is made
and memory stays bounded however many samples are queued. Work from all tasks is interleaved so
every endpoint stays busy. Samples are written as they arrive and graded in a process pool while
generation goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import random
import signal
import time
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import aiohttp
from pydantic import BaseModel, Field

from graders import GradingPool, grade, runs_inline
from graders.base import GradeResult
from graders.pool import GradingUnavailable
from harness.client import Completion, EndpointClient, RequestFailure, RetryPolicy
from harness.config import ModelSpec
from harness.progress import RunProgress
from harness.taskset import Task, TaskItem
from results.records import SampleKey, SampleRecord, SamplingParams
from results.store import ResultsStore, StoreError

WRITE_BATCH = 512
WRITE_INTERVAL_S = 0.05
# Responses waiting for a grading worker; beyond this, generation waits (memory stays bounded).
GRADE_BACKLOG = 2048
# After this many failed requests in a row (each after its retries) with no success between, a model's
# remaining samples are not requested: the endpoint is down, overloaded, or refuses (bad key, no such route
# or model, a redirect), and every further request would fail the same way. A client error of another
# status (400: this prompt is too long) says nothing of the endpoint and does not count.
ENDPOINT_REFUSALS = frozenset({401, 403, 404, 405, 301, 302, 303, 307, 308})
STOP_AFTER_FAILURES = 20


class SamplingOverrides(BaseModel):
    """What the command line sets; anything left None falls back to the task file's defaults."""

    samples: int = Field(default=1, ge=1)
    temperature: float = Field(default=0.7, ge=0.0)
    top_p: float = Field(default=1.0, gt=0.0, le=1.0)
    max_tokens: int | None = Field(default=None, ge=1)
    seed: int = 1234
    concurrency: int | None = Field(
        default=None, ge=1, description="overrides every replica's max_concurrency"
    )


def sample_seed(run_seed: int, task: str, item_id: str, sample_index: int) -> int:
    """A distinct, reproducible seed per sample (a server that honours seeds must not repeat itself)."""
    digest = hashlib.sha256(f"{run_seed}\x1f{task}\x1f{item_id}\x1f{sample_index}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


def task_params(task: Task, overrides: SamplingOverrides) -> SamplingParams:
    return SamplingParams(
        temperature=overrides.temperature,
        top_p=overrides.top_p,
        max_tokens=overrides.max_tokens or task.max_tokens,
        stop=list(task.stop),
    )


@dataclass
class WorkUnit:
    task: Task
    item: TaskItem
    model: str
    sample_indices: list[int]


@dataclass
class Replica:
    client: EndpointClient
    capacity: int
    in_flight: int = 0


@dataclass
class ModelEndpoints:
    spec: ModelSpec
    replicas: list[Replica]
    supports_n: bool | None
    failures_in_a_row: int = 0

    def least_loaded(self) -> Replica:
        return min(self.replicas, key=lambda r: r.in_flight / r.capacity)

    @property
    def slots(self) -> int:
        return sum(r.capacity for r in self.replicas)


@dataclass
class RunStats:
    requests: int = 0
    request_errors: int = 0
    samples_written: int = 0
    graded: int = 0
    started: float = field(default_factory=time.perf_counter)
    interrupted: bool = False
    grading_failures: int = 0
    grading_failure_example: str | None = None
    stale_grades: int = 0  # grades whose row had been rewritten with another response: not stored
    # model -> why its remaining samples were not requested (the endpoint refused every request)
    stopped_models: dict[str, str] = field(default_factory=dict)
    # model -> {name the server said answered instead: responses}
    answered_as: dict[str, dict[str, int]] = field(default_factory=dict)

    def foreign_model_lines(self, models: Sequence[ModelSpec]) -> list[str]:
        by_name = {m.name: m for m in models}
        return [
            f"model {name}: {count} responses say they came from model {answered!r}, not the "
            f"{by_name[name].model_id!r} that was asked for (check the endpoint serves what you think)"
            for name, foreign in self.answered_as.items()
            for answered, count in foreign.items()
        ]


def plan_work(
    tasks: Sequence[Task],
    items: dict[str, list[TaskItem]],
    models: Sequence[ModelSpec],
    samples: int,
    done: set[tuple[str, str, str, int]],
    seed: int,
) -> dict[str, deque[WorkUnit]]:
    """Missing samples grouped per (item, model), interleaved across tasks in a seeded order."""
    plan: dict[str, deque[WorkUnit]] = {}
    for model in models:
        units: list[WorkUnit] = []
        for task in tasks:
            for item in items[task.name]:
                missing = [i for i in range(samples) if (task.name, item.id, model.name, i) not in done]
                if missing:
                    units.append(WorkUnit(task, item, model.name, missing))
        random.Random(f"{seed}:{model.name}").shuffle(units)
        plan[model.name] = deque(units)
    return plan


class Scheduler:
    def __init__(
        self,
        store: ResultsStore,
        models: Sequence[ModelSpec],
        overrides: SamplingOverrides,
        *,
        grading_workers: int | None = None,
        progress: RunProgress | None = None,
        retry_failed: bool = False,
    ):
        self.store = store
        self.models = list(models)
        self.overrides = overrides
        self.grading_workers = grading_workers
        self.progress = progress
        self.retry_failed = retry_failed
        self.stats = RunStats()
        # A grade travels with the response it graded: the store pairs them or drops the grade.
        self._out: asyncio.Queue[SampleRecord | tuple[SampleKey, GradeResult, str | None]] = asyncio.Queue()
        self._stop = asyncio.Event()
        # Post-processing and grading jobs that outlive the worker iteration that started them.
        self._background: set[asyncio.Task] = set()
        self._params: dict[str, SamplingParams] = {}  # per task, set by run()
        self._workers: list[asyncio.Task] = []
        self._grade_slots = asyncio.Semaphore(GRADE_BACKLOG)
        self._write_failure: BaseException | None = None  # set when the store refused a write

    # ----- public -------------------------------------------------------------------------------

    async def run(self, tasks: Sequence[Task], items: dict[str, list[TaskItem]]) -> RunStats:
        current_hashes = {(t.name, it.id): it.prompt_hash for t in tasks for it in items[t.name]}
        done = self.store.completed_keys(
            retry_transient_errors=True, retry_all_errors=self.retry_failed
        ) - self.store.stale_keys(current_hashes)
        plan = plan_work(tasks, items, self.models, self.overrides.samples, done, self.overrides.seed)
        total = sum(len(u.sample_indices) for units in plan.values() for u in units)
        by_name = {t.name: t for t in tasks}
        gold = {(t.name, it.id): it.gold for t in tasks for it in items[t.name]}
        self._params = {t.name: task_params(t, self.overrides) for t in tasks}
        self._run_items = (tasks, items)  # for strategy entries (harness.strategies)
        if self.progress:
            self.progress.start(total)
        self._install_interrupt_handler()
        connector = aiohttp.TCPConnector(limit=0, ttl_dns_cache=300)
        async with (
            aiohttp.ClientSession(connector=connector) as session,
            GradingPool(self.grading_workers) as pool,
        ):
            writer = asyncio.create_task(self._writer())
            await self._regrade_pending(pool, by_name, gold)
            endpoints = [self._endpoints(session, spec) for spec in self.models]
            workers = [
                asyncio.create_task(self._worker(ep, plan[ep.spec.name], pool))
                for ep in endpoints
                for _ in range(ep.slots)
            ]
            self._workers = workers
            try:
                outcomes = await asyncio.gather(*workers, return_exceptions=True)
                failures = [o for o in outcomes if isinstance(o, Exception)]
                if failures and not self.stats.interrupted:
                    raise failures[0]
                while self._background and not self._stop.is_set():
                    await asyncio.wait(set(self._background))
            finally:
                # Whatever is still in flight is dropped, not stored: a resumed run redoes exactly that.
                for job in [*workers, *self._background]:
                    job.cancel()
                await asyncio.gather(*workers, *self._background, return_exceptions=True)
                await self._out.put(_FLUSH)
                await writer
        if self._write_failure is not None:
            raise StoreError(
                f"cannot write to {self.store.path} ({self._write_failure.__cause__ or self._write_failure}); "
                "the run stopped there: "
                f"{self.stats.samples_written} samples were stored by this command, the answers received "
                "since were not kept. Fix the cause (disk space, permissions, another process holding "
                "the database), then run the same command to resume."
            ) from self._write_failure
        if self.progress:
            self.progress.finish()
        return self.stats

    # ----- plumbing -----------------------------------------------------------------------------

    def _stop_requesting(self) -> None:
        self._stop.set()
        for job in [*self._workers, *self._background]:
            job.cancel()

    def _install_interrupt_handler(self) -> None:
        loop = asyncio.get_running_loop()

        def interrupt() -> None:
            if self._stop.is_set():  # second Ctrl-C: stop waiting for anything
                raise KeyboardInterrupt
            self.stats.interrupted = True
            self._stop_requesting()

        # A hangup (the terminal or ssh session closed) stops the run as Ctrl-C does, with what is finished
        # stored and graded; unless the run was started to ignore it (nohup), which is kept.
        stops = [signal.SIGINT, signal.SIGTERM]
        if signal.getsignal(signal.SIGHUP) is not signal.SIG_IGN:
            stops.append(signal.SIGHUP)
        with contextlib.suppress(NotImplementedError, RuntimeError):
            for stop in stops:
                loop.add_signal_handler(stop, interrupt)

    def _endpoints(self, session: aiohttp.ClientSession, spec: ModelSpec) -> ModelEndpoints:
        capacity = self.overrides.concurrency or spec.max_concurrency
        if spec.strategy is not None:  # harness.strategies: one sample per request, through other members
            from harness.strategies.endpoint import items_by_prompt, strategy_client

            index = items_by_prompt(*self._run_items)
            client = strategy_client(session, spec, self.models, self.store.path, index)
            return ModelEndpoints(spec, [Replica(client, capacity)], supports_n=False)
        progress = self.progress

        def on_retry_after(wait_s: float, asked_s: float) -> None:
            if progress is not None:
                progress.note_retry_after(spec.name, wait_s, asked_s)

        replicas = [
            Replica(
                EndpointClient(session, spec, url, RetryPolicy.for_model(spec), on_retry_after=on_retry_after),
                capacity,
            )
            for url in spec.urls()
        ]
        return ModelEndpoints(spec, replicas, spec.supports_n)

    async def _worker(self, endpoints: ModelEndpoints, queue: deque[WorkUnit], pool: GradingPool) -> None:
        while queue and not self._stop.is_set():
            unit = queue.popleft()
            if len(unit.sample_indices) > 1 and endpoints.supports_n is False:
                queue.extendleft(
                    WorkUnit(unit.task, unit.item, unit.model, [i]) for i in reversed(unit.sample_indices)
                )
                continue
            replica = endpoints.least_loaded()
            replica.in_flight += 1
            try:
                await self._run_unit(endpoints, replica, unit, queue, pool)
            finally:
                replica.in_flight -= 1

    async def _run_unit(
        self, endpoints: ModelEndpoints, replica: Replica, unit: WorkUnit, queue: deque[WorkUnit], pool: GradingPool
    ) -> None:
        params = self._params[unit.task.name]
        first = unit.sample_indices[0]
        seed = sample_seed(self.overrides.seed, unit.task.name, unit.item.id, first)
        n = len(unit.sample_indices)
        result = await replica.client.complete(unit.item.messages, params, n=n, seed=seed)
        self.stats.requests += 1
        if isinstance(result, RequestFailure):
            self.stats.request_errors += 1
            self._emit([self._failure_record(unit, i, params, seed, result) for i in unit.sample_indices])
            self._note_failure(endpoints, queue, result)
            return
        endpoints.failures_in_a_row = 0
        self._note_answering_model(endpoints.spec, result.model)
        received = len(result.choices[:n])
        if n > 1 and received < n:
            # The server ignored n (llama.cpp does): keep what came back, ask for the rest one by one.
            endpoints.supports_n = False
            queue.extend(WorkUnit(unit.task, unit.item, unit.model, [i]) for i in unit.sample_indices[received:])
        elif n > 1 and endpoints.supports_n is None:
            endpoints.supports_n = True
        # Records and grading run as their own job, so this worker's slot goes straight to the next request:
        # when many responses arrive at once, requests are sent first and bookkeeping fills the wait.
        self._start_background(self._store_and_grade(unit, params, seed, result, received, pool))

    def _note_answering_model(self, spec: ModelSpec, answered: str | None) -> None:
        # A dated snapshot of the model asked for ("gpt-4o" answered by "gpt-4o-2024-08-06") is the same model.
        if answered is None or answered == spec.model_id or answered.startswith(spec.model_id + "-"):
            return
        foreign = self.stats.answered_as.setdefault(spec.name, {})
        foreign[answered] = foreign.get(answered, 0) + 1

    def _note_failure(self, endpoints: ModelEndpoints, queue: deque[WorkUnit], failure: RequestFailure) -> None:
        """Stop requesting for a model whose endpoint fails every request (see STOP_AFTER_FAILURES)."""
        if failure.kind == "client" and failure.status not in ENDPOINT_REFUSALS:
            endpoints.failures_in_a_row = 0
            return
        endpoints.failures_in_a_row += 1
        name = endpoints.spec.name
        if endpoints.failures_in_a_row >= STOP_AFTER_FAILURES and name not in self.stats.stopped_models:
            left = sum(len(unit.sample_indices) for unit in queue)
            queue.clear()
            self.stats.stopped_models[name] = (
                f"model {name}: stopped after {endpoints.failures_in_a_row} requests in a row failed with no "
                f"success between (the last: {failure.message}); its {left} remaining samples were not "
                "requested: they are asked for when the run is resumed"
            )

    async def _store_and_grade(
        self, unit: WorkUnit, params: SamplingParams, seed: int, result: Completion, received: int, pool: GradingPool
    ) -> None:
        records = [
            self._sample_record(unit, index, params, seed, result, choice_index)
            for choice_index, index in enumerate(unit.sample_indices[:received])
        ]
        self._emit(records)
        for record in records:
            await self._schedule_grade(pool, unit.task, unit.item.gold, record)

    def _start_background(self, coroutine) -> None:
        job = asyncio.create_task(coroutine)
        self._background.add(job)
        job.add_done_callback(self._background.discard)

    @staticmethod
    def _record(unit: WorkUnit, index: int, params: SamplingParams, seed: int, **outcome: object) -> SampleRecord:
        return SampleRecord(
            task=unit.task.name,
            item_id=unit.item.id,
            model=unit.model,
            sample_index=index,
            seed=seed,
            prompt_hash=unit.item.prompt_hash,
            params=params,
            **outcome,
        )

    def _sample_record(
        self, unit: WorkUnit, index: int, params: SamplingParams, seed: int, result: Completion, choice_index: int
    ) -> SampleRecord:
        choice = result.choices[choice_index]
        batched = len(unit.sample_indices) > 1
        return self._record(
            unit, index, params, seed,
            response=choice.text,
            finish_reason=choice.finish_reason,
            prompt_tokens=result.prompt_tokens,
            # With n>1 the server reports one total for all choices; a per-sample figure would be a guess.
            completion_tokens=None if batched else result.completion_tokens,
            latency_s=result.latency_s,
        )  # fmt: skip

    def _failure_record(
        self, unit: WorkUnit, index: int, params: SamplingParams, seed: int, failure: RequestFailure
    ) -> SampleRecord:
        return self._record(
            unit, index, params, seed,
            error=f"{failure.message} (after {failure.attempts} attempt(s))",
            error_kind=failure.kind,
        )  # fmt: skip

    def _emit(self, records: Iterable[SampleRecord]) -> None:
        for record in records:
            self._out.put_nowait(record)

    async def _schedule_grade(self, pool: GradingPool, task: Task, gold: object, record: SampleRecord) -> None:
        request = task.grade_request(gold, record.response, record.finish_reason)
        response = record.response
        if runs_inline(request.grader):
            self._out.put_nowait((record.key, grade(request), response))
            return
        await self._grade_slots.acquire()

        async def grade_in_pool() -> None:
            try:
                self._out.put_nowait((record.key, await pool.grade(request), response))
            except GradingUnavailable as exc:
                # Not a verdict on the response: nothing is stored, and a resumed run grades it again.
                self.stats.grading_failures += 1
                self.stats.grading_failure_example = str(exc)
            finally:
                self._grade_slots.release()

        self._start_background(grade_in_pool())

    async def _regrade_pending(
        self, pool: GradingPool, tasks: dict[str, Task], gold: dict[tuple[str, str], object]
    ) -> None:
        """Rows stored by an earlier run but not graded (interrupted), or whose grading failed (reason "error")."""
        for record in self.store.iter_samples(needs_grading=True):
            task = tasks.get(record.task)
            key = (record.task, record.item_id)
            if task is None or key not in gold or record.error is not None:
                continue
            await self._schedule_grade(pool, task, gold[key], record)

    async def _writer(self) -> None:
        """The only code that writes: batches samples and grades into short transactions."""
        samples: list[SampleRecord] = []
        grades: list[tuple[SampleKey, GradeResult, str | None]] = []
        finished = False
        while not finished:
            entry = await self._out.get()
            deadline = time.perf_counter() + WRITE_INTERVAL_S
            while True:
                if entry is _FLUSH:
                    finished = True
                elif isinstance(entry, SampleRecord):
                    samples.append(entry)
                else:
                    grades.append(entry)
                if finished or len(samples) + len(grades) >= WRITE_BATCH:
                    break
                try:
                    entry = self._out.get_nowait()
                except asyncio.QueueEmpty:
                    remaining = deadline - time.perf_counter()
                    if remaining <= 0:
                        break
                    try:
                        entry = await asyncio.wait_for(self._out.get(), remaining)
                    except TimeoutError:
                        break
            try:
                self._flush(samples, grades)
            except Exception as exc:  # noqa: BLE001 - whatever it is, nothing more can be kept
                # Stop requesting now instead of paying for answers that are lost; run() raises it.
                self._write_failure = exc
                self._stop_requesting()
                return
            samples, grades = [], []

    def _flush(self, samples: list[SampleRecord], grades: list[tuple[SampleKey, GradeResult, str | None]]) -> None:
        if samples:
            self.store.write_samples(samples)
            self.stats.samples_written += len(samples)
        if grades:
            stored = self.store.update_grades(
                [(key, result) for key, result, _ in grades], graded_responses=[text for _, _, text in grades]
            )
            self.stats.graded += stored
            self.stats.stale_grades += len(grades) - stored
        if self.progress and (samples or grades):
            self.progress.update(
                done=len(samples),
                errors=sum(1 for s in samples if s.error),
                graded=len(grades),
                requests=self.stats.requests,
            )


_FLUSH = object()
