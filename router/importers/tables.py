"""Row readers for generic tables: CSV/TSV, JSON lines, a JSON list, Parquet and Arrow (HF ``datasets``).

Every reader yields ``(where, row)`` with ``where`` naming the file and line/row, streams (Parquet by
record batch, Arrow by batch, text by line) so a million-row table is never held whole, and turns
every read failure into an ImportFormatError naming the file.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from router.importers.common import ImportFormatError, csv_rows, json_line_rows, open_binary, table_suffix

TABLE_SUFFIXES = (".csv", ".tsv", ".jsonl", ".json", ".parquet", ".arrow", ".feather")
_BATCH_ROWS = 4096


def _json_list_rows(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    try:
        with open_binary(path) as fh:
            rows = json.loads(fh.read().decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ImportFormatError(f"{path}: not UTF-8 text (byte {exc.start})") from exc
    except ValueError as exc:
        raise ImportFormatError(f"{path}: not JSON ({exc})") from exc
    if not isinstance(rows, list):
        raise ImportFormatError(f"{path}: expected a JSON list of row objects (or JSON lines)")
    for n, row in enumerate(rows):
        if not isinstance(row, dict):
            raise ImportFormatError(f"{path}: entry {n}: expected a JSON object")
        yield f"{path}: entry {n}", row


def _json_rows(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    if table_suffix(path) == ".json":
        with open_binary(path) as fh:
            is_list = fh.read(4096).lstrip().startswith(b"[")
        if is_list:
            yield from _json_list_rows(path)
            return
    yield from json_line_rows(path)


def _batch_rows(path: Path, batches: Iterable[Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    row_number = 0
    for batch in batches:
        for row in batch.to_pylist():
            yield f"{path}: row {row_number}", row
            row_number += 1


def _parquet_rows(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        batches = pq.ParquetFile(path).iter_batches(batch_size=_BATCH_ROWS)
        yield from _batch_rows(path, batches)
    except (pa.ArrowException, OSError) as exc:
        raise ImportFormatError(f"{path}: cannot read as Parquet ({exc})") from exc


def _arrow_rows(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """Arrow IPC: the file format (Feather v2) or the stream format ``datasets`` saves as ``*.arrow``."""
    import pyarrow as pa
    import pyarrow.ipc as ipc

    try:
        with pa.memory_map(str(path)) as source:
            try:
                reader = ipc.open_file(source)
                batches: Iterable[Any] = (reader.get_batch(i) for i in range(reader.num_record_batches))
            except pa.ArrowInvalid:
                source.seek(0)
                batches = ipc.open_stream(source)
            yield from _batch_rows(path, batches)
    except (pa.ArrowException, OSError) as exc:
        raise ImportFormatError(f"{path}: cannot read as Arrow IPC ({exc})") from exc


def table_rows(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """(location, raw row) pairs of one table file, chosen by its suffix (text tables may be gzipped)."""
    suffix = table_suffix(path)
    if suffix not in TABLE_SUFFIXES:
        raise ImportFormatError(
            f"{path}: a table must be one of {', '.join(TABLE_SUFFIXES)} (text ones also .gz)"
        )
    if path.suffix.lower() == ".gz" and suffix in (".parquet", ".arrow", ".feather"):
        raise ImportFormatError(f"{path}: gunzip it first: Parquet and Arrow files are read in place")
    if not path.is_file():
        raise ImportFormatError(f"{path}: no such file")
    if suffix in (".csv", ".tsv"):
        return csv_rows(path, delimiter="\t" if suffix == ".tsv" else ",")
    if suffix == ".parquet":
        return _parquet_rows(path)
    if suffix in (".arrow", ".feather"):
        return _arrow_rows(path)
    return _json_rows(path)


# Pairwise preference tables (RouteLLM's arena / judge battles, Chatbot Arena, MT-Bench human
# judgements): they say which of two answers won, never whether one model was right on its own.
_BATTLE_SIDES = ({"model_a", "model_b"}, {"model_1", "model_2"})
_BATTLE_OUTCOMES = {"winner", "winner_model_a", "winner_model_b", "winner_tie", "preference", "label"}


def refuse_preference_table(columns: Iterable[str], where: str) -> None:
    names = {str(c).lower() for c in columns}
    if any(side <= names for side in _BATTLE_SIDES) and names & _BATTLE_OUTCOMES:
        raise ImportFormatError(
            f"{where}: this is a pairwise preference table (model_a/model_b with a winner, as in RouteLLM's "
            "arena or judge battles): it says which answer was preferred, not whether a model was correct, "
            "so it is not imported as correctness"
        )


class ColumnNames:
    """Renames a table's columns to a format's names and checks, on the first row, that the required ones
    are there. A name is found as itself, as ``--columns NAME=COLUMN`` says, or as the one alias the
    table has (two aliases present is an error: the table must say which)."""

    def __init__(
        self,
        required: Iterable[str],
        mapping: Mapping[str, str],
        path: Path,
        *,
        aliases: Mapping[str, tuple[str, ...]] | None = None,
    ):
        self.required = tuple(required)
        self.mapping = dict(mapping)
        self.aliases = dict(aliases or {})
        self.path = path
        self.notes: list[str] = []
        self._checked = False

    def _check(self, columns: list[str], where: str) -> None:
        refuse_preference_table(columns, where)
        absent = [f"{name}={source}" for name, source in self.mapping.items() if source not in columns]
        if absent:
            raise ImportFormatError(
                f"{where}: --columns names columns the table does not have ({', '.join(absent)}); "
                f"its columns: {', '.join(columns)}"
            )
        for name, names in self.aliases.items():
            if name in self.mapping or name in columns:
                continue
            found = [c for c in columns if c.lower() in names and c not in self.mapping.values()]
            if len(found) > 1:
                raise ImportFormatError(
                    f"{where}: columns {', '.join(found)} could each be {name!r}; say which with "
                    f"--columns {name}=COLUMN"
                )
            if found:
                self.mapping[name] = found[0]
                self.notes.append(f"column {found[0]!r} read as {name!r}")
        present = set(columns) | set(self.mapping)
        missing = [name for name in self.required if name not in present]
        if missing:
            raise ImportFormatError(
                f"{where}: no column {', '.join(missing)} (needed: {', '.join(self.required)}); the table "
                f"has {', '.join(columns)}; map yours with --columns NAME=COLUMN,..."
            )
        self.present = present
        self._checked = True

    def apply(self, row: dict[str, Any], where: str) -> dict[str, Any]:
        if not self._checked:
            self._check([str(c) for c in row], where)
        if not self.mapping:
            return row
        renamed = dict(row)
        for name, source in self.mapping.items():
            renamed[name] = row.get(source)
        return renamed


def parse_column_map(text: str) -> dict[str, str]:
    """``"query=prompt,correct=label"`` -> ``{"query": "prompt", "correct": "label"}``."""
    mapping: dict[str, str] = {}
    for entry in filter(None, (part.strip() for part in text.split(","))):
        name, sep, source = entry.partition("=")
        if not sep or not name.strip() or not source.strip():
            raise ImportFormatError(f"--columns expects NAME=COLUMN[,NAME=COLUMN...], got {entry!r}")
        mapping[name.strip()] = source.strip()
    return mapping
