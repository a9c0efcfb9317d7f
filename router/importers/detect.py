"""``--format auto``: the format of a table file or folder, told from its names and its first row's columns.

A format is chosen only when exactly one fits; otherwise the error names what was seen and the
candidates, and asks for ``--format``. Specific layouts (EmbedLLM, GraphRouter, MixInstruct,
Avengers-Pro records, LLMRouter rows, RouterBench) win over the generic long / wide readers that
would also accept them, since those would mis-read their ids, costs or scores.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

from router.importers.common import ImportFormatError, open_binary, table_suffix
from router.importers.routerdc import ROUTERDC_FILE
from router.importers.tables import TABLE_SUFFIXES, refuse_preference_table, table_rows

# Column sets that only one public layout has.
_SIGNATURES = (
    ("graphrouter", {"query_embedding", "effect", "llm"}),
    ("embedllm", {"prompt_id", "model_id", "label"}),
    ("llmrouterbench", {"query", "records", "usages"}),
    ("llmrouter", {"task_name", "query", "model_name", "performance"}),
    ("mixinstruct", {"id", "candidates"}),
    ("routerarena", {"global_index", "llm_selected", "evaluation_result"}),
)
_LONG = {
    "query": {"query", "prompt", "question", "instruction"},
    "model": {"model", "model_name", "llm", "model_id", "llm_name"},
    "correct": {"correct", "score", "performance", "label", "is_correct", "accuracy"},
}
_QUERY = {"prompt", "query", "question", "instruction"}
# What datasets.save_to_disk writes beside the .arrow shards.
_HF_METADATA = {"dataset_info.json", "state.json", "dataset_dict.json"}
# Formats whose importer takes a folder (long, wide and graphrouter read one file).
FOLDER_FORMATS = {
    "routerarena",
    "embedllm",
    "mixinstruct",
    "routereval",
    "llmrouter",
    "llmrouterbench",
    "routerdc",
    "routerbench",
}


def _columns(path: Path) -> list[str]:
    first = next(iter(table_rows(path)), None)
    if first is None:
        raise ImportFormatError(f"{path}: no rows")
    where, row = first
    refuse_preference_table(row, where)
    return [str(c) for c in row]


def _table_format(path: Path) -> str:
    if path.suffix.lower() == ".pkl":
        return "routereval" if path.stem.endswith("_router_dataset") else "routerbench"
    if table_suffix(path) == ".json" and _is_json_object(path):
        return "llmrouterbench"  # a result file: one JSON object, not a list of rows
    columns = _columns(path)
    names = {c.lower() for c in columns}
    if any("|model_response" in c or "|total_cost" in c for c in columns):
        return "routerbench"
    if {"question", "scores"} <= names and table_suffix(path) == ".json":
        raise ImportFormatError(f"{path}: a RouterDC task file: import its folder (--format routerdc)")
    specific = [fmt for fmt, needed in _SIGNATURES if needed <= names]
    if len(specific) == 1:
        return specific[0]
    if len(specific) > 1:
        raise ImportFormatError(f"{path}: columns fit several formats ({', '.join(specific)}); pass --format")
    if all(names & aliases for aliases in _LONG.values()):
        return "long"
    if names & _QUERY:
        return "wide"
    raise ImportFormatError(
        f"{path}: cannot tell the format from its columns ({', '.join(columns)}): no query/prompt/question "
        "column; pass --format and, for long or wide tables, --columns query=COLUMN,..."
    )


def _is_json_object(path: Path) -> bool:
    with open_binary(path) as fh:
        head = fh.read(4096).lstrip()
    if not head.startswith(b"{"):
        return False
    try:  # one object per line is JSON lines, not a result file
        json.loads(head.split(b"\n", 1)[0])
        return False
    except ValueError:
        return True


def _folder_format(folder: Path) -> str:
    files = [p for p in itertools.islice(folder.rglob("*"), 100_000) if p.is_file()]
    names = {p.name.lower() for p in files}
    found = set()
    if any(n.endswith("_router_dataset.pkl") for n in names):
        found.add("routereval")
    if names & {"question_order.csv", "model_order.csv", "question_order_ours.csv"}:
        found.add("embedllm")
    if any(n.startswith("default_routing_") for n in names):
        found.add("llmrouter")
    if any(ROUTERDC_FILE.match(p.name) and p.parent == folder for p in files):
        found.add("routerdc")
    if any(n.startswith("routerbench") and n.endswith((".pkl", ".csv", ".parquet")) for n in names):
        found.add("routerbench")
    if any(part in {"results", "bench"} for p in files for part in p.relative_to(folder).parts[:-1]):
        found.add("llmrouterbench")
    if len(found) == 1:
        return found.pop()
    tables = [
        p for p in files if p.suffix.lower() in (*TABLE_SUFFIXES, ".pkl") and p.name not in _HF_METADATA
    ]
    if not found and tables:
        formats = {_table_format(t) for t in tables[:20]}
        if len(formats) == 1 and formats <= FOLDER_FORMATS:
            return formats.pop()
        if len(tables) == 1:
            raise ImportFormatError(f"{folder}: holds one table, {tables[0].name}: pass that file")
    seen = ", ".join(sorted(found)) if found else f"{len(tables)} table files and no known layout"
    raise ImportFormatError(f"{folder}: cannot tell the format ({seen}); pass --format")


def detect_format(path: Path | str) -> str:
    path = Path(path)
    if path.is_dir():
        return _folder_format(path)
    if not path.is_file():
        raise ImportFormatError(f"{path}: no such file or folder")
    return _table_format(path)
