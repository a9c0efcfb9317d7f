"""Calibration/test splits of a run's items.

A hashed split ranks the items of each task by ``sha256(f"{seed}:{task}:{item_id}")`` and puts the
first ``round(fraction * n)`` in calibration. It depends only on the item ids, the seed and the
fraction, so it is identical on every machine and every numpy version. Items of out-of-distribution
tasks are always test items.

Hashed folds (for cross-validation inside the calibration items) use the same ranking: the item of
rank r in its task goes to fold ``r % n_folds``, so every fold holds about 1/n_folds of every task.

An explicit split (the train/test files of a public table, recorded at import time in the run's
``meta`` table under :data:`SPLIT_META_KEY`) is used as it is.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Literal

from pydantic import BaseModel, Field

SPLIT_META_KEY = "router.split"
ItemKey = tuple[str, str]
Part = Literal["calibration", "test"]


class SplitError(ValueError):
    """A split is inconsistent with the items it is applied to."""


class Split(BaseModel):
    """Which items calibrate the router and which measure it."""

    source: str = Field(description="'hash' or the name of the importer that recorded an explicit split")
    fraction: float | None = None
    seed: int | None = None
    calibration: set[ItemKey]
    test: set[ItemKey]

    def part_of(self, key: ItemKey) -> Part | None:
        if key in self.calibration:
            return "calibration"
        if key in self.test:
            return "test"
        return None


def _rank_key(seed: int, task: str, item_id: str) -> str:
    return hashlib.sha256(f"{seed}:{task}:{item_id}".encode()).hexdigest()


def hashed_split(
    items: Iterable[ItemKey], *, fraction: float = 0.7, seed: int = 42, ood_tasks: Iterable[str] = ()
) -> Split:
    if not 0.0 < fraction < 1.0:
        raise SplitError(f"calibration fraction must be strictly between 0 and 1 (got {fraction})")
    ood = set(ood_tasks)
    by_task: dict[str, list[str]] = {}
    for task, item_id in items:
        by_task.setdefault(task, []).append(item_id)
    calibration: set[ItemKey] = set()
    test: set[ItemKey] = set()
    for task, ids in by_task.items():
        if task in ood:
            test.update((task, i) for i in ids)
            continue
        ranked = sorted(set(ids), key=lambda item_id: _rank_key(seed, task, item_id))
        n_calibration = round(fraction * len(ranked))
        calibration.update((task, i) for i in ranked[:n_calibration])
        test.update((task, i) for i in ranked[n_calibration:])
    return Split(source="hash", fraction=fraction, seed=seed, calibration=calibration, test=test)


def hashed_folds(items: Iterable[ItemKey], *, n_folds: int = 5, seed: int = 42) -> list[Split]:
    """``n_folds`` splits of ``items``; split f tests fold f and calibrates on the other folds."""
    if n_folds < 2:
        raise SplitError(f"cross-validation needs at least 2 folds (got {n_folds})")
    by_task: dict[str, set[str]] = {}
    for task, item_id in items:
        by_task.setdefault(task, set()).add(item_id)
    folds: list[set[ItemKey]] = [set() for _ in range(n_folds)]
    for task, ids in by_task.items():
        for rank, item_id in enumerate(sorted(ids, key=lambda i: _rank_key(seed, task, i))):
            folds[rank % n_folds].add((task, item_id))
    everything = set().union(*folds)
    return [
        Split(source="hash-fold", fraction=None, seed=seed, calibration=everything - fold, test=fold)
        for fold in folds
    ]


def explicit_split(parts: Mapping[ItemKey, Part], *, source: str, ood_tasks: Iterable[str] = ()) -> Split:
    ood = set(ood_tasks)
    calibration = {k for k, part in parts.items() if part == "calibration" and k[0] not in ood}
    test = {k for k, part in parts.items() if part == "test" or k[0] in ood}
    return Split(source=source, calibration=calibration, test=test)


def encode_split_meta(parts: Mapping[ItemKey, Part], source: str) -> str:
    """JSON for the run's meta table: {"source": ..., "tasks": {task: {"calibration": [...], "test": [...]}}}."""
    tasks: dict[str, dict[str, list[str]]] = {}
    for (task, item_id), part in sorted(parts.items()):
        tasks.setdefault(task, {"calibration": [], "test": []})[part].append(item_id)
    return json.dumps({"source": source, "tasks": tasks})


def decode_split_meta(text: str) -> tuple[dict[ItemKey, Part], str]:
    try:
        data = json.loads(text)
        parts: dict[ItemKey, Part] = {}
        for task, lists in data["tasks"].items():
            for part in ("calibration", "test"):
                for item_id in lists.get(part, []):
                    parts[(task, item_id)] = part
        return parts, str(data["source"])
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise SplitError(f"run meta '{SPLIT_META_KEY}' is not a recorded split ({exc})") from exc


def merge_split_meta(existing: str | None, parts: Mapping[ItemKey, Part], source: str) -> str:
    """Add ``parts`` to a recorded split (imports of several tasks into one run accumulate)."""
    merged: dict[ItemKey, Part] = {}
    if existing:
        merged, _ = decode_split_meta(existing)
    merged.update(parts)
    return encode_split_meta(merged, source)
