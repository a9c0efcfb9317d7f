"""The runtime view of the task files: discover, select, load items, render prompts, build grade requests."""

from __future__ import annotations

import fnmatch
import hashlib
import importlib
import json
import sys
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError, computed_field

from graders.base import GradeRequest
from harness import settings
from harness.task_data import (
    TaskDataError,
    build_items,
    confinement_problem,
    draw_subset,
    load_parts,
    local_files,
    resolve_function,
)
from harness.task_spec import HubPart, SpecProblem, TaskSpec, load_task_file
from harness.yaml_model import ConfigFileError
from results.records import ItemRecord

__all__ = [
    "ChatMessage",
    "ConfigFileError",
    "Task",
    "TaskDataError",
    "TaskItem",
    "TaskSummary",
    "discover_tasks",
    "render_completion_prompt",
    "select_tasks",
    "task_summaries",
]


class ChatMessage(BaseModel):
    role: Literal["system", "user", "assistant"]
    content: str


class TaskItem(BaseModel):
    task: str
    id: str
    query: str = Field(description="the question text only, for the router")
    messages: list[ChatMessage]
    prompt_hash: str = Field(description="sha256 of the rendered messages")
    gold: Any = Field(description="JSON-serialisable; exactly what Task.grade_request needs")
    meta: dict[str, str] = Field(
        default_factory=dict, description="part (source file/split) and the stratify key"
    )


class TaskSummary(BaseModel):
    name: str
    category: str
    ood: bool
    paper_size: int
    items: int | None = Field(default=None, description="items a default run uses (the paper-sized subset)")
    full_items: int | None = Field(default=None, description="items with --full")
    unavailable: str | None = Field(default=None, description="why the items could not be loaded")
    source: str

    @computed_field  # type: ignore[prop-decorator]
    @property
    def available(self) -> str:
        """One cell for `harness tasks`: the item count here (and with --full), or why there are none."""
        if self.items is None:
            return f"no: {self.unavailable}" if self.unavailable else "no"
        if self.full_items is not None and self.full_items != self.items:
            return f"{self.items} ({self.full_items} with --full)"
        return str(self.items)


def messages_hash(messages: list[ChatMessage]) -> str:
    payload = json.dumps([m.model_dump() for m in messages], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def render_completion_prompt(messages: list[ChatMessage]) -> str:
    """A plain-text prompt for /v1/completions endpoints: the turns' contents separated by blank lines.

    No role labels are added: chat templates differ per model, and the task templates already phrase the
    question and the expected answer line.
    """
    return "\n\n".join(m.content for m in messages) + "\n\n"


def _format(template: str, values: dict[str, Any], task: str, what: str, item_id: str) -> str:
    try:
        return template.format_map(values)
    except KeyError as exc:
        raise TaskDataError(
            f"task {task}, item {item_id}: {what} uses {{{exc.args[0]}}}, which this item does not have "
            f"(keys: {sorted(values)})"
        ) from None


# Highest sandbox limits a task file may ask for: one task file must not be able to take the machine.
SANDBOX_CEILINGS: dict[str, float] = {
    "timeout_s": 600,
    "cpu_s": 600,
    "memory_headroom_mb": 16 * 1024,
    "nproc": 256,
    "fsize_mb": 1024,
    "nofile": 4096,
    "output_bytes": 16 * 1024 * 1024,
    "tmpfs_mb": 1024,  # RAM: the run's private /tmp, /run and /dev/shm
    "message_mb": 512,
    "message_values": 10_000_000,  # decoding costs the harness ~100 bytes and ~3 us per value
}


def _confinement_problems(spec: TaskSpec) -> list[SpecProblem]:
    sources = [(("source",), spec.source)]
    if spec.prompt.fewshot is not None:
        sources.append((("prompt", "fewshot", "source"), spec.prompt.fewshot.source))
    problems = []
    for loc, source in sources:
        for index, part in enumerate(source.local):
            problem = confinement_problem(part.files)
            if problem:
                problems.append(SpecProblem((*loc, "local", index, "files"), problem))
    return problems


def _sandbox_problems(options: dict[str, Any]) -> list[SpecProblem]:
    sandbox = options.get("sandbox")
    if not isinstance(sandbox, dict):
        return []
    return [
        SpecProblem(("grader", "options", "sandbox", key), f"{value} is above the ceiling {SANDBOX_CEILINGS[key]}")
        for key, value in sandbox.items()
        if key in SANDBOX_CEILINGS and isinstance(value, int | float) and value > SANDBOX_CEILINGS[key]
    ]


def runtime_problems(spec: TaskSpec) -> list[SpecProblem]:
    """Checks that need the rest of the program: the grader and its options, the preprocess function,
    data paths confined to the data directory."""
    problems = _confinement_problems(spec) + _sandbox_problems(spec.grader.options)
    grader = find_grader(spec.grader.name)
    if grader is None:
        problems.append(
            SpecProblem(("grader", "name"), f"no grader named {spec.grader.name!r} is registered")
        )
    else:
        try:
            grader.Options.model_validate(spec.grader.options)
        except ValidationError as exc:
            problems += [SpecProblem(("grader", "options", *e["loc"]), e["msg"]) for e in exc.errors()]
    for loc, reference in [
        (("preprocess",), spec.preprocess),
        (("prompt", "fewshot", "preprocess"), spec.prompt.fewshot and spec.prompt.fewshot.preprocess),
    ]:
        if reference:
            try:
                resolve_function(reference)
            except TaskDataError as exc:
                problems.append(SpecProblem(loc, str(exc)))
    return problems


def find_grader(name: str) -> Any | None:
    """The registered grader of that name (importing graders.<name> registers it); None if there is none."""
    try:
        importlib.import_module(f"graders.{name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"graders.{name}":
            raise
    from graders.registry import get_grader

    try:
        return get_grader(name)
    except ValueError:
        return None


class Task:
    """One task file, validated; loads its items and builds grade requests."""

    def __init__(self, spec: TaskSpec, file: Path, file_hash: str) -> None:
        self.spec = spec
        self.file = file
        self.file_hash = file_hash
        self.name = spec.name
        self.category = spec.category
        self.ood = spec.ood
        self.max_tokens = spec.generation.max_tokens
        self.stop = list(spec.generation.stop)
        self.grader = spec.grader.name
        self.grader_options = dict(spec.grader.options)
        self.is_code = spec.grader.name == "code"
        self._grader = find_grader(self.grader)

    def __repr__(self) -> str:
        return f"Task({self.name!r}, file={str(self.file)!r})"

    @classmethod
    def from_file(cls, path: str | Path) -> Task:
        """Load and check a task file; every mistake is reported with file, field path and line."""
        path = Path(path)
        spec = load_task_file(path, runtime_problems)
        return cls(spec, path, hashlib.sha256(path.read_bytes()).hexdigest())

    # ----------------------------------------------------------------- items

    def normalised_items(self, data_dir: Path | None, *, full: bool = False) -> list[dict[str, Any]]:
        """The items as flat dicts of item keys (before rendering), in run order."""
        return self._raw_items(data_dir, full)[0]

    def exemplars(self, data_dir: Path | None) -> list[dict[str, Any]]:
        """The few-shot exemplar items (empty when the task is zero-shot)."""
        return self._exemplars(data_dir)

    def _raw_items(
        self, data_dir: Path | None, full: bool, allow_hub: bool = True
    ) -> tuple[list[dict[str, Any]], int]:
        spec = self.spec
        parts = load_parts(spec.name, spec.source, spec.fields, data_dir, allow_hub=allow_hub)
        items = build_items(spec.name, parts, spec.choices, spec.preprocess, data_dir, spec.preprocess_args)
        if not items:
            raise TaskDataError(
                f"task {self.name}: its data has no items ({', '.join(p.origin for p in parts) or 'no part'})"
            )
        total = len(items)
        if spec.subset is not None and not full:
            items = draw_subset(items, spec.subset)
        return items, total

    def _exemplars(self, data_dir: Path | None) -> list[dict[str, Any]]:
        shot = self.spec.prompt.fewshot
        if shot is None:
            return []
        parts = load_parts(f"{self.name} (few-shot)", shot.source, shot.fields, data_dir)
        return build_items(
            f"{self.name} (few-shot)",
            parts,
            self.spec.choices,
            shot.preprocess,
            data_dir,
            self.spec.preprocess_args,
        )

    def load_items(
        self, data_dir: Path | None, *, limit: int | None = None, full: bool = False
    ) -> list[TaskItem]:
        """The items of a run: the paper-sized subset (all with full=True), the first `limit` of them."""
        data_dir = Path(data_dir) if data_dir is not None else None
        items, _ = self._raw_items(data_dir, full)
        if limit is not None:
            items = items[:limit]
        exemplars = self._exemplars(data_dir)
        return [self.render(item, exemplars) for item in items]

    def count_items(self, data_dir: Path | None, *, allow_hub: bool = True) -> tuple[int, int]:
        """(items of a default run, items with --full)."""
        items, total = self._raw_items(data_dir, full=False, allow_hub=allow_hub)
        return len(items), total

    def render_messages(self, item: dict[str, Any], exemplars: list[dict[str, Any]]) -> list[ChatMessage]:
        """The chat messages of one item: system (if any), few-shot turns (if as_messages), the user turn."""
        prompt = self.spec.prompt
        item_id = str(item.get("id"))
        values = dict(item)
        turns: list[ChatMessage] = []
        shot = prompt.fewshot
        if shot is not None:
            shots = [
                ex for ex in exemplars if shot.match is None or ex.get(shot.match) == item.get(shot.match)
            ]
            shots = shots[: shot.n] if shot.n else shots
            if exemplars and not shots:
                raise TaskDataError(
                    f"task {self.name}, item {item_id}: no few-shot exemplar has {shot.match} = {item.get(shot.match)!r}"
                )
            if shot.as_messages:
                answer_template = shot.answer_template or ""  # FewShotSpec requires it with as_messages
                for ex in shots:
                    turns.append(
                        ChatMessage(
                            role="user", content=_format(shot.template, ex, self.name, "few-shot", item_id)
                        )
                    )
                    turns.append(
                        ChatMessage(
                            role="assistant",
                            content=_format(answer_template, ex, self.name, "few-shot", item_id),
                        )
                    )
            else:
                values["fewshot"] = shot.joiner.join(
                    _format(shot.template, ex, self.name, "few-shot", item_id) for ex in shots
                )
        messages = []
        if prompt.system is not None:
            messages.append(
                ChatMessage(
                    role="system", content=_format(prompt.system, values, self.name, "prompt.system", item_id)
                )
            )
        messages.extend(turns)
        messages.append(
            ChatMessage(role="user", content=_format(prompt.user, values, self.name, "prompt.user", item_id))
        )
        return messages

    def render(self, item: dict[str, Any], exemplars: list[dict[str, Any]]) -> TaskItem:
        """One normalised item -> the TaskItem the scheduler sends (messages, hash, gold, router query)."""
        messages = self.render_messages(item, exemplars)
        meta = {"part": str(item["part"])}
        if self.spec.subset and self.spec.subset.stratify:
            meta[self.spec.subset.stratify] = str(item[self.spec.subset.stratify])
        return TaskItem(
            task=self.name,
            id=item["id"],
            query=_format(self.spec.prompt.query, item, self.name, "prompt.query", item["id"]),
            messages=messages,
            prompt_hash=messages_hash(messages),
            gold=self._gold(item),
            meta=meta,
        )

    def _gold(self, item: dict[str, Any]) -> Any:
        spec = self.spec.grader.gold
        try:
            gold = item[spec] if isinstance(spec, str) else {field: item[key] for field, key in spec.items()}
        except KeyError as exc:
            raise TaskDataError(
                f"task {self.name}, item {item['id']}: grader.gold needs item key {exc.args[0]!r}"
            ) from None
        if self._grader is not None:
            try:
                self._grader.parse_gold(gold)
            except ValueError as exc:  # GraderConfigError
                raise TaskDataError(
                    f"task {self.name}, item {item['id']}: gold does not fit the grader: {exc}"
                ) from None
        return gold

    # ----------------------------------------------------------------- grading and records

    def grade_request(self, gold: Any, response: str | None, finish_reason: str | None) -> GradeRequest:
        return GradeRequest(
            grader=self.grader,
            response=response,
            finish_reason=finish_reason,
            gold=gold,
            options=self.grader_options,
        )

    def item_record(self, item: TaskItem) -> ItemRecord:
        return ItemRecord(
            task=self.name,
            item_id=item.id,
            category=self.category,
            ood=self.ood,
            query=item.query,
            prompt_hash=item.prompt_hash,
            gold=item.gold,
        )

    def source_summary(self) -> str:
        source = self.spec.source

        def listed(names: list[str]) -> str:
            return names[0] + (f" (+{len(names) - 1} more)" if len(names) > 1 else "")

        parts = []
        if source.local:
            parts.append("local " + listed([p.files for p in source.local]))
        if source.hub:
            parts.append("hub " + listed(sorted({hub_name(p) for p in source.hub})))
        return "; ".join(parts)


def scan_tasks(directory: Path | None = None) -> tuple[dict[str, Task], dict[str, ConfigFileError]]:
    """(valid tasks by name, errors of the broken task files by file stem): one bad file blocks no other."""
    directory = Path(directory) if directory is not None else settings.tasks_dir()
    if not directory.is_dir():
        raise ConfigFileError(f"task directory {directory} does not exist")
    tasks: dict[str, Task] = {}
    broken: dict[str, ConfigFileError] = {}
    for path in sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")]):
        try:
            task = Task.from_file(path)
        except ConfigFileError as exc:
            broken[path.stem] = exc
            continue
        if task.name in tasks:
            raise ConfigFileError(f"{path}: task {task.name!r} is also defined in {tasks[task.name].file}")
        tasks[task.name] = task
    return tasks, broken


def discover_tasks(directory: Path | None = None) -> dict[str, Task]:
    """Every valid *.yaml task file of the directory (default: harness.settings.tasks_dir()), by name.

    A broken task file is reported on stderr and left out; select_tasks raises its error when it is asked for.
    """
    tasks, broken = scan_tasks(directory)
    _warn_broken(broken)
    return tasks


def _warn_broken(broken: dict[str, ConfigFileError]) -> None:
    for error in broken.values():
        print(f"warning: skipped a task file with errors: {error}", file=sys.stderr)


def select_tasks(selector: str, directory: Path | None = None) -> list[Task]:
    """Tasks named by a selector: "all" (every non-OOD task), "ood", names and globs, comma-separated.

    A broken task file is skipped with a warning, unless the selector names it: then its error is raised.
    """
    known, broken = scan_tasks(directory)
    tokens = [token.strip() for token in selector.split(",") if token.strip()]
    for token in tokens:
        if token in broken and token not in known:
            raise broken[token]
    _warn_broken(broken)
    chosen: dict[str, Task] = {}
    if not tokens:
        raise ValueError("empty task selector; use 'all', 'ood', task names or globs like 'bbh*'")
    for token in tokens:
        if token == "all":
            matches = [name for name, task in known.items() if not task.ood]
        elif token == "ood":
            matches = [name for name, task in known.items() if task.ood]
        else:
            matches = fnmatch.filter(known, token)
        if not matches:
            raise ValueError(
                f"no task matches {token!r}; known tasks: {', '.join(sorted(known))} (or 'all', 'ood')"
            )
        for name in matches:
            chosen.setdefault(name, known[name])
    return list(chosen.values())


def task_summaries(tasks: list[Task] | dict[str, Task], data_dir: Path | None) -> list[TaskSummary]:
    """One line per task for `harness tasks`: item counts from the local mirror, or why they are unknown.

    The hub is not contacted (listing tasks must stay fast and offline).
    """
    summaries = []
    for task in tasks.values() if isinstance(tasks, dict) else tasks:
        summary = TaskSummary(
            name=task.name,
            category=task.category,
            ood=task.ood,
            paper_size=task.spec.paper_size,
            source=task.source_summary(),
        )
        summary.unavailable = _why_not_local(task, data_dir)
        if summary.unavailable is None:
            try:
                summary.items, summary.full_items = task.count_items(data_dir, allow_hub=False)
            except (TaskDataError, OSError) as exc:
                summary.unavailable = str(exc)
        summaries.append(summary)
    return summaries


def hub_name(part: HubPart) -> str:
    """The dataset id, or for builder + data_files sources (e.g. json from GitHub) the first file."""
    if part.data_files:
        first = part.data_files if isinstance(part.data_files, str) else part.data_files[0]
        return f"{part.path}:{first}"
    return part.path


def _why_not_local(task: Task, data_dir: Path | None) -> str | None:
    """A short reason when the local mirror cannot provide the task's files, else None."""
    source = task.spec.source
    hubs = ", ".join(sorted({hub_name(p) for p in source.hub}))
    hub = f"a run loads it from the hub ({hubs})" if source.hub else ""
    if not source.local:
        return f"no local source; {hub}"
    missing = [p.files for p in source.local if data_dir is None or not local_files(data_dir, p)]
    if not missing:
        return None
    where = "no data dir given" if data_dir is None else f"missing here: {', '.join(missing)}"
    return f"{where}; {hub}" if hub else f"{where} (this benchmark has no hub source)"
