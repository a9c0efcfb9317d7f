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
from pydantic import BaseModel, Field
from rich.console import Console

from harness import settings
from harness.client import check_reachable
from harness.config import ModelSpec
from harness.progress import RunProgress
from harness.scheduler import RunStats, SamplingOverrides, Scheduler
from harness.task_data import TaskDataError
from harness.taskset import Task, TaskItem, select_tasks
from results.store import ResultsStore

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


class EvalOutcome(BaseModel):
    run_dir: Path
    requests: int
    request_errors: int
    samples_written: int
    graded: int
    interrupted: bool
    wall_s: float


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
            if spec.strategy is not None:  # harness.strategies: reached through its members
                continue
            for warning in await check_reachable(spec, session):
                console.print(f"[yellow]warning:[/] {warning}")


async def run_eval(request: EvalRequest) -> EvalOutcome:
    from harness.manifest_io import prepare_run_dir, write_run_report

    tasks, items = load_items(select_tasks(request.tasks), request)
    async with model_pool(request.models) as models:
        await preflight(models)
        run_name = request.run or default_run_name([t.name for t in tasks], [m.name for m in models], request)
        run_dir = settings.runs_dir(request.output) / run_name
        store = ResultsStore(run_dir)
        try:
            for note in prepare_run_dir(run_dir, run_name, request, tasks, models):
                console.print(f"[yellow]note:[/] {note}")
            store.upsert_items(task.item_record(item) for task in tasks for item in items[task.name])
            progress = RunProgress(f"{run_name}", console=console, enabled=request.show_progress)
            scheduler = Scheduler(
                store, models, request.sampling, grading_workers=request.grading_workers, progress=progress
            )
            stats: RunStats = await scheduler.run(tasks, items)
        finally:
            store.close()
    if stats.interrupted:
        console.print(
            f"[yellow]Interrupted.[/] {stats.samples_written} samples were stored in {run_dir}. "
            f"Run the same command again (or add --run {run_name}) to resume where it stopped."
        )
    else:
        write_run_report(run_dir, console)
    return EvalOutcome(
        run_dir=run_dir,
        requests=stats.requests,
        request_errors=stats.request_errors,
        samples_written=stats.samples_written,
        graded=stats.graded,
        interrupted=stats.interrupted,
        wall_s=time.perf_counter() - stats.started,
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
    return 130 if outcome.interrupted else 0
