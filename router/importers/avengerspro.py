"""Avengers-Pro routing records (ZhangYiqun018/AvengersPro README; LLMRouterBench's
``baselines/adaptors/avengerspro_adaptor.py`` writes them as ``<out>/seed<S>_split<R>/{train,test}.jsonl``).

One JSON object per line: ``{"query": str, "records": {model: score | bool | null}, "usages": {model:
{"cost", "prompt_tokens", "completion_tokens"}}, "dataset": str, "index": int}``; ``usages``, ``dataset``
(default ``default``) and ``index`` are optional. As the Avengers-Pro loader does, a null score counts as
0 and a boolean as 1/0 (nulls counted in the notes). A file named ``*train*.jsonl`` / ``*test*.jsonl``
gives the split (train = calibration); a folder imports every ``.jsonl`` in it and lists other files
in the notes. The task is ``dataset``, the item ``index``; the same (dataset, index) with another
query gets ``#2``, ``#3``... appended (counted in the notes).
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
    is_blank,
    json_line_rows,
    optional_cost,
    optional_count,
    part_of,
    score_or_zero,
    split_in_name,
)


def _first_line_is_record(path: Path) -> bool:
    """A ``.json`` file holding Avengers-Pro JSON lines (its README's ``--input data/dataset.json``)."""
    try:
        with path.open(encoding="utf-8") as fh:
            line = next((text for text in fh if text.strip()), "")
        record = json.loads(line)
    except (OSError, ValueError, UnicodeDecodeError):
        return False
    return isinstance(record, dict) and "query" in record and isinstance(record.get("records"), dict)


def is_avengerspro_source(path: Path) -> bool:
    if path.is_file():
        return path.suffix.lower() == ".jsonl" or (
            path.suffix.lower() == ".json" and _first_line_is_record(path)
        )
    return path.is_dir() and any(p.suffix.lower() == ".jsonl" for p in path.iterdir() if p.is_file())


def _usage(usages, model: str, where: str) -> dict:
    usage = usages.get(model) if isinstance(usages, dict) else None
    if usage is None:
        return {}
    if not isinstance(usage, dict):
        raise ImportFormatError(f"{where}: usages[{model!r}] is not an object")
    return {
        "cost": optional_cost(usage.get("cost"), f"{where}: usages[{model!r}]"),
        "prompt_tokens": optional_count(usage.get("prompt_tokens"), where, "prompt_tokens"),
        "completion_tokens": optional_count(usage.get("completion_tokens"), where, "completion_tokens"),
    }


def import_avengerspro(
    path: Path, store: ResultsStore, *, categories: Mapping[str, str] | None = None
) -> ImportSummary:
    writer = TableWriter(store, "avengers-pro records")
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() == ".jsonl")
        others = sorted(p.name for p in path.iterdir() if p.is_file() and p not in files)
        if others:
            writer.notes.append(f"not imported (not .jsonl records): {', '.join(others)}")
    else:
        files = [path]
    parts = {f: split_in_name(f.stem) for f in files}
    seen: dict[tuple[str, str], dict[str, str]] = {}
    renamed = nulls = 0
    for file in files:
        for where, record in json_line_rows(file):
            query = record.get("query")
            if not isinstance(query, str) or not query.strip():
                raise ImportFormatError(f"{where}: no query (needs a non-empty string 'query')")
            scores = record.get("records")
            if not isinstance(scores, dict) or not scores:
                raise ImportFormatError(f"{where}: needs a non-empty 'records' object {{model: score}}")
            task = str(record.get("dataset") or "default")
            index = str(record["index"]) if not is_blank(record.get("index")) else where.rsplit(" ", 1)[1]
            versions = seen.setdefault((task, index), {})
            item_id = versions.get(query)
            if item_id is None:
                item_id = index + ("" if not versions else f"#{len(versions) + 1}")
                renamed += bool(versions)
                versions[query] = item_id
            part = parts[file]
            writer.item(
                task,
                item_id,
                query,
                where=where,
                part=part_of(part),
                category=category_of(task, categories),
            )
            for model, raw in scores.items():
                score, was_null = score_or_zero(raw, f"{where}: records[{model!r}]")
                nulls += was_null
                writer.sample(
                    task, item_id, str(model), score, raw=raw, **_usage(record.get("usages"), model, where)
                )
    if renamed:
        writer.notes.append(
            f"{renamed} records reuse a (dataset, index) with another query: suffixed #2, #3..."
        )
    if nulls:
        writer.notes.append(f"{nulls} null scores (failed or missing results) imported as 0")
    return writer.finish(where=str(path))
