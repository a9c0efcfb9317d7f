"""RouterEval's ready-made router datasets: ``data/router_dataset/<dataset>_router_dataset.pkl``.

Each pickle (written by RouterEval's get_router_dataset.py) holds one benchmark's prompts split
train/val/test (``prompt`` / ``split_index``) and, per candidate group (difficulty ``easy``/``hard``,
pool size 3/5/10/100/1000, composition ``all_strong``/``all_weak``/``strong_to_weak``), the chosen
models (``model``) and their score matrices ``data.{train,val,test}_score`` of shape
(prompts, candidates). Groups differ only in which models they hold, so the group is a required
choice (``--group 5/all_strong``); train and val calibrate, test tests. Pickles run code when loaded:
import only files from a source you trust, as with RouterBench's .pkl.
"""

from __future__ import annotations

import pickle
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
)

SUFFIX = "_router_dataset"
SPLITS = (("train", "calibration"), ("val", "calibration"), ("test", "test"))


def _load(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            data = pickle.load(fh)  # noqa: S301 - the official format is a pickle
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ModuleNotFoundError) as exc:
        raise ImportFormatError(f"{path}: cannot read as a RouterEval pickle ({exc})") from exc
    if not isinstance(data, dict) or "prompt" not in data:
        raise ImportFormatError(f"{path}: not a RouterEval router dataset (a dict with 'prompt' and groups)")
    return data


def groups_of(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """``{"<size>/<composition>": group}`` for every filled candidate group."""
    found = {}
    for difficulty in ("easy", "hard"):
        for size, compositions in (data.get(difficulty) or {}).items():
            for composition, group in (compositions or {}).items():
                if (
                    isinstance(group, dict)
                    and group.get("data") is not None
                    and group.get("model") is not None
                ):
                    found[f"{size}/{composition}"] = group
    return found


def _files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    files = sorted(path.glob(f"*{SUFFIX}.pkl")) if path.is_dir() else []
    if not files:
        raise ImportFormatError(f"{path}: no <dataset>{SUFFIX}.pkl file here")
    return files


def import_routereval(
    path: Path | str, store: ResultsStore, *, group: str | None, batch_size: int = 5000
) -> ImportSummary:
    path = Path(path)
    writer = TableWriter(store, "RouterEval", batch_size=batch_size)
    for file in _files(path):
        data = _load(file)
        groups = groups_of(data)
        chosen = (group or "").removeprefix("easy/").removeprefix("hard/")
        if chosen not in groups:
            raise ImportFormatError(
                f"{file}: {'choose' if group is None else f'no group {group!r}; choose'} a candidate group "
                f"with --group, one of {', '.join(groups)}"
            )
        models = [str(m) for m in groups[chosen]["model"]]
        scores = groups[chosen]["data"]
        task = file.stem.removesuffix(SUFFIX)
        for split, part in SPLITS:
            prompts = data["prompt"].get(f"{split}_prompt")
            matrix = scores.get(f"{split}_score")
            if prompts is None or matrix is None:
                raise ImportFormatError(f"{file}: group {chosen}: no {split}_prompt / {split}_score")
            indices = (data.get("split_index") or {}).get(f"{split}_indices")
            rows = matrix.tolist() if hasattr(matrix, "tolist") else list(matrix)
            if len(rows) != len(prompts) or (indices is not None and len(indices) != len(prompts)):
                raise ImportFormatError(
                    f"{file}: {split}: {len(prompts)} prompts but {len(rows)} score rows"
                    + ("" if indices is None else f" and {len(indices)} indices")
                )
            for n, (prompt, row) in enumerate(zip(prompts, rows, strict=True)):
                where = f"{file}: {split} prompt {n}"
                if len(row) != len(models):
                    raise ImportFormatError(f"{where}: {len(row)} scores for {len(models)} models")
                query = str(prompt)
                if not query.strip():
                    raise ImportFormatError(f"{where}: empty prompt")
                item_id = f"{split}-{n}" if indices is None else str(int(indices[n]))
                writer.item(task, item_id, query, where=where, part=part, category=category_of(task))
                for model, value in zip(models, row, strict=True):
                    if is_blank(value):
                        continue
                    writer.sample(task, item_id, model, graded_score(value, f"{where}: {model}"), where=where)
    writer.notes.append(f"candidate group {group}; val prompts calibrate, as train prompts do")
    return writer.finish(where=str(path))
