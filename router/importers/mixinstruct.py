"""MixInstruct (LLM-Blender; HF ``llm-blender/mix-instruct``): one record per instruction with
``id``, ``instruction``, ``input``, ``output`` and ``candidates`` = [{model, decoding_method, text,
scores: {bleu, rougeL, bertscore, bartscore, ...}}], as JSON list, JSON lines or a Parquet export.

Its scores are similarities to a reference answer, not correctness, so the metric and the threshold
that makes a candidate count as right are both required (``--metric bertscore --threshold 0.7``).
The query is ``instruction + input`` as LLM-Blender's ranker builds it; the task is the id's source
prefix (``unified_chip2/69962`` -> ``unified_chip2``); train/val files calibrate, test files test.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from results.store import ResultsStore
from router.importers.common import (
    ImportFormatError,
    ImportSummary,
    TableWriter,
    category_of,
    graded_score,
    is_blank,
    table_stem,
    table_suffix,
)
from router.importers.tables import TABLE_SUFFIXES, table_rows

_PARTS = {"train": "calibration", "val": "calibration", "dev": "calibration", "test": "test"}


def _part(path: Path) -> str | None:
    words = table_stem(path).lower().replace("-", "_").split("_")
    return next((_PARTS[w] for w in words if w in _PARTS), None)


def _files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    files = sorted(p for p in path.glob("*") if table_suffix(p) in TABLE_SUFFIXES) if path.is_dir() else []
    if not files:
        raise ImportFormatError(f"{path}: no MixInstruct file (.json/.jsonl/.parquet) here")
    return files


def _text(value: Any) -> str:
    return "" if is_blank(value) else str(value)


def import_mixinstruct(
    path: Path | str,
    store: ResultsStore,
    *,
    metric: str | None,
    threshold: float | None,
    batch_size: int = 5000,
) -> ImportSummary:
    path = Path(path)
    if not metric or threshold is None:
        raise ImportFormatError(
            f"{path}: MixInstruct scores are similarities to a reference, not correctness: pass --metric "
            "NAME (bleu, rougeL, bertscore, bartscore, ...) and --threshold T (a score >= T counts as right)"
        )
    files = _files(path)
    parts = {f: _part(f) for f in files}
    if len({p is None for p in parts.values()}) > 1:
        unnamed = next(f for f, p in parts.items() if p is None)
        raise ImportFormatError(f"{unnamed}: its name says no split (train/val/test) but another file's does")
    writer = TableWriter(store, f"MixInstruct ({metric} >= {threshold})", batch_size=batch_size)
    for file in files:
        for where, row in table_rows(file):
            candidates = row.get("candidates")
            if "id" not in row or not isinstance(candidates, list):
                raise ImportFormatError(f"{where}: not a MixInstruct record (needs id and a candidates list)")
            item_id = _text(row["id"])
            query = _text(row.get("instruction")) + _text(row.get("input"))
            if not item_id or not query.strip():
                raise ImportFormatError(f"{where}: empty id or empty instruction + input")
            task = item_id.split("/")[0] if "/" in item_id else "mixinstruct"
            writer.item(task, item_id, query, where=where, part=parts[file], category=category_of(task))
            seen: dict[str, int] = {}
            for n, candidate in enumerate(candidates):
                here = f"{where}: candidates[{n}]"
                if not isinstance(candidate, dict) or is_blank(candidate.get("model")):
                    raise ImportFormatError(f"{here}: a candidate needs a model")
                scores = candidate.get("scores") or {}
                if metric not in scores:
                    raise ImportFormatError(
                        f"{here}: no score {metric!r} (it has {', '.join(sorted(scores))})"
                    )
                if is_blank(scores[metric]):
                    continue
                model = str(candidate["model"])
                index = seen.get(model, 0)  # several decoding methods of one model: its samples
                seen[model] = index + 1
                writer.sample(
                    task,
                    item_id,
                    model,
                    graded_score(scores[metric], f"{here}: {metric}", threshold),
                    raw=scores[metric],
                    index=index,
                    where=where,
                )
    return writer.finish(where=str(path))
