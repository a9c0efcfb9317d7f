"""Long tables: one row per (item, model, sample), CSV or JSONL.

Columns ``task, item, query, model, sample, correct`` and optionally ``category``, ``ood``, ``split``
(train/calibration or test), ``extracted``, and the cost columns ``cost``, ``prompt_tokens``,
``completion_tokens`` (Avengers-Pro / LLMRouterBench style records flattened to rows).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from results.store import ResultsStore
from router.importers.common import (
    ImportFormatError,
    ImportSummary,
    TableWriter,
    category_of,
    csv_rows,
    json_line_rows,
    part_of,
)


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
    cost: float | None = Field(default=None, ge=0)
    prompt_tokens: int | None = Field(default=None, ge=0)
    completion_tokens: int | None = Field(default=None, ge=0)

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

    @field_validator(
        "category", "split", "extracted", "cost", "prompt_tokens", "completion_tokens", mode="before"
    )
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        return None if value == "" else value


def _json_list_rows(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ImportFormatError(f"{path}: not JSON ({exc})") from exc
    if not isinstance(rows, list):
        raise ImportFormatError(f"{path}: expected a JSON list of row objects (or JSON lines)")
    for n, row in enumerate(rows):
        if not isinstance(row, dict):
            raise ImportFormatError(f"{path}: entry {n}: expected a JSON object")
        yield f"{path}: entry {n}", row


def _jsonl_rows(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    if path.suffix.lower() == ".json":
        with path.open(encoding="utf-8") as fh:
            is_list = fh.read(4096).lstrip().startswith("[")
        if is_list:
            yield from _json_list_rows(path)
            return
    yield from json_line_rows(path)


def long_rows(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """(location, raw row) pairs; the location names the file and line for error messages."""
    suffix = path.suffix.lower()
    if suffix not in {".csv", ".jsonl", ".json"}:
        raise ImportFormatError(f"{path}: long-format tables must be .csv, .jsonl or .json")
    try:
        yield from (csv_rows(path) if suffix == ".csv" else _jsonl_rows(path))
    except OSError as exc:
        raise ImportFormatError(f"{path}: cannot read ({exc})") from exc


def validation_message(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())


def import_long(
    path: Path | str,
    store: ResultsStore,
    *,
    categories: Mapping[str, str] | None = None,
    batch_size: int = 5000,
) -> ImportSummary:
    path = Path(path)
    writer = TableWriter(store, "long table", batch_size=batch_size)
    for where, raw in long_rows(path):
        try:
            row = LongRow.model_validate(raw)
        except ValidationError as exc:
            raise ImportFormatError(f"{where}: {validation_message(exc)}") from exc
        writer.item(
            row.task,
            row.item,
            row.query,
            where=where,
            part=part_of(row.split),
            category=row.category or category_of(row.task, categories),
            ood=row.ood,
        )
        writer.sample(
            row.task,
            row.item,
            row.model,
            row.correct,
            index=row.sample,
            extracted=row.extracted,
            cost=row.cost,
            prompt_tokens=row.prompt_tokens,
            completion_tokens=row.completion_tokens,
        )
    return writer.finish(where=str(path))
