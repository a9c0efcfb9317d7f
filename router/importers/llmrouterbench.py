"""LLMRouterBench / OpenRouterBench result files (ynulihao/LLMRouterBench, ``results/bench``).

Layout ``<root>/<dataset>/<split>/<model>/<dataset>-<split>-<model>-<YYYYMMDD_HHMMSS>.json`` (or a
legacy ``result.json``); each file is ``{"performance", "cost", "counts", "model_name", "dataset_name",
"split", "demo", "records": [{"index", "origin_query", "prompt", "prediction", "ground_truth", "score",
"prompt_tokens", "completion_tokens", "cost", "raw_output", "extra_fields"}]}``. As the project's own
loader (``baselines/data_loader.py``) does: every ``*.json`` under the root is read, the dataset, split
and model come from the file's own fields (the folders when a file lacks them), ``demo`` files are
skipped, and of several files for one (dataset, split, model) the latest by the timestamp in the name
is imported; a ``null`` score counts as 0. Each of these, and JSON files that are not result objects
(no ``records``), is listed in the summary's notes; a file that is not JSON is an error.

The task is the dataset, the item ``<split>:<index>``, the query ``origin_query`` (the question alone;
``prompt`` when it is missing; lists/objects as JSON text), the score is kept as given, the record's
cost (USD) and token counts are stored. No split is recorded: `route` uses a hashed one. A single
result file can be given instead of the root, and a ``.jsonl`` file (or a folder of them) is read as
Avengers-Pro records (router/importers/avengerspro.py).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from results.store import ResultsStore
from router.importers.avengerspro import import_avengerspro, is_avengerspro_source
from router.importers.common import (
    ImportFormatError,
    ImportSummary,
    TableWriter,
    category_of,
    is_blank,
    optional_cost,
    optional_count,
    score_or_zero,
    text_field,
)

TIMESTAMP = re.compile(r"(\d{8})_(\d{6})\.json$")
IDENTITY = ("dataset_name", "split", "model_name")


def _load(path: Path) -> dict[str, Any] | None:
    """The result object, or None for JSON that is not one (a summary or config beside the results)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ImportFormatError(f"{path}: cannot read JSON ({exc})") from exc
    if not isinstance(data, dict) or "records" not in data:
        return None
    if not isinstance(data["records"], list):
        raise ImportFormatError(f"{path}: 'records' is not a list")
    return data


def _identity(path: Path, root: Path, data: dict) -> tuple[str, str, str]:
    """(dataset, split, model): the file's own fields, else <dataset>/<split>/<model...>/ folders."""
    parts = path.relative_to(root).parts[:-1] if path.is_relative_to(root) else ()
    from_path = (parts[0], parts[1], "/".join(parts[2:])) if len(parts) >= 3 else None
    values = []
    for n, name in enumerate(IDENTITY):
        value = data.get(name)
        if isinstance(value, str) and value.strip():
            values.append(value.strip())
        elif from_path is not None:
            values.append(from_path[n])
        else:
            raise ImportFormatError(
                f"{path}: no '{name}' field and not under <dataset>/<split>/<model>/ in {root}"
            )
    return values[0], values[1], values[2]


def _file_time(path: Path) -> tuple[int, str]:
    match = TIMESTAMP.search(path.name)
    return (int(match[1] + match[2]) if match else int(path.stat().st_mtime)), path.name


def result_files(root: Path) -> tuple[list[tuple[str, str, str, Path, dict]], list[str]]:
    """[(dataset, split, model, file, data)] with the latest non-demo file per triple, and notes."""
    if root.name.lower().endswith((".tar.gz", ".tgz", ".tar")):
        raise ImportFormatError(
            f"{root}: an archive; extract it first (tar xzf {root.name}) and import results/bench"
        )
    if root.is_file():
        paths, base = [root], root.parent
    elif root.is_dir():
        paths, base = sorted(root.rglob("*.json")), root
    else:
        raise ImportFormatError(f"{root}: no such file or folder")
    groups: dict[tuple[str, str, str], list[tuple[Path, dict]]] = {}
    notes = []
    for path in paths:
        data = _load(path)
        if data is None:
            notes.append(f"skipped {path.relative_to(base)}: not a result object (no 'records')")
            continue
        if data.get("demo") is True:
            notes.append(f"skipped demo result {path.relative_to(base)}")
            continue
        groups.setdefault(_identity(path, base, data), []).append((path, data))
    if not groups:
        records = sorted(str(p.relative_to(base)) for p in base.rglob("*.jsonl")) if root.is_dir() else []
        hint = (
            f"; Avengers-Pro record files below: give their folder ({', '.join(records[:3])})"
            if records
            else ""
        )
        raise ImportFormatError(
            f"{root}: no (non-demo) result files with 'records'; {'; '.join(notes)}{hint}"
        )
    chosen = []
    for (dataset, split, model), found in sorted(groups.items()):
        found.sort(key=lambda entry: _file_time(entry[0]))
        chosen.append((dataset, split, model, *found[-1]))
        notes += [f"superseded by {found[-1][0].name}: {p.relative_to(base)}" for p, _ in found[:-1]]
    return chosen, notes


def import_llmrouterbench(
    root: Path | str, store: ResultsStore, *, categories: Mapping[str, str] | None = None
) -> ImportSummary:
    root = Path(root)
    if is_avengerspro_source(root):
        return import_avengerspro(root, store, categories=categories)
    files, notes = result_files(root)
    writer = TableWriter(store, "llmrouterbench")
    writer.notes.extend(notes)
    nulls = 0
    for dataset, split, model, path, data in files:
        seen: set[str] = set()
        for n, record in enumerate(data["records"]):
            where = f"{path}: record {n}"
            if not isinstance(record, dict) or is_blank(record.get("index")) or "score" not in record:
                raise ImportFormatError(f"{where}: needs 'index' and 'score'")
            origin = text_field(record.get("origin_query"))
            query = origin if origin.strip() else text_field(record.get("prompt"))
            if not query.strip():
                raise ImportFormatError(f"{where}: no query (blank 'origin_query' and 'prompt')")
            item_id = f"{split}:{record['index']}"
            if item_id in seen:
                raise ImportFormatError(f"{where}: index {record['index']!r} appears twice in this file")
            seen.add(item_id)
            writer.item(dataset, item_id, query, where=where, category=category_of(dataset, categories))
            score, was_null = score_or_zero(record["score"], f"{where}: score")
            nulls += was_null
            writer.sample(
                dataset,
                item_id,
                model,
                score,
                raw=record["score"],
                cost=optional_cost(record.get("cost"), where),
                prompt_tokens=optional_count(record.get("prompt_tokens"), where, "prompt_tokens"),
                completion_tokens=optional_count(record.get("completion_tokens"), where, "completion_tokens"),
            )
    if nulls:
        writer.notes.append(f"{nulls} records with a null score (a failed evaluation) imported as 0")
    return writer.finish(where=str(root))
