"""GraphRouter's ``data/router_data.csv`` (also its Parquet twin from LLMRouterBench's adaptor).

One row per (task, query, LLM): ``task_id, query, query_embedding, ground_truth, metric, llm, effect,
cost`` (+ ``task_description[_embedding]``, and ``cost_usd``, ``record_index`` from LLMRouterBench).
``effect`` is the task metric's score in [0, 1] (exact match or F1, by task). ``cost`` is min-max
normalised within each task (construct_router_data.py), so it is never read as money; only
LLMRouterBench's ``cost_usd`` is. Items are keyed by their query text. The file carries no split:
GraphRouter cuts each task's rows in order, which is not recorded here.
"""

from __future__ import annotations

from pathlib import Path

from results.store import ResultsStore
from router.importers.common import ImportFormatError, ImportSummary
from router.importers.long import import_long
from router.importers.tables import table_rows


def import_graphrouter(
    path: Path | str, store: ResultsStore, *, threshold: float | None = None, batch_size: int = 5000
) -> ImportSummary:
    path = Path(path)
    first = next(iter(table_rows(path)), None)
    if first is None:
        raise ImportFormatError(f"{path}: no rows")
    where, row = first
    missing = [c for c in ("task_id", "query", "llm", "effect") if c not in row]
    if missing:
        raise ImportFormatError(f"{where}: not GraphRouter's router_data: no column {', '.join(missing)}")
    columns = {"task": "task_id", "model": "llm", "correct": "effect", "query": "query"}
    if "cost_usd" in row:
        columns["cost"] = "cost_usd"
    summary = import_long(
        path,
        store,
        columns=columns,
        threshold=threshold,
        batch_size=batch_size,
        source="GraphRouter",
        drop=("cost",),
    )
    if "cost_usd" not in row:
        summary.notes.append("cost is min-max normalised per task in GraphRouter's table: not imported")
    return summary
