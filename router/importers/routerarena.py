"""RouterArena's per-model results: ``cached_results/<model>.jsonl``, one line per query.

Fields: ``global_index`` (``<dataset>_<n>``, e.g. ``AIME_112``), ``question``, ``llm_selected``,
``generated_answer``, ``token_usage`` {input_tokens, output_tokens}, ``success``, ``error`` and
``evaluation_result`` {extracted_answer, ground_truth, score, metric, inference_cost (USD)}. The score
is kept as it is (some metrics give fractions); the task is the index's dataset prefix. A line without
an evaluation (a failed call) is neither right nor wrong: it is skipped and counted in the notes.
"""

from __future__ import annotations

from pathlib import Path

from results.store import ResultsStore
from router.importers.common import (
    ImportFormatError,
    ImportSummary,
    TableWriter,
    category_of,
    graded_score,
    is_blank,
    json_line_rows,
    optional_cost,
    optional_count,
)

REQUIRED = ("global_index", "question", "llm_selected", "evaluation_result")


def _files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    files = sorted(path.glob("*.jsonl")) if path.is_dir() else []
    if not files:
        raise ImportFormatError(f"{path}: no RouterArena <model>.jsonl file here")
    return files


def task_of(global_index: str) -> str:
    head, sep, tail = global_index.rpartition("_")
    return head if sep and head and tail.isdigit() else "routerarena"


def import_routerarena(path: Path | str, store: ResultsStore, *, batch_size: int = 5000) -> ImportSummary:
    path = Path(path)
    writer = TableWriter(store, "RouterArena", batch_size=batch_size)
    unevaluated = 0
    for file in _files(path):
        for where, row in json_line_rows(file):
            missing = [f for f in REQUIRED if f not in row]
            if missing:
                raise ImportFormatError(f"{where}: not a RouterArena result line: no {', '.join(missing)}")
            item_id, query, model = row["global_index"], row["question"], row["llm_selected"]
            if not isinstance(query, str) or not query.strip() or is_blank(item_id) or is_blank(model):
                raise ImportFormatError(f"{where}: empty global_index, question or llm_selected")
            item_id, model = str(item_id), str(model)
            task = task_of(item_id)
            writer.item(task, item_id, query, where=where, category=category_of(task))
            result = row["evaluation_result"]
            if not isinstance(result, dict) or is_blank(result.get("score")):
                unevaluated += 1
                continue
            usage = row.get("token_usage") or {}
            writer.sample(
                task,
                item_id,
                model,
                graded_score(result["score"], f"{where}: evaluation_result.score"),
                raw=result["score"],
                extracted=None
                if is_blank(result.get("extracted_answer"))
                else str(result["extracted_answer"]),
                cost=optional_cost(result.get("inference_cost"), where),
                prompt_tokens=optional_count(usage.get("input_tokens"), where, "input_tokens"),
                completion_tokens=optional_count(usage.get("output_tokens"), where, "output_tokens"),
                where=where,
            )
    if unevaluated:
        writer.notes.append(f"{unevaluated} lines without an evaluation score (failed calls) skipped")
    return writer.finish(where=str(path))
