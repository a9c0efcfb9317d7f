"""RouterDC's released per-query tables (repository shuhao02/RouterDC, ``datasets/``).

A folder of ``<task>_{train,test}.json`` (or ``<task>-{train,test}.json``) files, each a JSON list of
``{"question": str, "scores": {model: float}}``, plus out-of-distribution sets as single files
(``MATH_prealgebra.json``, ``mbpp.json``): those are test-only tasks and are marked OOD. Every
``.json`` file is imported or named in an error; other files are listed in the summary's notes.

Multiple-choice tasks store the probability of the gold option when the model's top choice was
right and 0 otherwise (correct = score > 0); generation tasks store the fraction of 10 samples
that were correct (k/10). A task whose scores are all multiples of 0.1 is read as a fraction, any
other as multiple choice; ``score_kinds`` overrides this per task. The files' train/test
membership is recorded as the run's split (train = calibration).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from results.store import ResultsStore
from router.importers.common import (
    PART_OF_SPLIT,
    ImportFormatError,
    ImportSummary,
    TableWriter,
    category_of,
    checked_score,
)

ScoreKind = Literal["mc", "fraction"]
ROUTERDC_FILE = re.compile(r"^(?P<task>.+?)[_-](?P<part>train|test)\.json$", re.IGNORECASE)


def routerdc_files(folder: Path) -> tuple[dict[str, dict[str, Path]], list[str]]:
    """({task: {"train"|"test": path}}, notes on files that are not tables)."""
    if not folder.is_dir():
        raise ImportFormatError(
            f"{folder}: not a folder of RouterDC <task>_train.json / <task>_test.json files"
        )
    found: dict[str, dict[str, Path]] = {}
    notes = []
    for path in sorted(p for p in folder.iterdir() if p.is_file()):
        if path.suffix.lower() != ".json":
            notes.append(f"skipped {path.name}: not a .json table")
            continue
        if path.name.lower() in {"train.json", "test.json"}:
            raise ImportFormatError(
                f"{path}: a bare train/test file names no task (LLMRouter's dcrouter_preprocessed layout): "
                "use --format llmrouter"
            )
        match = ROUTERDC_FILE.match(path.name)
        task, part = (match["task"].lower(), match["part"].lower()) if match else (path.stem.lower(), "test")
        if part in found.get(task, {}):
            raise ImportFormatError(
                f"{path}: task {task!r} already has a {part} file ({found[task][part].name})"
            )
        found.setdefault(task, {})[part] = path
    if not found:
        hints = [p.name for p in sorted(folder.iterdir()) if p.is_dir() and any(p.glob("*.json"))]
        hint = f"; subfolders with .json tables: {', '.join(hints)}" if hints else ""
        if any(p.suffix.lower() == ".csv" for p in folder.iterdir()):
            hint += "; .csv tables here look like RouterBench's: try --format routerbench"
        raise ImportFormatError(f"{folder}: no .json tables found{hint}")
    return found, notes


def load_routerdc_rows(path: Path) -> list[tuple[str, dict[str, float]]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ImportFormatError(f"{path}: cannot read JSON ({exc})") from exc
    if not isinstance(data, list):
        raise ImportFormatError(f"{path}: expected a JSON list of {{question, scores}} objects")
    rows = []
    for index, row in enumerate(data):
        where = f"{path}: entry {index}"
        if not isinstance(row, dict) or not isinstance(row.get("question"), str):
            raise ImportFormatError(f"{where}: needs a string 'question'")
        scores = row.get("scores")
        if not isinstance(scores, dict) or not scores:
            raise ImportFormatError(f"{where}: needs a non-empty 'scores' object {{model: number}}")
        rows.append(
            (row["question"], {str(m): checked_score(v, f"{where}: model {m!r}") for m, v in scores.items()})
        )
    return rows


def detect_score_kind(values: list[float]) -> ScoreKind:
    """Fractions k/10 are all multiples of 0.1; gold-option probabilities are not."""
    return "fraction" if all(abs(v * 10 - round(v * 10)) < 1e-6 for v in values) else "mc"


def import_routerdc(
    folder: Path | str,
    store: ResultsStore,
    *,
    score_kinds: Mapping[str, ScoreKind] | None = None,
    categories: Mapping[str, str] | None = None,
    ood_tasks: set[str] | frozenset[str] = frozenset(),
) -> ImportSummary:
    folder = Path(folder)
    files, notes = routerdc_files(folder)
    unknown = sorted(set(ood_tasks) - set(files))
    if unknown:
        raise ImportFormatError(
            f"--ood names tasks not in {folder}: {', '.join(unknown)} (tasks found: {', '.join(sorted(files))})"
        )
    writer = TableWriter(store, "routerdc")
    writer.notes.extend(notes)
    kinds: dict[str, str] = {}
    for task, parts in files.items():
        test_only = "train" not in parts
        ood = task in ood_tasks or test_only
        if test_only and task not in ood_tasks:
            writer.notes.append(
                f"{task}: test file only ({parts['test'].name}), imported as out-of-distribution"
            )
        loaded = {part: load_routerdc_rows(path) for part, path in sorted(parts.items())}
        values = [v for rows in loaded.values() for _, scores in rows for v in scores.values()]
        kind = (score_kinds or {}).get(task) or detect_score_kind(values)
        kinds[task] = kind
        for part, rows in loaded.items():
            for index, (question, scores) in enumerate(rows):
                item_id = f"{part}-{index:05d}"
                writer.item(
                    task,
                    item_id,
                    question,
                    where=f"{parts[part]}: entry {index}",
                    part=PART_OF_SPLIT[part],
                    category=category_of(task, categories),
                    ood=ood,
                )
                for model, raw in scores.items():
                    score = (1.0 if raw > 0 else 0.0) if kind == "mc" else raw
                    writer.sample(task, item_id, model, score, raw=raw)
    return writer.finish(where=str(folder), score_kinds=kinds)
