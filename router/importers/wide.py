"""Wide tables: one row per query, one column per model (RouteLLM's ``evals/*/responses`` CSVs, SPROUT's
per-model ``{score, num_input_tokens, num_output_tokens}`` cells, any pandas/HF export of such a matrix).

Roles are found by name unless ``--columns`` says (query: prompt/query/question/instruction; item:
id/prompt_id/question_id/sample_id; task: task/dataset/eval_name/benchmark; split). Without ``--models``
the model columns are those whose every filled cell is a score (bool, 0/1, a number in [0, 1], a dict
with ``score``); text columns and ``<model>_response``-style siblings are noted, never guessed.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from results.store import ResultsStore
from router.importers.common import (
    DuplicatePolicy,
    ImportFormatError,
    ImportSummary,
    TableWriter,
    category_of,
    graded_score,
    id_text,
    is_blank,
    optional_cost,
    optional_count,
    part_of,
    table_stem,
)
from router.importers.tables import parse_column_map, refuse_preference_table, table_rows

ROLE_NAMES = {
    "query": ("prompt", "query", "question", "instruction"),
    "item": ("item", "id", "prompt_id", "question_id", "sample_id", "qid"),
    "task": ("task", "dataset", "eval_name", "benchmark", "dataset_id"),
    "split": ("split",),
    "category": ("category",),
}
# Per-model sibling columns: responses are noted, costs and token counts are read.
_TEXT_SUFFIXES = ("_response", "|model_response", "_answer", "_output")
_COST_SUFFIXES = ("_cost", "|total_cost")
# Cells of SPROUT-style per-model records.
_CELL_SCORE, _CELL_IN, _CELL_OUT = (
    "score",
    ("num_input_tokens", "prompt_tokens"),
    ("num_output_tokens", "completion_tokens"),
)
# Numeric columns that are known not to be models even when their values fall in [0, 1].
_NOT_MODELS = {"oracle", "oracle_score", "difficulty", "weight", "cluster_id", "label", "split_id", "index"}


def _role_columns(columns: list[str], mapping: Mapping[str, str], where: str) -> dict[str, str]:
    roles: dict[str, str] = {}
    for role, candidates in ROLE_NAMES.items():
        if role in mapping:
            if mapping[role] not in columns:
                raise ImportFormatError(f"{where}: --columns {role}={mapping[role]}: no such column")
            roles[role] = mapping[role]
            continue
        found = [c for c in columns if c.lower() in candidates]
        if len(found) > 1:
            raise ImportFormatError(
                f"{where}: columns {', '.join(found)} could each be the {role}; say which with --columns "
                f"{role}=COLUMN"
            )
        if found:
            roles[role] = found[0]
    if "query" not in roles:
        raise ImportFormatError(
            f"{where}: no query column (one of {', '.join(ROLE_NAMES['query'])}); the table has "
            f"{', '.join(columns)}; name it with --columns query=COLUMN"
        )
    return roles


def _is_score_cell(value: Any) -> bool:
    if isinstance(value, dict):
        return _CELL_SCORE in value
    if isinstance(value, bool):
        return True
    if isinstance(value, str):
        text = value.strip().lower()
        if text in {"true", "false"}:
            return True
        try:
            value = float(text)
        except ValueError:
            return False
    return isinstance(value, int | float) and 0.0 <= value <= 1.0


def _sibling_of(column: str, models: set[str]) -> str | None:
    for suffix in (*_TEXT_SUFFIXES, *_COST_SUFFIXES, "_input_tokens", "_output_tokens"):
        if column.endswith(suffix) and column[: -len(suffix)] in models:
            return column[: -len(suffix)]
    return None


def _detect_models(
    rows: Iterator[tuple[str, dict[str, Any]]], candidates: list[str]
) -> tuple[list[str], list[str]]:
    """(model columns, notes) from one pass over the table: a column is a model if its filled cells are
    all scores and at least one is filled."""
    score_like = {c: True for c in candidates}
    filled = dict.fromkeys(candidates, 0)
    for _, row in rows:
        for column in candidates:
            value = row.get(column)
            if is_blank(value) or not score_like[column]:
                continue
            filled[column] += 1
            if not _is_score_cell(value):
                score_like[column] = False
    models = [c for c in candidates if score_like[c] and filled[c] and c.lower() not in _NOT_MODELS]
    model_set = set(models)
    notes = []
    for column in candidates:
        if column in model_set or _sibling_of(column, model_set):
            continue
        why = (
            "known metadata"
            if column.lower() in _NOT_MODELS
            else "empty"
            if not filled[column]
            else ("not all scores in [0, 1] (a graded model score? name it with --models and --threshold)")
        )
        notes.append(f"column {column!r} not taken as a model: {why}")
    return models, notes


def import_wide(
    path: Path | str,
    store: ResultsStore,
    *,
    task: str | None = None,
    models: list[str] | None = None,
    columns: Mapping[str, str] | str | None = None,
    threshold: float | None = None,
    duplicates: DuplicatePolicy = "error",
    categories: Mapping[str, str] | None = None,
    batch_size: int = 5000,
) -> ImportSummary:
    path = Path(path)
    mapping = parse_column_map(columns) if isinstance(columns, str) else dict(columns or {})
    first = next(iter(table_rows(path)), None)
    if first is None:
        raise ImportFormatError(f"{path}: no rows")
    where0, row0 = first
    header = [str(c) for c in row0]
    refuse_preference_table(header, where0)
    lower = {c.lower() for c in header}
    if lower & {"model", "model_name", "llm", "model_id"} and lower & {
        "correct",
        "score",
        "label",
        "performance",
    }:
        raise ImportFormatError(
            f"{where0}: this table has a model column and a score column, one row per (query, model): "
            "import it with --format long (or embedllm / llmrouter for theirs)"
        )
    roles = _role_columns(header, mapping, where0)
    taken = set(roles.values())
    notes: list[str] = []
    if models:
        absent = [m for m in models if m not in header]
        if absent:
            raise ImportFormatError(f"{where0}: --models names no column {', '.join(absent)}")
        model_columns = list(models)
    else:
        if threshold is not None:
            raise ImportFormatError(
                f"{path}: with --threshold the model columns cannot be told from other numeric columns; "
                "name them with --models A,B,..."
            )
        candidates = [c for c in header if c not in taken]
        model_columns, notes = _detect_models(table_rows(path), candidates)
        if not model_columns:
            raise ImportFormatError(
                f"{path}: no column holds per-model scores (bool, 0/1, [0, 1] or {{score: ...}} cells); "
                f"columns: {', '.join(header)}"
            )
    costs = {m: next((m + s for s in _COST_SUFFIXES if m + s in header), None) for m in model_columns}
    writer = TableWriter(store, "wide table", batch_size=batch_size, duplicates=duplicates)
    writer.notes.extend(notes)
    if "item" not in roles:
        writer.notes.append("no item id column: items are numbered by row")
    default_task = task or table_stem(path)
    for number, (where, row) in enumerate(table_rows(path)):
        query = row.get(roles["query"])
        if is_blank(query) or not isinstance(query, str):
            raise ImportFormatError(f"{where}: column {roles['query']!r}: the query is empty or not text")
        item_id = str(number) if "item" not in roles else row.get(roles["item"])
        if is_blank(item_id):
            raise ImportFormatError(f"{where}: column {roles['item']!r}: empty item id")
        row_task = default_task if "task" not in roles else row.get(roles["task"])
        if is_blank(row_task):
            raise ImportFormatError(f"{where}: column {roles['task']!r}: empty task")
        split = None if "split" not in roles else row.get(roles["split"])
        if split is not None and split not in ("train", "calibration", "test"):
            raise ImportFormatError(f"{where}: column {roles['split']!r}: split {split!r} is not train/test")
        category = None if "category" not in roles else row.get(roles["category"])
        task_name, item_name = str(row_task), str(id_text(item_id))
        writer.item(
            task_name,
            item_name,
            query,
            where=where,
            part=part_of(split),
            category=category
            if isinstance(category, str) and category
            else category_of(task_name, categories),
        )
        for model in model_columns:
            _write_cell(writer, row, model, costs[model], task_name, item_name, threshold, where)
    return writer.finish(where=str(path))


def _write_cell(
    writer: TableWriter,
    row: dict[str, Any],
    model: str,
    cost_column: str | None,
    task: str,
    item_id: str,
    threshold: float | None,
    where: str,
) -> None:
    cell = row.get(model)
    if is_blank(cell):
        return
    here = f"{where}: column {model!r}"
    prompt_tokens = completion_tokens = cost = None
    if isinstance(cell, dict):
        if _CELL_SCORE not in cell:
            raise ImportFormatError(f"{here}: a record cell without 'score' ({sorted(cell)})")
        prompt_tokens = optional_count(
            next((cell[k] for k in _CELL_IN if k in cell), None), here, "input tokens"
        )
        completion_tokens = optional_count(
            next((cell[k] for k in _CELL_OUT if k in cell), None), here, "output tokens"
        )
        cost = optional_cost(cell.get("cost"), here)
        cell = cell[_CELL_SCORE]
        if is_blank(cell):
            return
    if cost_column is not None:
        cost = optional_cost(_number_or_text(row.get(cost_column)), f"{where}: column {cost_column!r}")
    writer.sample(
        task,
        item_id,
        model,
        graded_score(cell, here, threshold),
        raw=cell,
        cost=cost,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        where=where,
    )


def _number_or_text(value: Any) -> Any:
    if isinstance(value, str) and value.strip():
        try:
            return float(value)
        except ValueError:
            return value
    return None if isinstance(value, str) else value
