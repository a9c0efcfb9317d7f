"""LLMRouter routing data (ulab-uiuc/LLMRouter ``data/example_data/routing_data``, described in its
``llmrouter/data/README.md``): ``default_routing_{train,test}_data.jsonl`` (or the ``.csv`` LLMRouter's
loader writes next to it), one row per (query, model).

Fields used: ``task_name`` (the task), ``query``, ``model_name``, ``performance`` (score in [0, 1], kept
as it is), ``input_tokens`` / ``output_tokens`` (older files: ``prompt_tokens`` / ``completion_tokens``),
``embedding_id`` (one id per unique query, shared across models: the item) and an optional ``cost``.
Other fields (``ground_truth``, ``metric``, ``choices``, ``response``, ...) are not imported. Costs come
from ``cost`` or, when an LLM candidates file (``llm_candidates/default_llm.json``: ``{model:
{"input_price", "output_price"}}`` in USD per million tokens) sits next to the routing data, from the
tokens. The file name's ``train`` / ``test`` gives the split; items are ``<split>-<embedding_id>``. A
(query, model) pair seen twice is stored as a second sample (counted in the notes).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from results.store import ResultsStore
from router.importers.common import (
    ImportFormatError,
    ImportSummary,
    TableWriter,
    category_of,
    checked_score,
    is_blank,
    optional_cost,
    optional_count,
    part_of,
    split_in_name,
)
from router.importers.tables import table_rows

ROW_SUFFIXES = {".jsonl", ".csv", ".parquet"}  # .parquet: a Hub export of the same rows


def routing_files(path: Path) -> tuple[list[Path], list[str]]:
    """Routing tables of a file or folder (``.jsonl`` preferred over a same-named ``.csv``), and notes."""
    if path.is_file():
        return [path], []
    folder = path / "routing_data" if (path / "routing_data").is_dir() else path
    tables = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in ROW_SUFFIXES)
    jsonl_stems = {p.stem for p in tables if p.suffix.lower() == ".jsonl"}
    copies = [p for p in tables if p.suffix.lower() != ".jsonl" and p.stem in jsonl_stems]
    notes = [f"skipped {p.name}: a {p.suffix[1:].upper()} copy of {p.stem}.jsonl" for p in copies]
    others = sorted(p.name for p in folder.iterdir() if p.is_file() and p.suffix.lower() not in ROW_SUFFIXES)
    if others:
        notes.append(f"not imported (not routing tables): {', '.join(others)}")
    return [p for p in tables if p not in copies], notes


def llm_prices(path: Path) -> tuple[dict[str, tuple[float, float]], str | None]:
    """{model: (input, output) USD per million tokens} from an LLM candidates file near ``path``."""
    base = path.parent if path.is_file() else path
    for folder in (base / "llm_candidates", base.parent / "llm_candidates"):
        for file in sorted(folder.glob("*.json")) if folder.is_dir() else []:
            try:
                data = json.loads(file.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise ImportFormatError(f"{file}: cannot read JSON ({exc})") from exc
            if isinstance(data, dict) and data and all(isinstance(v, dict) for v in data.values()):
                prices = {
                    m: (float(v["input_price"]), float(v["output_price"]))
                    for m, v in data.items()
                    if isinstance(v.get("input_price"), int | float)
                    and isinstance(v.get("output_price"), int | float)
                }
                if prices:
                    return prices, str(file)
    return {}, None


def _rows(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    return table_rows(path)


def _number(value, where: str, name: str):
    """CSV cells are text: numbers parsed, blanks None."""
    if isinstance(value, str) and not is_blank(value):
        try:
            return float(value)
        except ValueError:
            raise ImportFormatError(f"{where}: {name} {value!r} is not a number") from None
    return None if is_blank(value) else value


def _text(row: dict, name: str, where: str) -> str:
    value = row.get(name)
    if not isinstance(value, str) or not value.strip():
        raise ImportFormatError(f"{where}: needs a non-empty string '{name}'")
    return value


def _usage(row: dict, where: str, price: tuple[float, float] | None):
    """(input tokens, output tokens, cost): ``cost`` as given, else priced tokens, else None."""
    tokens = [
        optional_count(_number(row.get(name, row.get(old)), where, name), where, name)
        for name, old in (("input_tokens", "prompt_tokens"), ("output_tokens", "completion_tokens"))
    ]
    cost = optional_cost(_number(row.get("cost"), where, "cost"), where)
    if cost is None and price is not None and None not in tokens:
        cost = (price[0] * tokens[0] + price[1] * tokens[1]) / 1e6
    return tokens[0], tokens[1], cost


def import_llmrouter_rows(
    path: Path, store: ResultsStore, *, task: str = "llmrouter", categories: Mapping[str, str] | None = None
) -> ImportSummary:
    files, notes = routing_files(path)
    if not files:
        raise ImportFormatError(f"{path}: no LLMRouter routing tables (.jsonl/.csv)")
    prices, prices_file = llm_prices(path)
    writer = TableWriter(store, "llmrouter")
    writer.notes.extend(notes)
    if prices_file:
        writer.notes.append(f"costs from token counts and the prices in {prices_file}")
    ids: dict[tuple[str, str], str] = {}  # (task, query) -> item id when rows carry no embedding_id
    counts: Counter[tuple[str, str, str]] = Counter()
    for file in files:
        part = split_in_name(file.stem)
        for where, row in _rows(file):
            query, model = _text(row, "query", where), _text(row, "model_name", where)
            label = (
                row.get("task_name") if isinstance(row.get("task_name"), str) and row["task_name"] else task
            )
            performance = _number(row.get("performance"), where, "performance")
            if performance is None:
                raise ImportFormatError(f"{where}: no 'performance' score")
            embedding = _number(row.get("embedding_id"), where, "embedding_id")
            key = (
                str(int(embedding))
                if embedding is not None
                else ids.setdefault((label, query), str(len(ids)))
            )
            item_id = key if part is None else f"{part}-{key}"
            writer.item(
                label,
                item_id,
                query,
                where=where,
                part=part_of(part),
                category=category_of(label, categories),
            )
            tokens_in, tokens_out, cost = _usage(row, where, prices.get(model))
            index = counts[(label, item_id, model)]
            counts[(label, item_id, model)] += 1
            writer.sample(
                label,
                item_id,
                model,
                checked_score(performance, f"{where}: performance"),
                index=index,
                cost=cost,
                prompt_tokens=tokens_in,
                completion_tokens=tokens_out,
            )
    repeats = sum(n - 1 for n in counts.values() if n > 1)
    if repeats:
        writer.notes.append(f"{repeats} repeated (query, model) rows stored as further samples")
    return writer.finish(where=str(path))
