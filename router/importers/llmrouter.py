"""LLMRouter (ulab-uiuc/LLMRouter) tables: its routing data (``default_routing_*_data.jsonl`` rows, a
file or the folder holding them: router/importers/llmrouter_rows.py), or the RouterDC-style
``train.json`` / ``test.json`` of ``data/dcrouter_preprocessed`` in a folder.

Each of these two files is a JSON list of ``{"question": str, "scores": {model: float}}`` (optionally
``cluster_id``) with no task prefix in the file name and fractional scores, kept as they are
(0.667 stays 0.667). Task labels come from a separate query file (LLMRouter's
``query_data_{train,test}.jsonl``: one ``{"task_name", "query", ...}`` object per line, or a JSON
list of them), joined on the exact query text. Without a query file every item goes to one task,
``--task`` (default ``llmrouter``). A question the query file does not label is an error naming it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from results.store import ResultsStore
from router.importers.common import PART_OF_SPLIT, ImportFormatError, ImportSummary, TableWriter, category_of
from router.importers.llmrouter_rows import ROW_SUFFIXES, import_llmrouter_rows
from router.importers.routerdc import load_routerdc_rows

SPLIT_FILES = {"train.json": "train", "test.json": "test"}
TASK_FIELDS = ("task_name", "task", "dataset")
QUERY_FIELDS = ("query", "question")


def _query_records(path: Path) -> list[tuple[str, dict]]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ImportFormatError(f"{path}: cannot read ({exc})") from exc
    stripped = text.lstrip()
    try:
        if stripped.startswith("["):
            return [(f"{path}: entry {i}", r) for i, r in enumerate(json.loads(text))]
        return [
            (f"{path}: line {n}", json.loads(line))
            for n, line in enumerate(text.splitlines(), start=1)
            if line.strip()
        ]
    except ValueError as exc:
        raise ImportFormatError(f"{path}: not JSON or JSON lines ({exc})") from exc


def task_labels(paths: Sequence[Path]) -> dict[str, str]:
    """query text -> task name, from LLMRouter query files; a query with two labels is an error."""
    labels: dict[str, str] = {}
    for path in paths:
        for where, record in _query_records(path):
            if not isinstance(record, dict):
                raise ImportFormatError(f"{where}: expected an object with task_name and query")
            task = next((record[f] for f in TASK_FIELDS if isinstance(record.get(f), str)), None)
            query = next((record[f] for f in QUERY_FIELDS if isinstance(record.get(f), str)), None)
            if not task or query is None:
                raise ImportFormatError(f"{where}: needs string fields task_name and query")
            if labels.setdefault(query, task) != task:
                raise ImportFormatError(f"{where}: query already labelled {labels[query]!r}, here {task!r}")
    return labels


def import_llmrouter(
    folder: Path | str,
    store: ResultsStore,
    *,
    query_files: Sequence[Path] = (),
    task: str = "llmrouter",
    categories: Mapping[str, str] | None = None,
) -> ImportSummary:
    folder = Path(folder)
    if folder.is_file() and folder.suffix.lower() in ROW_SUFFIXES:
        return import_llmrouter_rows(folder, store, task=task, categories=categories)
    if not folder.is_dir():
        raise ImportFormatError(
            f"{folder}: not a routing data file (.jsonl/.csv/.parquet) nor a folder holding one or train.json / test.json"
        )
    files = {part: folder / name for name, part in SPLIT_FILES.items() if (folder / name).is_file()}
    if not files:
        summary = import_llmrouter_rows(folder, store, task=task, categories=categories)
        if query_files:
            summary.notes.append("--queries not used: routing data rows carry their own task_name")
        return summary
    labels = task_labels(query_files) if query_files else None
    writer = TableWriter(store, "llmrouter")
    others = sorted(p.name for p in folder.iterdir() if p.is_file() and p.name not in SPLIT_FILES)
    if others:
        writer.notes.append(f"not imported (not train.json/test.json): {', '.join(others)}")
    counters: dict[tuple[str, str], int] = {}
    for part, path in sorted(files.items()):
        for index, (question, scores) in enumerate(load_routerdc_rows(path)):
            where = f"{path}: entry {index}"
            if labels is None:
                label = task
            else:
                label = labels.get(question)
                if label is None:
                    raise ImportFormatError(
                        f"{where}: question not found in the query file(s) "
                        f"{', '.join(map(str, query_files))}: {question[:80]!r}"
                    )
            n = counters[(label, part)] = counters.get((label, part), 0) + 1
            item_id = f"{part}-{n - 1:05d}"
            writer.item(
                label,
                item_id,
                question,
                where=where,
                part=PART_OF_SPLIT[part],
                category=category_of(label, categories),
            )
            for model, score in scores.items():
                writer.sample(label, item_id, model, score)
    return writer.finish(where=str(folder))
