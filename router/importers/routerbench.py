"""RouterBench (withmartian/routerbench): wide tables, one row per prompt.

Columns: ``sample_id``, ``prompt`` (a stringified Python list of turns, e.g. ``"['Question ...']"``),
``eval_name`` (the task), and per model ``<model>`` (its score, blank when the model has no result),
``<model>|total_cost`` (USD) and ``<model>|model_response``. A model is a column with a
``|model_response`` or ``|total_cost`` sibling (as RouterBench's own ``get_models_to_route`` reads it);
a table without such siblings takes every other column as a model. ``oracle_model_to_route_to``,
``source``, ``embedding``, ``cluster_id`` and a saved pandas index (``Unnamed: 0``) are not imported
and named in the notes; any other column is an error. Read from the released ``.pkl`` (a pandas
DataFrame; the long ``routerbench_raw.pkl``, one row per model with ``model_name`` / ``performance`` /
``cost``, is pivoted to this layout), or ``.csv`` / ``.parquet`` / ``.jsonl``; or a folder of such
tables named ``<name>_train.<ext>`` / ``<name>_test.<ext>`` (RouterDC's ``datasets/routerbench_zs``),
which gives the split.

Sample ids are reused across rows (the same id under several tasks, and within a task for
different prompts): items are keyed by (eval_name, sample_id), and a repeated key with a different
prompt gets ``#2``, ``#3``... appended. Blank score cells are no sample, a row with no score at all is
no item, blank cost cells no cost; each is counted in the notes. Scores stay as they are.
"""

from __future__ import annotations

import ast
import contextlib
import re
from collections import Counter
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
    part_of,
)

REQUIRED = ("sample_id", "prompt", "eval_name")
NOT_IMPORTED = {"oracle_model_to_route_to", "source", "embedding", "cluster_id", "idx", "index"}
SUFFIXES = ("|model_response", "|total_cost")
COST_SUFFIX = "|total_cost"
TABLE_SUFFIXES = {".pkl", ".csv", ".parquet", ".jsonl", ".json"}
SPLIT_NAME = re.compile(r"[_-](?P<part>train|test)$", re.IGNORECASE)


def read_frame(path: Path):
    import pandas as pd

    suffix = path.suffix.lower()
    try:
        if suffix == ".pkl":
            return pd.read_pickle(path)  # the official release format; only open files you trust
        if suffix == ".csv":
            return pd.read_csv(path, keep_default_na=True)
        if suffix == ".parquet":
            return pd.read_parquet(path)
        if suffix in {".jsonl", ".json"}:
            return pd.read_json(path, lines=suffix == ".jsonl")
    except (OSError, ValueError, EOFError) as exc:
        raise ImportFormatError(f"{path}: cannot read ({exc})") from exc
    raise ImportFormatError(f"{path}: RouterBench tables must be .pkl, .csv, .parquet or .jsonl")


def prompt_text(value, where: str) -> str:
    """The prompt's turns joined by blank lines; a plain string is used as it is."""
    if is_blank(value):
        raise ImportFormatError(f"{where}: no query (blank prompt)")
    if isinstance(value, list | tuple):
        turns = value
    elif isinstance(value, str):
        text = value.strip()
        turns = [value]
        if text.startswith("[") and text.endswith("]"):
            with contextlib.suppress(ValueError, SyntaxError):
                turns = ast.literal_eval(text)
    else:
        raise ImportFormatError(f"{where}: prompt is not text ({value!r})")
    turns = [str(t) for t in (turns if isinstance(turns, list | tuple) else [turns]) if str(t).strip()]
    if not turns:
        raise ImportFormatError(f"{where}: no query (empty prompt)")
    return "\n\n".join(turns)


def is_index_column(name: str) -> bool:
    return name == "" or name.startswith("Unnamed: ")


def model_columns(columns) -> tuple[list[str], list[str]]:
    """(model names, columns not imported); unknown columns are an error."""
    names = [str(c) for c in columns]
    bare = [c for c in names if "|" not in c and c not in REQUIRED]
    sibling_of = {c.rsplit("|", 1)[0] for c in names if c.endswith(SUFFIXES)}
    skipped = [c for c in bare if c in NOT_IMPORTED or is_index_column(c)]
    candidates = [c for c in bare if c not in skipped]
    models = [c for c in candidates if c in sibling_of] if sibling_of else candidates
    unknown = [c for c in candidates if c not in models]
    if unknown:
        raise ImportFormatError(
            f"unknown column(s) {', '.join(map(repr, unknown))}: neither a RouterBench column nor a model "
            f"(a model column has a '<model>|model_response' or '<model>|total_cost' sibling)"
        )
    orphans = sorted(m for m in sibling_of if m not in models)
    if orphans:
        raise ImportFormatError(f"response/cost columns without a score column: {', '.join(orphans)}")
    skipped += [c for c in names if "|" in c and not c.endswith(SUFFIXES)]
    return models, skipped


def table_files(path: Path) -> list[tuple[Path, str | None]]:
    """[(table, "train" | "test" | None)]: the file itself, or a folder's tables with their split."""
    if not path.is_dir():
        return [(path, None)]
    files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in TABLE_SUFFIXES)
    if not files:
        raise ImportFormatError(f"{path}: no RouterBench tables (.pkl, .csv, .parquet, .jsonl) in the folder")
    out = []
    for file in files:
        match = SPLIT_NAME.search(file.stem)
        out.append((file, match["part"].lower() if match else None))
    return out


def widen(frame, path: Path):
    """RouterBench's long layout (``routerbench_raw.pkl``: one row per sample and model, columns
    ``model_name``, ``performance``, optional ``cost``) as its wide table; a repeated pair is an error."""
    absent = [c for c in REQUIRED if c not in frame.columns]
    if absent:
        raise ImportFormatError(f"{path}: missing column(s) {', '.join(absent)}")
    keys = [*REQUIRED, "model_name"]
    blank = frame[keys].isna().any(axis=1)
    if blank.any():
        n = int(blank.to_numpy().nonzero()[0][0])
        raise ImportFormatError(
            f"{path}: row {n}: blank {', '.join(c for c in keys if is_blank(frame[c].iloc[n]))}"
        )
    repeated = frame.duplicated(subset=keys)
    if repeated.any():
        n = int(repeated.to_numpy().nonzero()[0][0])
        raise ImportFormatError(f"{path}: row {n}: (sample_id, prompt, eval_name, model_name) repeated")
    frame = frame.assign(
        prompt=frame["prompt"].map(lambda p: repr(list(p)) if isinstance(p, list | tuple) else p)
    )
    values = ["performance"] + (["cost"] if "cost" in frame.columns else [])
    wide = frame.pivot(index=list(REQUIRED), columns="model_name", values=values)
    wide.columns = [m if v == "performance" else f"{m}{COST_SUFFIX}" for v, m in wide.columns]
    return wide.reset_index()


class _Reader:
    """One import: item ids shared across files, counts of what was not imported."""

    def __init__(self, writer: TableWriter, categories: Mapping[str, str] | None):
        self.writer = writer
        self.categories = categories
        self.seen: dict[tuple[str, str], dict[str, str]] = {}  # (task, sample_id) -> prompt -> item id
        self.renamed = 0
        self.blank_cells: Counter[str] = Counter()
        self.empty_rows: list[str] = []

    def read(self, path: Path, part: str | None) -> None:
        frame = read_frame(path)
        if {"model_name", "performance"} <= {str(c) for c in frame.columns}:
            frame = widen(frame, path)
            self.writer.notes.append(f"{path.name}: long rows (model_name, performance) read as a wide table")
        absent = [c for c in REQUIRED if c not in {str(c) for c in frame.columns}]
        if absent:
            raise ImportFormatError(f"{path}: missing column(s) {', '.join(absent)}")
        try:
            models, skipped = model_columns(frame.columns)
        except ImportFormatError as exc:
            raise ImportFormatError(f"{path}: {exc}") from None
        if not models:
            raise ImportFormatError(f"{path}: no model score columns")
        unscored = [m for m in models if frame[m].isna().all()]
        if unscored:
            raise ImportFormatError(f"{path}: model column(s) with no scores at all: {', '.join(unscored)}")
        if skipped:
            self.writer.notes.append(f"{path.name}: columns not imported: {', '.join(skipped)}")
        frame.columns = [str(c) for c in frame.columns]
        for n, row in enumerate(frame.to_dict(orient="records")):
            self.row(row, models, f"{path}: row {n} (sample_id {row.get('sample_id')!r})", part)

    def row(self, row: dict, models: list[str], where: str, part: str | None) -> None:
        task = "" if is_blank(row["eval_name"]) else str(row["eval_name"]).strip()
        if not task:
            raise ImportFormatError(f"{where}: blank eval_name")
        if is_blank(row["sample_id"]):
            raise ImportFormatError(f"{where}: blank sample_id")
        query = prompt_text(row["prompt"], where)
        scored = [m for m in models if not is_blank(row.get(m))]
        self.blank_cells.update(m for m in models if m not in scored)
        if not scored:
            self.empty_rows.append(where)
            return
        versions = self.seen.setdefault((task, str(row["sample_id"])), {})
        item_id = versions.get(query)
        if item_id is None:
            item_id = str(row["sample_id"]) + ("" if not versions else f"#{len(versions) + 1}")
            self.renamed += bool(versions)
            versions[query] = item_id
        self.writer.item(
            task,
            item_id,
            query,
            where=where,
            part=part_of(part),
            category=category_of(task, self.categories),
        )
        for model in scored:
            self.writer.sample(
                task,
                item_id,
                model,
                checked_score(row[model], f"{where}: {model}"),
                cost=self.cost(row.get(model + COST_SUFFIX), f"{where}: {model}{COST_SUFFIX}"),
            )

    @staticmethod
    def cost(value, where: str) -> float | None:
        if is_blank(value):
            return None
        try:
            cost = float(value)
        except (TypeError, ValueError):
            raise ImportFormatError(f"{where}: cost {value!r} is not a number") from None
        if not cost >= 0:
            raise ImportFormatError(f"{where}: cost is not a non-negative number ({value!r})")
        return cost

    def finish_notes(self) -> None:
        notes = self.writer.notes
        if self.renamed:
            notes.append(
                f"{self.renamed} rows reuse a (eval_name, sample_id) with another prompt: suffixed #2, #3..."
            )
        if self.blank_cells:
            per_model = ", ".join(f"{m}: {n}" for m, n in sorted(self.blank_cells.items()))
            notes.append(f"{sum(self.blank_cells.values())} blank score cells, no sample ({per_model})")
        if self.empty_rows:
            notes.append(
                f"{len(self.empty_rows)} rows with no score for any model, not imported, e.g. "
                f"{self.empty_rows[0]}"
            )


def import_routerbench(
    path: Path | str, store: ResultsStore, *, categories: Mapping[str, str] | None = None
) -> ImportSummary:
    path = Path(path)
    writer = TableWriter(store, "routerbench")
    reader = _Reader(writer, categories)
    files = table_files(path)
    plain = [f.name for f, part in files if part is None]
    if path.is_dir() and len(plain) > 1:
        raise ImportFormatError(
            f"{path}: several tables without a _train/_test name ({', '.join(plain)}): import one file per run"
        )
    if path.is_dir() and any(part for _, part in files) and not all(part for _, part in files):
        plain = [f.name for f, part in files if part is None]
        raise ImportFormatError(
            f"{path}: some tables are named <name>_train/_test and some are not ({', '.join(plain)})"
        )
    for file, part in files:
        reader.read(file, part)
    reader.finish_notes()
    return writer.finish(where=str(path))
