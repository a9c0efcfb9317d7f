"""RouterBench (withmartian/routerbench): one wide table, one row per prompt.

Columns: ``sample_id``, ``prompt`` (a stringified Python list of turns, e.g. ``"['Question ...']"``),
``eval_name`` (the task), optionally ``oracle_model_to_route_to``, and per model ``<model>`` (its
score, blank when the model has no result), ``<model>|total_cost`` and ``<model>|model_response``.
Read from the released ``.pkl`` (a pandas DataFrame), or ``.csv`` / ``.parquet`` / ``.jsonl``.

Sample ids are reused across rows (the same id under several tasks, and within a task for
different prompts): items are keyed by (eval_name, sample_id), and a repeated key with a different
prompt gets ``#2``, ``#3``... appended (counted in the summary's notes). Blank score cells are no
sample; blank cost cells no cost. Scores stay as they are (fractions are not binarised).
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from pathlib import Path

from results.store import ResultsStore
from router.importers.common import (
    ImportFormatError,
    ImportSummary,
    TableWriter,
    category_of,
    checked_score,
    is_blank,
)

META_COLUMNS = {"sample_id", "prompt", "eval_name", "oracle_model_to_route_to"}
COST_SUFFIX = "|total_cost"


def read_frame(path: Path):
    import pandas as pd

    suffix = path.suffix.lower()
    try:
        if suffix == ".pkl":
            return pd.read_pickle(path)  # the official release format; only open files you trust
        if suffix == ".csv":
            return pd.read_csv(path, keep_default_na=True)
        if suffix == ".parquet":
            return pd.read_parquet(path)
        if suffix in {".jsonl", ".json"}:
            return pd.read_json(path, lines=suffix == ".jsonl")
    except (OSError, ValueError) as exc:
        raise ImportFormatError(f"{path}: cannot read ({exc})") from exc
    raise ImportFormatError(f"{path}: RouterBench tables must be .pkl, .csv, .parquet or .jsonl")


def prompt_text(value, where: str) -> str:
    """The prompt's turns joined by blank lines; a plain string is used as it is."""
    if isinstance(value, list | tuple):
        turns = value
    elif isinstance(value, str):
        text = value.strip()
        if text.startswith("[") and text.endswith("]"):
            try:
                turns = ast.literal_eval(text)
            except (ValueError, SyntaxError):
                turns = [value]
        else:
            turns = [value]
    else:
        raise ImportFormatError(f"{where}: prompt is not text ({value!r})")
    turns = [str(t) for t in (turns if isinstance(turns, list | tuple) else [turns]) if str(t).strip()]
    if not turns:
        raise ImportFormatError(f"{where}: empty prompt")
    return "\n\n".join(turns)


def model_columns(columns) -> list[str]:
    names = [str(c) for c in columns]
    priced = [c[: -len(COST_SUFFIX)] for c in names if c.endswith(COST_SUFFIX)]
    models = [c for c in names if "|" not in c and c not in META_COLUMNS]
    missing = [m for m in priced if m not in models]
    if missing:
        raise ImportFormatError(f"cost columns without a score column: {', '.join(missing)}")
    return models


def import_routerbench(
    path: Path | str, store: ResultsStore, *, categories: Mapping[str, str] | None = None
) -> ImportSummary:
    path = Path(path)
    frame = read_frame(path)
    absent = {"sample_id", "prompt", "eval_name"} - {str(c) for c in frame.columns}
    if absent:
        raise ImportFormatError(f"{path}: missing column(s) {', '.join(sorted(absent))}")
    try:
        models = model_columns(frame.columns)
    except ImportFormatError as exc:
        raise ImportFormatError(f"{path}: {exc}") from None
    if not models:
        raise ImportFormatError(f"{path}: no model score columns")
    writer = TableWriter(store, "routerbench")
    seen: dict[tuple[str, str], dict[str, str]] = {}  # (task, sample_id) -> prompt -> item id
    renamed = 0
    for n, row in enumerate(frame.to_dict(orient="records")):
        where = f"{path}: row {n} (sample_id {row.get('sample_id')!r})"
        task = str(row["eval_name"]).strip()
        if is_blank(row["eval_name"]) or not task:
            raise ImportFormatError(f"{where}: blank eval_name")
        query = prompt_text(row["prompt"], where)
        versions = seen.setdefault((task, str(row["sample_id"])), {})
        item_id = versions.get(query)
        if item_id is None:
            item_id = str(row["sample_id"]) + ("" if not versions else f"#{len(versions) + 1}")
            renamed += bool(versions)
            versions[query] = item_id
        writer.item(task, item_id, query, where=where, category=category_of(task, categories))
        for model in models:
            value = row.get(model)
            if is_blank(value):
                continue
            cost = row.get(model + COST_SUFFIX)
            writer.sample(
                task,
                item_id,
                model,
                checked_score(value, f"{where}: {model}"),
                cost=None if is_blank(cost) else float(cost),
            )
    if renamed:
        writer.notes.append(
            f"{renamed} rows reuse a (eval_name, sample_id) with another prompt: suffixed #2, #3..."
        )
    return writer.finish(where=str(path))
