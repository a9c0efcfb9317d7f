"""Load public per-query results tables into a results store (``harness route import``).

Imported rows carry a score but no response and no extracted answer, so the evaluator treats
the score as the expected correctness of that model on that item (see router/voting.py).

RouterDC format: a folder of ``<task>_{train,test}.json`` or ``<task>-{train,test}.json``, each a
JSON list of ``{"question": str, "scores": {model: float}}``. Multiple-choice tasks store the
probability of the gold option when the model's top choice was right and 0 otherwise (correct =
score > 0); generation tasks store the fraction of 10 samples that were correct (k/10). A task
whose scores are all multiples of 0.1 is read as a fraction, any other task as multiple choice;
``score_kinds`` overrides this per task. The files' own train/test membership is recorded as the
run's split (train = calibration).

Long format: CSV or JSONL rows with ``task, item, query, model, sample, correct`` and optionally
``category``, ``ood``, ``split`` (train/calibration or test), ``extracted``.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from results.records import ItemRecord, SampleRecord, SamplingParams
from results.store import ResultsStore
from router.split import SPLIT_META_KEY, ItemKey, Part, merge_split_meta

ScoreKind = Literal["mc", "fraction"]

# Categories of the tasks found in public router tables (the harness task files use the same names).
KNOWN_CATEGORIES = {
    "gsm8k": "math",
    "math": "math",
    "humaneval": "code",
    "mbpp": "code",
    "mmlu": "knowledge",
    "cmmlu": "knowledge",
    "arc_challenge": "knowledge",
}
ROUTERDC_FILE = re.compile(r"^(?P<task>.+?)[_-](?P<part>train|test)\.json$")
PART_OF_SPLIT: dict[str, Part] = {"train": "calibration", "calibration": "calibration", "test": "test"}


class ImportFormatError(ValueError):
    """An input table is malformed; the message names the file and the row."""


class ImportSummary(BaseModel):
    tasks: dict[str, int] = Field(description="items imported per task")
    models: list[str]
    samples: int
    score_kinds: dict[str, str] = Field(default_factory=dict)
    split_recorded: bool


def prompt_hash(query: str) -> str:
    return hashlib.sha256(query.encode("utf-8")).hexdigest()[:16]


def category_of(task: str, overrides: Mapping[str, str] | None = None) -> str:
    if overrides and task in overrides:
        return overrides[task]
    return KNOWN_CATEGORIES.get(task, "knowledge")


def _grade_reason(score: float) -> str:
    return "right" if score >= 1.0 else "wrong"


def _imported_sample(
    task: str,
    item_id: str,
    model: str,
    index: int,
    score: float,
    source: str,
    raw: Any,
    query_hash: str,
    extracted: str | None = None,
) -> SampleRecord:
    return SampleRecord(
        task=task,
        item_id=item_id,
        model=model,
        sample_index=index,
        prompt_hash=query_hash,
        params=SamplingParams(),
        extracted=extracted,
        score=score,
        grade_reason=_grade_reason(score),
        grade_detail=f"imported from {source}: raw value {raw!r}",
    )


def _record_split(store: ResultsStore, parts: Mapping[ItemKey, Part], source: str) -> None:
    store.set_meta(SPLIT_META_KEY, merge_split_meta(store.get_meta(SPLIT_META_KEY), parts, source))


# --------------------------------------------------------------------------- RouterDC


def _routerdc_files(folder: Path) -> dict[str, dict[str, Path]]:
    if not folder.is_dir():
        raise ImportFormatError(
            f"{folder}: not a folder of RouterDC <task>_train.json / <task>_test.json files"
        )
    found: dict[str, dict[str, Path]] = {}
    for path in sorted(folder.glob("*.json")):
        match = ROUTERDC_FILE.match(path.name)
        if match:
            found.setdefault(match["task"].lower(), {})[match["part"]] = path
    if not found:
        raise ImportFormatError(f"{folder}: no <task>_train.json / <task>_test.json files found")
    return found


def _load_routerdc_rows(path: Path) -> list[tuple[str, dict[str, float]]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ImportFormatError(f"{path}: cannot read JSON ({exc})") from exc
    if not isinstance(data, list):
        raise ImportFormatError(f"{path}: expected a JSON list of {{question, scores}} objects")
    rows = []
    for index, row in enumerate(data):
        where = f"{path}: entry {index}"
        if not isinstance(row, dict) or not isinstance(row.get("question"), str):
            raise ImportFormatError(f"{where}: needs a string 'question'")
        scores = row.get("scores")
        if not isinstance(scores, dict) or not scores:
            raise ImportFormatError(f"{where}: needs a non-empty 'scores' object {{model: number}}")
        for model, value in scores.items():
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise ImportFormatError(f"{where}: score of {model!r} is not a finite number ({value!r})")
            if not 0.0 <= value <= 1.0:
                raise ImportFormatError(f"{where}: score of {model!r} is outside [0, 1] ({value!r})")
        rows.append((row["question"], {str(m): float(v) for m, v in scores.items()}))
    return rows


def detect_score_kind(values: list[float]) -> ScoreKind:
    """Fractions k/10 are all multiples of 0.1; gold-option probabilities are not."""
    return "fraction" if all(abs(v * 10 - round(v * 10)) < 1e-6 for v in values) else "mc"


def import_routerdc(
    folder: Path | str,
    store: ResultsStore,
    *,
    score_kinds: Mapping[str, ScoreKind] | None = None,
    categories: Mapping[str, str] | None = None,
    ood_tasks: set[str] | frozenset[str] = frozenset(),
) -> ImportSummary:
    folder = Path(folder)
    summary_tasks: dict[str, int] = {}
    kinds: dict[str, str] = {}
    models: set[str] = set()
    n_samples = 0
    parts: dict[ItemKey, Part] = {}
    for task, files in _routerdc_files(folder).items():
        loaded = {part: _load_routerdc_rows(path) for part, path in sorted(files.items())}
        all_values = [v for rows in loaded.values() for _, scores in rows for v in scores.values()]
        kind = (score_kinds or {}).get(task) or detect_score_kind(all_values)
        kinds[task] = kind
        items: list[ItemRecord] = []
        samples: list[SampleRecord] = []
        for part, rows in loaded.items():
            for index, (question, scores) in enumerate(rows):
                item_id = f"{part}-{index:05d}"
                query_hash = prompt_hash(question)
                items.append(
                    ItemRecord(
                        task=task,
                        item_id=item_id,
                        category=category_of(task, categories),
                        ood=task in ood_tasks,
                        query=question,
                        prompt_hash=query_hash,
                        gold=None,
                    )
                )
                parts[(task, item_id)] = PART_OF_SPLIT[part]
                for model, raw in scores.items():
                    score = (1.0 if raw > 0 else 0.0) if kind == "mc" else raw
                    samples.append(
                        _imported_sample(task, item_id, model, 0, score, "routerdc", raw, query_hash)
                    )
                    models.add(model)
        store.upsert_items(items)
        store.write_samples(samples)
        summary_tasks[task] = len(items)
        n_samples += len(samples)
    _record_split(store, parts, "routerdc")
    return ImportSummary(
        tasks=summary_tasks, models=sorted(models), samples=n_samples, score_kinds=kinds, split_recorded=True
    )


# --------------------------------------------------------------------------- long format


class LongRow(BaseModel):
    model_config = ConfigDict(extra="ignore")

    task: str = Field(min_length=1)
    item: str = Field(min_length=1)
    query: str = Field(min_length=1)
    model: str = Field(min_length=1)
    sample: int = Field(default=0, ge=0)
    correct: float = Field(ge=0.0, le=1.0)
    category: str | None = None
    ood: bool = False
    split: Literal["train", "calibration", "test"] | None = None
    extracted: str | None = None

    @field_validator("correct", mode="before")
    @classmethod
    def _boolean_words(cls, value: Any) -> Any:
        if isinstance(value, str) and value.strip().lower() in {"true", "false"}:
            return 1.0 if value.strip().lower() == "true" else 0.0
        return value

    @field_validator("ood", mode="before")
    @classmethod
    def _blank_is_false(cls, value: Any) -> Any:
        return False if value in ("", None) else value

    @field_validator("category", "split", "extracted", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        return None if value == "" else value


def _jsonl_rows(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    with path.open(encoding="utf-8") as fh:
        for line_no, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError as exc:
                raise ImportFormatError(f"{path}: line {line_no}: not JSON ({exc})") from exc
            if not isinstance(row, dict):
                raise ImportFormatError(f"{path}: line {line_no}: expected a JSON object")
            yield f"{path}: line {line_no}", row


def _csv_rows(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        for row in reader:
            yield f"{path}: line {reader.line_num}", row


def _long_rows(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """(location, raw row) pairs; the location names the file and line for error messages."""
    suffix = path.suffix.lower()
    if suffix not in {".csv", ".jsonl", ".json"}:
        raise ImportFormatError(f"{path}: long-format tables must be .csv or .jsonl")
    try:
        yield from (_csv_rows(path) if suffix == ".csv" else _jsonl_rows(path))
    except OSError as exc:
        raise ImportFormatError(f"{path}: cannot read ({exc})") from exc


def import_long(
    path: Path | str,
    store: ResultsStore,
    *,
    categories: Mapping[str, str] | None = None,
    batch_size: int = 5000,
) -> ImportSummary:
    path = Path(path)
    rows = _long_rows(path)
    items: dict[ItemKey, ItemRecord] = {}
    parts: dict[ItemKey, Part] = {}
    models: set[str] = set()
    pending: list[SampleRecord] = []
    n_samples = 0
    for where, raw in rows:
        try:
            row = LongRow.model_validate(raw)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise ImportFormatError(f"{where}: {problems}") from exc
        key = (row.task, row.item)
        query_hash = prompt_hash(row.query)
        known = items.get(key)
        if known is None:
            items[key] = ItemRecord(
                task=row.task,
                item_id=row.item,
                category=row.category or category_of(row.task, categories),
                ood=row.ood,
                query=row.query,
                prompt_hash=query_hash,
            )
        elif known.query != row.query:
            raise ImportFormatError(
                f"{where}: item {row.task}/{row.item} has a different query than an earlier row"
            )
        if row.split is not None:
            part = PART_OF_SPLIT[row.split]
            if parts.setdefault(key, part) != part:
                raise ImportFormatError(f"{where}: item {row.task}/{row.item} is in both splits")
        pending.append(
            _imported_sample(
                row.task,
                row.item,
                row.model,
                row.sample,
                row.correct,
                "long table",
                row.correct,
                query_hash,
                row.extracted,
            )
        )
        models.add(row.model)
        if len(pending) >= batch_size:
            store.upsert_items(items.values())
            store.write_samples(pending)
            n_samples += len(pending)
            pending = []
    if not items:
        raise ImportFormatError(f"{path}: no rows")
    store.upsert_items(items.values())
    store.write_samples(pending)
    n_samples += len(pending)
    if parts:
        if len(parts) != len(items):
            missing = next(k for k in items if k not in parts)
            raise ImportFormatError(
                f"{path}: some rows have a split and some do not (e.g. item {missing[0]}/{missing[1]})"
            )
        _record_split(store, parts, "long table")
    per_task: dict[str, int] = {}
    for task, _ in items:
        per_task[task] = per_task.get(task, 0) + 1
    return ImportSummary(tasks=per_task, models=sorted(models), samples=n_samples, split_recorded=bool(parts))
