"""Long tables: one row per (item, model, sample): CSV/TSV, JSONL/JSON, Parquet or Arrow.

Columns ``task, item, query, model, sample, correct`` and optionally ``category``, ``ood``, ``split``
(train/calibration or test), ``extracted``, and the cost columns ``cost``, ``prompt_tokens``,
``completion_tokens`` (Avengers-Pro / LLMRouterBench style records flattened to rows).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from results.store import ResultsStore
from router.importers.common import (
    DuplicatePolicy,
    ImportFormatError,
    ImportSummary,
    TableWriter,
    category_of,
    graded_score,
    id_text,
    part_of,
    prompt_hash,
    table_stem,
)
from router.importers.tables import ColumnNames, table_rows


class LongRow(BaseModel):
    model_config = ConfigDict(extra="ignore")

    task: str = Field(min_length=1)
    item: str = Field(min_length=1)
    query: str = Field(min_length=1)
    model: str = Field(min_length=1)
    sample: int = Field(default=0, ge=0)
    correct: Any
    category: str | None = None
    ood: bool = False
    split: Literal["train", "calibration", "test"] | None = None
    extracted: str | None = None
    cost: float | None = Field(default=None, ge=0)
    prompt_tokens: int | None = Field(default=None, ge=0)
    completion_tokens: int | None = Field(default=None, ge=0)

    @field_validator("task", "item", "model", mode="before")
    @classmethod
    def _ids_as_text(cls, value: Any) -> Any:
        # Parquet/JSON ids are often numbers; the store keys them as text.
        return id_text(value)

    @field_validator("query", "task", "item", "model")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("is blank")
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


REQUIRED = ("query", "model", "correct")
GRAPHROUTER_COLUMNS = {"query_embedding", "effect", "cost"}
# Other tables' names for this format's columns (IRT-Router: question, llm, performance, input_tokens;
# EmbedLLM: prompt_id, model_name, label; LLMRouter: task_name, model_name, performance).
ALIASES = {
    # "category" is not among them: it is this format's own (coarser) column.
    "task": ("dataset", "task_name", "benchmark", "eval_name", "dataset_id"),
    "item": ("id", "prompt_id", "question_id", "sample_id", "qid", "index"),
    "query": ("prompt", "question", "instruction"),
    "model": ("model_name", "llm", "model_id", "llm_name"),
    "correct": ("score", "performance", "label", "is_correct", "accuracy"),
    "prompt_tokens": ("input_tokens", "num_input_tokens"),
    "completion_tokens": ("output_tokens", "num_output_tokens"),
}


def long_rows(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """(location, raw row) pairs; the location names the file and line for error messages."""
    return table_rows(path)


def _named(field: str, mapping: Mapping[str, str]) -> str:
    """A field as the table calls it: ``correct (column 'rating')`` when it was renamed."""
    source = mapping.get(field)
    return field if source is None or source == field else f"{field} (column {source!r})"


def validation_message(exc: ValidationError, mapping: Mapping[str, str] | None = None) -> str:
    return "; ".join(
        f"{_named('.'.join(map(str, e['loc'])), mapping or {})}: {e['msg']}" for e in exc.errors()
    )


def import_long(
    path: Path | str,
    store: ResultsStore,
    *,
    categories: Mapping[str, str] | None = None,
    columns: Mapping[str, str] | None = None,
    task: str | None = None,
    threshold: float | None = None,
    duplicates: DuplicatePolicy = "error",
    batch_size: int = 5000,
    source: str = "long table",
    drop: tuple[str, ...] = (),
) -> ImportSummary:
    """``columns`` maps this format's names to the table's (``{"query": "prompt", "correct": "label"}``);
    ``threshold`` turns graded scores into right/wrong (see graded_score). Without an item column the
    item is the query text's hash; without a task column the task is ``task`` or the file's stem."""
    path = Path(path)
    writer = TableWriter(store, source, batch_size=batch_size, duplicates=duplicates)
    names = ColumnNames(REQUIRED, columns or {}, path, aliases=ALIASES)
    default_task = task or table_stem(path)
    for where, raw in long_rows(path):
        if "cost" not in drop and raw.keys() >= GRAPHROUTER_COLUMNS:
            raise ImportFormatError(
                f"{where}: this is GraphRouter's router_data table (query_embedding, effect, cost): its cost is "
                "min-max normalised per task, not money; import it with --format graphrouter"
            )
        for name in drop:  # table columns this caller knows to be something else than their name says
            raw.pop(name, None)
        raw = names.apply(raw, where)
        if "task" not in names.present:
            raw["task"] = default_task
        if "item" not in names.present and isinstance(raw.get("query"), str):
            raw["item"] = prompt_hash(raw["query"])
        try:
            row = LongRow.model_validate(raw)
        except ValidationError as exc:
            raise ImportFormatError(f"{where}: {validation_message(exc, names.mapping)}") from exc
        score = graded_score(row.correct, f"{where}: {_named('correct', names.mapping)}", threshold)
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
            score,
            raw=row.correct,
            index=row.sample,
            extracted=row.extracted,
            cost=row.cost,
            prompt_tokens=row.prompt_tokens,
            completion_tokens=row.completion_tokens,
            where=where,
        )
    writer.notes.extend(names.notes)
    if "task" not in names.present:
        writer.notes.append(f"no task column: every row is task {default_task!r}")
    if "item" not in names.present:
        writer.notes.append("no item id column: items are keyed by their query text")
    return writer.finish(where=str(path))
