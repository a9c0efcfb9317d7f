"""EmbedLLM's correctness data (HF ``RZ412/EmbedLLM``; LLMRouterBench's EmbedLLM adaptor writes the same).

``train.csv`` / ``val.csv`` / ``test.csv`` (or ``*_ours.csv``, or the Hub's Parquet conversion
``<split>/0000.parquet``): one row per (prompt, model) with ``prompt_id``, ``model_id``, ``label`` and
usually ``model_name``, ``category``, ``prompt``. Without ``prompt`` / ``model_name`` the text comes from
``question_order.csv`` (prompt_id, prompt) / ``model_order.csv`` (model_id, model_name) beside the
table. The file (or folder) name gives the split: train and val calibrate, test tests. Repeated
(prompt, model) rows keep the higher label by default, as EmbedLLM's own loader (algorithm/knn.py)
aggregates them with ``max``.
"""

from __future__ import annotations

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
    part_of,
    table_stem,
    table_suffix,
)
from router.importers.tables import TABLE_SUFFIXES, refuse_preference_table, table_rows

SPLIT_FILES = {"train": "train", "val": "train", "validation": "train", "test": "test"}
REQUIRED = ("prompt_id", "model_id", "label")


def _split_of(path: Path) -> str | None:
    for name in (table_stem(path).lower().removesuffix("_ours"), path.parent.name.lower()):
        if name in SPLIT_FILES:
            return SPLIT_FILES[name]
    return None


def _tables(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise ImportFormatError(f"{path}: no such file or folder")
    found = sorted(
        p
        for p in path.rglob("*")
        if table_suffix(p) in TABLE_SUFFIXES and _split_of(p) is not None and "order" not in table_stem(p)
    )
    if not found:
        raise ImportFormatError(
            f"{path}: no EmbedLLM table (train/val/test .csv or <split>/*.parquet) in this folder"
        )
    return found


def _lookup(folder: Path, stem: str, key: str, value: str) -> dict[str, str] | None:
    """``{key: value}`` from ``<stem>.csv`` (or ``<stem>_ours.csv``) beside the tables, if there."""
    for name in (f"{stem}.csv", f"{stem}_ours.csv"):
        file = folder / name
        if not file.is_file():
            continue
        table: dict[str, str] = {}
        for where, row in table_rows(file):
            if key not in row or value not in row:
                raise ImportFormatError(f"{where}: expected columns {key}, {value}; found {', '.join(row)}")
            table[str(row[key])] = str(row[value])
        return table
    return None


class _Joins:
    """Prompt texts and model names by id, loaded only if a table lacks its own column."""

    def __init__(self, folder: Path):
        self.folder = folder
        self._prompts: dict[str, str] | None = None
        self._models: dict[str, str] | None = None

    def prompt(self, prompt_id: str, where: str) -> str:
        if self._prompts is None:
            self._prompts = _lookup(self.folder, "question_order", "prompt_id", "prompt")
            if self._prompts is None:
                raise ImportFormatError(
                    f"{where}: no prompt column and no question_order.csv in {self.folder}"
                )
        if prompt_id not in self._prompts:
            raise ImportFormatError(f"{where}: prompt_id {prompt_id} is not in question_order.csv")
        return self._prompts[prompt_id]

    def model(self, model_id: str, where: str) -> str:
        if self._models is None:
            self._models = _lookup(self.folder, "model_order", "model_id", "model_name")
            if self._models is None:
                raise ImportFormatError(
                    f"{where}: no model_name column and no model_order.csv in {self.folder}"
                )
        if model_id not in self._models:
            raise ImportFormatError(f"{where}: model_id {model_id} is not in model_order.csv")
        return self._models[model_id]


def _id(value: Any, where: str, column: str) -> str:
    if is_blank(value):
        raise ImportFormatError(f"{where}: empty {column}")
    return str(id_text(value)).strip()


def import_embedllm(
    path: Path | str,
    store: ResultsStore,
    *,
    threshold: float | None = None,
    duplicates: DuplicatePolicy = "max",
    batch_size: int = 5000,
) -> ImportSummary:
    path = Path(path)
    tables = _tables(path)
    writer = TableWriter(store, "EmbedLLM", batch_size=batch_size, duplicates=duplicates)
    for table in tables:
        split = _split_of(table)
        joins = _Joins(table.parent if table.parent.name.lower() not in SPLIT_FILES else table.parent.parent)
        checked = False
        for where, row in table_rows(table):
            if not checked:
                refuse_preference_table(row, where)
                missing = [c for c in REQUIRED if c not in row]
                if missing:
                    raise ImportFormatError(
                        f"{where}: not an EmbedLLM table: no column {', '.join(missing)} (has {', '.join(row)})"
                    )
                checked = True
            prompt_id = _id(row["prompt_id"], where, "prompt_id")
            model_id = _id(row["model_id"], where, "model_id")
            model = row.get("model_name")
            model = joins.model(model_id, where) if is_blank(model) else str(model)
            query = row.get("prompt")
            query = joins.prompt(prompt_id, where) if is_blank(query) else query
            if not isinstance(query, str) or not query.strip():
                raise ImportFormatError(f"{where}: prompt {prompt_id}: empty query text")
            task = row.get("category")
            task = "embedllm" if is_blank(task) else str(task)
            writer.item(task, prompt_id, query, where=where, part=part_of(split), category=category_of(task))
            if is_blank(row["label"]):
                continue
            writer.sample(
                task,
                prompt_id,
                model,
                graded_score(row["label"], f"{where}: label", threshold),
                raw=row["label"],
                where=where,
            )
    if any(_split_of(t) is None for t in tables):
        writer.notes.append("a table's name gives no split (train/val/test): no split recorded")
    elif any(t.stem.lower().startswith("val") or t.parent.name.lower().startswith("val") for t in tables):
        writer.notes.append("val rows calibrate, as train rows do")
    return writer.finish(where=str(path))
