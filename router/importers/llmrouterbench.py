"""LLMRouterBench / Avengers-Pro result files (ynulihao/LLMRouterBench, ``results/bench``).

Layout ``<root>/<dataset>/<split>/<model>/<timestamp>.json``; each file is
``{"performance", "cost", ..., "records": [{"index", "origin_query", "prompt", "prediction",
"ground_truth", "score", "prompt_tokens", "completion_tokens", "cost", "raw_output"}]}``.
The task is the dataset folder, the item ``<split>:<index>``, the query ``origin_query`` (the
question alone; ``prompt`` when it is missing), the score is kept as given, the record's cost and
token counts are stored. When a model folder holds several timestamped files the latest (by name)
is imported and the others are listed in the summary's notes. No split is recorded: `route` uses a
hashed split.
"""

from __future__ import annotations

import json
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


def result_files(root: Path) -> tuple[list[tuple[str, str, str, Path]], list[str]]:
    """[(dataset, split, model, file)] and notes on superseded or misplaced files."""
    if not root.is_dir():
        raise ImportFormatError(f"{root}: not a folder of <dataset>/<split>/<model>/<timestamp>.json results")
    chosen, notes = [], []
    for path in sorted(root.rglob("*.json")):
        parts = path.relative_to(root).parts
        if len(parts) != 4:
            raise ImportFormatError(
                f"{path}: expected <dataset>/<split>/<model>/<timestamp>.json under {root}"
            )
    for model_dir in sorted({p.parent for p in root.rglob("*.json")}):
        files = sorted(model_dir.glob("*.json"))
        dataset, split, model = model_dir.relative_to(root).parts
        chosen.append((dataset, split, model, files[-1]))
        notes += [f"superseded by {files[-1].name}: {f.relative_to(root)}" for f in files[:-1]]
    if not chosen:
        raise ImportFormatError(f"{root}: no result files")
    return chosen, notes


def _optional_int(value, where: str, name: str) -> int | None:
    if is_blank(value):
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ImportFormatError(f"{where}: {name} is not a token count ({value!r})")
    return int(value)


def import_llmrouterbench(
    root: Path | str, store: ResultsStore, *, categories: Mapping[str, str] | None = None
) -> ImportSummary:
    root = Path(root)
    files, notes = result_files(root)
    writer = TableWriter(store, "llmrouterbench")
    writer.notes.extend(notes)
    for dataset, split, model, path in files:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ImportFormatError(f"{path}: cannot read JSON ({exc})") from exc
        records = data.get("records") if isinstance(data, dict) else None
        if not isinstance(records, list):
            raise ImportFormatError(f"{path}: expected an object with a 'records' list")
        for n, record in enumerate(records):
            where = f"{path}: record {n}"
            if not isinstance(record, dict) or "index" not in record or "score" not in record:
                raise ImportFormatError(f"{where}: needs 'index' and 'score'")
            query = record.get("origin_query") or record.get("prompt")
            if not isinstance(query, str) or not query.strip():
                raise ImportFormatError(f"{where}: needs a string 'origin_query' (or 'prompt')")
            item_id = f"{split}:{record['index']}"
            writer.item(dataset, item_id, query, where=where, category=category_of(dataset, categories))
            cost = record.get("cost")
            if not is_blank(cost) and (not isinstance(cost, int | float) or cost < 0):
                raise ImportFormatError(f"{where}: cost is not a non-negative number ({cost!r})")
            writer.sample(
                dataset,
                item_id,
                model,
                checked_score(record["score"], f"{where}: score"),
                extracted=None,
                cost=None if is_blank(cost) else float(cost),
                prompt_tokens=_optional_int(record.get("prompt_tokens"), where, "prompt_tokens"),
                completion_tokens=_optional_int(record.get("completion_tokens"), where, "completion_tokens"),
            )
    return writer.finish(where=str(root))
