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
from harness.client import auth_headers
from harness.config import ApiMode, ModelSpec, redact_credentials
from harness.metrics import DEFAULT_MAX_ERROR_RATE
from harness.progress import RunProgress
from harness.scheduler import RunStats, SamplingOverrides, Scheduler
from harness.shards import ShardSpec
from harness.task_data import TaskDataError, trust_task_code
from harness.taskset import Task, TaskItem, select_tasks
from results.manifest import ManifestError, RunManifest, read_manifest, redact_secrets
from results.run_lock import RunLock
from results.store import ResultsStore, StoreError

RC_TOO_MANY_ERRORS = 3  # the run finished, but its figures cannot be trusted (see the summary lines)

console = Console(stderr=True, soft_wrap=True)
# How long the preflight waits for a one-token answer before going on with a warning (a busy server
# may queue it); a route that is not an OpenAI server answers at once, so this never delays an error.
PROBE_TIMEOUT_S = 120.0


class EndpointMismatch(ConnectionError):
    """An endpoint's completion route does not answer like an OpenAI-compatible server."""


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
    stored_before: int = Field(default=0, description="samples already in the store when this invocation began")
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
    stopped_models: list[str] = Field(
        default_factory=list, description="one line per model stopped after failing every request"
    )
    foreign_models: list[str] = Field(
        default_factory=list, description="one line per model whose responses name another model"
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


async def probe_route(spec: ModelSpec, url: str, session: aiohttp.ClientSession) -> str | None:
    """POST a one-token request to the route the run will use; raise EndpointMismatch when the answer is
    not an OpenAI completion (wrong URL, a plain web server, unknown model, bad key). Returns a warning
    for answers that may pass (rate limit, server error, no answer within PROBE_TIMEOUT_S)."""
    chat = spec.mode == ApiMode.CHAT
    route = f"{url}/chat/completions" if chat else f"{url}/completions"
    body = {"model": spec.model_id, "max_tokens": 1, "temperature": 0.0, **spec.extra_body}
    body.update({"messages": [{"role": "user", "content": "Say OK."}]} if chat else {"prompt": "OK"})
    timeout = aiohttp.ClientTimeout(total=PROBE_TIMEOUT_S, connect=spec.connect_timeout_s)
    try:
        async with session.post(route, json=body, headers=auth_headers(spec), timeout=timeout) as response:
            status, raw = response.status, await response.read()
    except TimeoutError:
        return f"model {spec.name}: {route} gave no answer within {PROBE_TIMEOUT_S:.0f} s (busy?); going on"
    except (aiohttp.ClientError, ConnectionError) as exc:
        raise EndpointMismatch(f"model {spec.name}: cannot reach {route} ({type(exc).__name__}: {exc})") from exc
    text = raw.decode("utf-8", "replace").strip()
    detail = " ".join(text.split())[:300] or "(empty body)"
    if status == 429 or status in (500, 502, 503, 504):
        return f"model {spec.name}: {route} answered HTTP {status} to a test request ({detail}); going on"
    hint = (
        f"the URL should be the server's OpenAI base URL (usually ending in /v1) and the server must "
        f"serve model {spec.model_id!r} on {'/chat/completions' if chat else '/completions'}"
    )
    if status >= 400:
        if status in (401, 403):
            hint = "check the API key" + (f" in ${spec.api_key_env}" if spec.api_key_env else " (api_key_env)")
        raise EndpointMismatch(
            f"model {spec.name}: {route} answered HTTP {status} to a one-token test request: {detail}\n  {hint}"
        )
    try:
        payload = json.loads(text)
        choices = payload["choices"]
        if not isinstance(choices, list):
            raise TypeError("choices is not a list")
    except (ValueError, KeyError, TypeError) as exc:
        raise EndpointMismatch(
            f"model {spec.name}: {route} answered HTTP {status} but not with an OpenAI completion "
            f"({type(exc).__name__}: {exc}; body: {detail})\n  {hint}"
        ) from exc
    return None


async def list_models(spec: ModelSpec, url: str, session: aiohttp.ClientSession) -> list[str] | str:
    """GET {url}/models: the served model ids, or what was wrong with the answer. Unreachable raises."""
    timeout = aiohttp.ClientTimeout(total=None, connect=spec.connect_timeout_s, sock_read=60)
    try:
        async with session.get(url + "/models", headers=auth_headers(spec), timeout=timeout) as response:
            status, raw = response.status, await response.read()
    except (aiohttp.ClientError, TimeoutError, ConnectionError) as exc:
        raise ConnectionError(
            f"model {spec.name}: cannot reach {url} ({type(exc).__name__}: {exc}); is the server up?"
        ) from exc
    if status != 200:
        return f"{url}/models answered HTTP {status}"
    try:
        return [str(entry["id"]) for entry in json.loads(raw)["data"]]
    except (ValueError, KeyError, TypeError):
        return f"{url}/models answered HTTP 200 without an OpenAI model list"


async def check_endpoint(spec: ModelSpec, url: str, session: aiohttp.ClientSession) -> list[str]:
    """One replica: an OpenAI model list on /models is enough; anything else and the completion route
    itself must answer a one-token request like an OpenAI server, or the run stops here."""
    listing = await list_models(spec, url, session)
    if isinstance(listing, list):
        if listing and spec.model_id not in listing:
            return [f"model {spec.name}: {url}/models does not list {spec.model_id!r} (it lists {listing[:5]})"]
        return []
    try:
        route_warning = await probe_route(spec, url, session)
    except EndpointMismatch as exc:
        raise EndpointMismatch(f"{exc}\n  (and {listing}: this does not look like an OpenAI-compatible server)") from None
    return [f"model {spec.name}: {listing}, but its completion route answers", *filter(None, [route_warning])]


async def preflight(models: Sequence[ModelSpec]) -> None:
    """Before anything is stored: every replica reachable and answering like an OpenAI server."""
    async with aiohttp.ClientSession() as session:
        checks = [
            check_endpoint(spec, url, session)
            for spec in models
            if spec.strategy is None  # harness.strategies: reached through its members
            for url in spec.urls()
        ]
        try:
            results = await asyncio.gather(*checks)
        except (ConnectionError, EndpointMismatch) as exc:
            raise type(exc)(redact_credentials(str(exc))) from None  # URLs may carry user:password
        for warnings in results:
            for warning in warnings:
                console.print(f"[yellow]warning:[/] {redact_credentials(warning)}")


async def run_eval(request: EvalRequest) -> EvalOutcome:
    from harness.manifest_io import prepare_run_dir

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
                previous = read_manifest(run_dir)
                check_same_models(previous, models, store.models(), run_name)
                for note in prepare_run_dir(run_dir, run_name, request, tasks, models):
                    console.print(f"[yellow]note:[/] {note}")
                for note in forget_stale_grades(store, previous, tasks, items):
                    console.print(f"[yellow]note:[/] {note}")
                stored_before = int(store.counts()["samples"])
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
    foreign = stats.foreign_model_lines(models)
    for line in foreign:
        console.print(f"[yellow]warning:[/] {line}")
    if stats.interrupted:
        console.print(
            f"[yellow]Interrupted.[/] {stats.samples_written} samples were stored in {run_dir}. "
            f"Run the same command again (or add --run {run_name}) to resume where it stopped."
        )
    else:
        write_final_report(run_dir)
        report_failures(stats, budget, run_name)
    return EvalOutcome(
        run_dir=run_dir,
        stored_before=stored_before,
        requests=stats.requests,
        request_errors=stats.request_errors,
        samples_written=stats.samples_written,
        graded=stats.graded,
        interrupted=stats.interrupted,
        wall_s=time.perf_counter() - stats.started,
        grading_failures=stats.grading_failures,
        error_budget=budget,
        stopped_models=list(stats.stopped_models.values()),
        foreign_models=foreign,
    )


def _model_identity(dumped: dict) -> dict[str, object]:
    """What makes a model's answers what they are, besides sampling (checked by the manifest), from a
    ModelSpec as the manifest stores it (secrets redacted): another value under the same model name would
    put two models' samples in one column."""
    return {
        "model id": dumped.get("served_model_id") or dumped.get("name"),
        "mode": dumped.get("mode"),
        "extra_body": dumped.get("extra_body") or {},
    }


def check_same_models(
    previous: RunManifest | None, models: Sequence[ModelSpec], stored: Sequence[str], run_name: str
) -> None:
    """Refuse to resume a run whose stored samples of a model came from another model id, API mode or
    extra_body than the one now given under that name."""
    before = {m.get("name"): m for m in (previous.config.get("models", []) if previous is not None else [])}
    changes = []
    for spec in models:
        old = before.get(spec.name)
        if old is None or spec.name not in stored:
            continue
        was, now = _model_identity(old), _model_identity(redact_secrets(spec.model_dump(mode="json")))
        changes += [f"model {spec.name}: {key} {was[key]!r} -> {now[key]!r}" for key in was if was[key] != now[key]]
    if changes:
        raise ManifestError(
            f"run {run_name!r} holds samples of another model under the same name ({'; '.join(changes)}). "
            "Resuming would mix two models' samples in one column: pick a new run name with --run, "
            "give the model another name, or restore its settings."
        )


def forget_stale_grades(
    store: ResultsStore, previous: RunManifest | None, tasks: Sequence[Task], items: dict[str, list[TaskItem]]
) -> list[str]:
    """Store the run's items; on a resume, drop the grades a changed task file made stale (another grader
    or grader options for a task, another gold answer for an item) so they are graded again. The responses
    stay: a changed prompt is what makes a response stale, and the scheduler redoes those."""
    notes = []
    before = previous.task_info if previous is not None else {}
    for task in tasks:
        old = before.get(task.name)
        if old is not None and (old.grader, old.grader_options) != (task.grader, task.grader_options):
            cleared = store.clear_grades(task=task.name)
            notes.append(
                f"grader of {task.name} changed ({old.grader} {old.grader_options} -> {task.grader} "
                f"{task.grader_options}): its {cleared} stored samples are graded again"
            )
    cleared = store.upsert_items_for_resume(task.item_record(item) for task in tasks for item in items[task.name])
    if cleared:
        notes.append(f"gold answers changed in the task data: {cleared} stored samples are graded again")
    return notes


def write_final_report(run_dir: Path) -> None:
    """report.md and results.json for the finished run; when they cannot be written, none is left either
    (an older one would show figures of the store before this command as if they were its result)."""
    from harness.manifest_io import write_run_report
    from harness.report import METRICS_FILENAME, REPORT_FILENAME

    try:
        write_run_report(run_dir)
    except StoreError as exc:
        for name in (REPORT_FILENAME, METRICS_FILENAME):
            with contextlib.suppress(OSError):
                (run_dir / name).unlink(missing_ok=True)
        raise StoreError(
            f"{exc}. Every sample is stored in {run_dir / 'results.sqlite'}; once that is fixed, "
            f"`harness report {run_dir}` writes the report"
        ) from exc


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
    for line in [*stats.stopped_models.values(), *budget]:
        console.print(f"[red]error:[/] {line}")
    if budget or stats.stopped_models:
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


def print_outcome(outcome: EvalOutcome, out: Console) -> None:
    """The results a user acts on, on stdout: the report tables, resume facts, where the files are."""
    from harness.report import show_stored_report

    if not outcome.interrupted:
        show_stored_report(outcome.run_dir, out)
    if outcome.stored_before:
        out.print(
            f"Resumed run: {outcome.stored_before} samples were already stored before this command; "
            f"{outcome.samples_written} new samples were stored now ({outcome.requests} requests).",
            markup=False,
            highlight=False,
        )
    files = "results.sqlite" if outcome.interrupted else "results.sqlite, report.md, results.json, manifest.json"
    out.print(f"Run directory: {outcome.run_dir} ({files})", markup=False, highlight=False, soft_wrap=True)


def eval_main(request: EvalRequest, out: Console | None = None) -> int:
    with asyncio.Runner(loop_factory=new_event_loop) as runner:
        outcome = runner.run(run_eval(request))
    print_outcome(outcome, out or Console(soft_wrap=True))
    if outcome.interrupted:
        return 130
    failed = outcome.error_budget or outcome.stopped_models or outcome.grading_failures
    return RC_TOO_MANY_ERRORS if failed else 0
