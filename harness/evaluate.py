"""`harness eval`: resolve tasks and models, open the run's store, schedule, grade, report."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import aiohttp
from pydantic import BaseModel, Field, field_validator
from rich.console import Console

from harness import settings
from harness.client import check_reachable
from harness.config import ModelSpec
from harness.metrics import DEFAULT_MAX_ERROR_RATE
from harness.progress import RunProgress
from harness.scheduler import RunStats, SamplingOverrides, Scheduler
from harness.shards import ShardSpec
from harness.task_data import TaskDataError, trust_task_code
from harness.taskset import Task, TaskItem, select_tasks
from results.run_lock import RunLock
from results.store import ResultsStore

RC_TOO_MANY_ERRORS = 3  # the run finished, but its figures cannot be trusted (see the summary lines)

console = Console(stderr=True, soft_wrap=True)


class EvalRequest(BaseModel):
    tasks: str = "all"
    models: list[ModelSpec] = Field(default_factory=list, description="empty: the embedded default model")
    sampling: SamplingOverrides = Field(default_factory=SamplingOverrides)
    limit: int | None = Field(default=None, ge=1)
    full: bool = False
    run: str | None = None
    output: Path | None = None
    data_dir: Path | None = None
    grading_workers: int | None = None
    skip_unavailable: bool = Field(
        default=False, description="warn about and skip tasks whose data cannot be loaded"
    )
    show_progress: bool = True
    retry_failed: bool = Field(
        default=False, description="on resume, request again every failed row, client errors (4xx) too"
    )
    max_error_rate: float = Field(
        default=DEFAULT_MAX_ERROR_RATE,
        ge=0.0,
        le=1.0,
        description="fraction of a model's samples that may fail before the run exits non-zero",
    )
    trust_task_code: bool = Field(
        default=False, description="run task-file code (preprocess hooks) from outside the installed harness"
    )
    shard: ShardSpec | None = Field(default=None, description="evaluate only this shard's (task, item) pairs")

    @field_validator("run")
    @classmethod
    def _run_name_ok(cls, value: str | None) -> str | None:
        return None if value is None else check_run_name(value)


def check_run_name(name: str) -> str:
    """A run name is one directory name inside the runs directory: no separator, no '..', not hidden."""
    if not name or "/" in name or "\\" in name or "\0" in name or ".." in name or name.startswith("."):
        raise ValueError(
            f"run name {name!r} must be a plain directory name (no '/', '\\', '..' or leading '.'); "
            "use --output to choose where runs are stored"
        )
    return name


class EvalOutcome(BaseModel):
    run_dir: Path
    requests: int
    request_errors: int
    samples_written: int
    graded: int
    interrupted: bool
    wall_s: float
    grading_failures: int = 0
    error_budget: list[str] = Field(
        default_factory=list, description="one line per model whose failed samples exceed max_error_rate"
    )


def default_run_name(task_names: Sequence[str], model_names: Sequence[str], request: EvalRequest) -> str:
    """Deterministic, so that re-running the same command resumes the same run."""
    identity = json.dumps(
        {
            "tasks": sorted(task_names),
            "models": sorted(model_names),
            "sampling": request.sampling.model_dump(exclude={"concurrency"}),
            "limit": request.limit,
            "full": request.full,
        },
        sort_keys=True,
    )
    digest = hashlib.sha256(identity.encode()).hexdigest()[:8]
    label = model_names[0] if len(model_names) == 1 else f"{len(model_names)}models"
    return f"{label.replace('/', '_')}-{digest}"


def load_items(tasks: Sequence[Task], request: EvalRequest) -> tuple[list[Task], dict[str, list[TaskItem]]]:
    """Every task's items, loaded before any request is made, so missing data fails fast."""
    data_dir = settings.data_dir(request.data_dir)
    loaded: dict[str, list[TaskItem]] = {}
    failures: list[str] = []
    for task in tasks:
        try:
            loaded[task.name] = task.load_items(data_dir, limit=request.limit, full=request.full)
        except TaskDataError as exc:
            failures.append(f"{task.name}: {exc}")
    if failures and not request.skip_unavailable:
        raise TaskDataError(
            "cannot load the data of some tasks (add --skip-unavailable to evaluate the others):\n  "
            + "\n  ".join(failures)
        )
    for failure in failures:
        console.print(f"[yellow]skipped[/] {failure}")
    usable = [t for t in tasks if t.name in loaded]
    if not usable:
        raise TaskDataError("no selected task has loadable data")
    return usable, loaded


@contextlib.asynccontextmanager
async def model_pool(models: list[ModelSpec]) -> AsyncIterator[list[ModelSpec]]:
    """The requested models, or the embedded default model served for the duration of the run."""
    if models:
        yield models
        return
    from harness.serving.embedded import EmbeddedServer

    console.print(
        "[bold]No endpoint given:[/] starting the embedded default model (SmolLM2-135M-Instruct on CPU)"
    )
    async with EmbeddedServer() as server:
        yield [server.model_spec()]


async def preflight(models: Sequence[ModelSpec]) -> None:
    async with aiohttp.ClientSession() as session:
        for spec in models:
            for warning in await check_reachable(spec, session):
                console.print(f"[yellow]warning:[/] {warning}")


async def run_eval(request: EvalRequest) -> EvalOutcome:
    from harness.manifest_io import prepare_run_dir, write_run_report

    trust_task_code(request.trust_task_code)
    tasks, items = load_items(select_tasks(request.tasks), request)
    if request.shard is not None:
        items = request.shard.select(items)
    async with model_pool(request.models) as models:
        await preflight(models)
        run_name = request.run or default_run_name([t.name for t in tasks], [m.name for m in models], request)
        run_dir = settings.runs_dir(request.output) / run_name
        if request.shard is not None:
            run_dir = request.shard.run_dir(run_dir)
        with RunLock(run_dir) as lock:
            if lock.took_over is not None:
                console.print(
                    f"[yellow]note:[/] resuming after {lock.took_over.describe()}, which stopped without finishing"
                )
            store = ResultsStore(run_dir)
            try:
                for note in prepare_run_dir(run_dir, run_name, request, tasks, models):
                    console.print(f"[yellow]note:[/] {note}")
                store.upsert_items(task.item_record(item) for task in tasks for item in items[task.name])
                progress = RunProgress(f"{run_name}", console=console, enabled=request.show_progress)
                scheduler = Scheduler(
                    store,
                    models,
                    request.sampling,
                    grading_workers=request.grading_workers,
                    progress=progress,
                    retry_failed=request.retry_failed,
                )
                stats: RunStats = await scheduler.run(tasks, items)
                budget = error_budget_lines(store, [t.name for t in tasks], request.max_error_rate)
            finally:
                store.close()
    if stats.interrupted:
        console.print(
            f"[yellow]Interrupted.[/] {stats.samples_written} samples were stored in {run_dir}. "
            f"Run the same command again (or add --run {run_name}) to resume where it stopped."
        )
    else:
        write_run_report(run_dir, console)
        report_failures(stats, budget, run_name)
    return EvalOutcome(
        run_dir=run_dir,
        requests=stats.requests,
        request_errors=stats.request_errors,
        samples_written=stats.samples_written,
        graded=stats.graded,
        interrupted=stats.interrupted,
        wall_s=time.perf_counter() - stats.started,
        grading_failures=stats.grading_failures,
        error_budget=budget,
    )


def error_budget_lines(store: ResultsStore, tasks: Sequence[str], max_error_rate: float) -> list[str]:
    """One line per model whose failed samples (over the run's tasks) exceed max_error_rate, naming the failures."""
    lines = []
    for model, failures in store.failure_summary(tasks).items():
        if failures.failed > max_error_rate * failures.samples:
            kinds = "; ".join(f"{count} {kind} (e.g. {example})" for kind, count, example in failures.kinds)
            lines.append(
                f"model {model}: {failures.failed} of {failures.samples} samples failed "
                f"({failures.failed / failures.samples:.1%} > --max-error-rate {max_error_rate:.1%}): {kinds}"
            )
    return lines


def report_failures(stats: RunStats, budget: Sequence[str], run_name: str) -> None:
    for line in budget:
        console.print(f"[red]error:[/] {line}")
    if budget:
        console.print(
            f"Fix the cause, then resume with --run {run_name} (add --retry-failed to retry client errors too)."
        )
    if stats.grading_failures:
        console.print(
            f"[red]error:[/] {stats.grading_failures} sample(s) could not be graded ({stats.grading_failure_example}); "
            f"they are stored ungraded: resume with --run {run_name} to grade them."
        )


def new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop where installed: less CPU per request than the default loop (see bench/scheduler.py)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def eval_main(request: EvalRequest) -> int:
    with asyncio.Runner(loop_factory=new_event_loop) as runner:
        outcome = runner.run(run_eval(request))
    if outcome.interrupted:
        return 130
    return RC_TOO_MANY_ERRORS if outcome.error_budget or outcome.grading_failures else 0
