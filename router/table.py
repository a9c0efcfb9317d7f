"""The router's view of a run: items × models, each cell the graded samples of one model on one item."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from results.records import ItemRecord, TaskInfo
from router.split import ItemKey
from router.voting import Sample


class TableError(ValueError):
    """The run holds nothing the router can use."""


@dataclass
class OutcomeTable:
    """Items in a fixed order (by task, then item id) and the models' graded samples on them."""

    keys: list[ItemKey]
    queries: list[str]
    categories: dict[str, str]
    ood_tasks: set[str]
    models: list[str]
    cells: list[list[list[Sample]]] = field(repr=False)
    task_infos: dict[str, TaskInfo] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.index = {key: i for i, key in enumerate(self.keys)}
        self.tasks = sorted({task for task, _ in self.keys})
        self.task_of = np.array([task for task, _ in self.keys], dtype=object)

    def __len__(self) -> int:
        return len(self.keys)

    def mean_scores(self) -> np.ndarray:
        """[items, models] mean sample score; NaN where a model has no graded sample for an item."""
        out = np.full((len(self.keys), len(self.models)), np.nan)
        for i, row in enumerate(self.cells):
            for j, samples in enumerate(row):
                if samples:
                    out[i, j] = float(np.mean([s.score for s in samples]))
        return out

    def rows_of(self, keys: Iterable[ItemKey]) -> np.ndarray:
        return np.array(sorted(self.index[k] for k in keys if k in self.index), dtype=np.int64)

    def rows_of_task(self, task: str) -> np.ndarray:
        return np.flatnonzero(self.task_of == task)

    def subset(self, rows: Sequence[int]) -> OutcomeTable:
        """The items at ``rows`` (kept in table order)."""
        rows = sorted(int(r) for r in rows)
        keys = [self.keys[r] for r in rows]
        tasks = {task for task, _ in keys}
        return OutcomeTable(
            keys=keys,
            queries=[self.queries[r] for r in rows],
            categories={t: c for t, c in self.categories.items() if t in tasks},
            ood_tasks=self.ood_tasks & tasks,
            models=self.models,
            cells=[self.cells[r] for r in rows],
            task_infos=self.task_infos,
        )

    def with_models(self, models: Sequence[str]) -> OutcomeTable:
        """The same items restricted to (and ordered as) ``models``."""
        positions = [self.models.index(m) for m in models]
        return OutcomeTable(
            keys=self.keys,
            queries=self.queries,
            categories=self.categories,
            ood_tasks=self.ood_tasks,
            models=list(models),
            cells=[[row[p] for p in positions] for row in self.cells],
            task_infos=self.task_infos,
        )


def build_table(
    items: Iterable[ItemRecord],
    samples: Iterable,
    *,
    task_infos: Mapping[str, TaskInfo] | None = None,
) -> OutcomeTable:
    """Join items with graded samples (objects with task, item_id, model, sample_index, extracted, score).

    Samples without a score (ungraded, or errors) are ignored; items no model answered are dropped.
    """
    by_key: dict[ItemKey, ItemRecord] = {(i.task, i.item_id): i for i in items}
    grouped: dict[ItemKey, dict[str, list[tuple[int, Sample]]]] = {}
    models: set[str] = set()
    for s in samples:
        if s.score is None:
            continue
        key = (s.task, s.item_id)
        if key not in by_key:
            continue
        grouped.setdefault(key, {}).setdefault(s.model, []).append(
            (s.sample_index, Sample(s.extracted, s.score))
        )
        models.add(s.model)
    if not grouped:
        raise TableError("the run has no graded samples of known items")
    model_list = sorted(models)
    keys = sorted(grouped)
    cells = [
        [
            [sample for _, sample in sorted(grouped[key].get(m, []), key=lambda pair: pair[0])]
            for m in model_list
        ]
        for key in keys
    ]
    categories = {by_key[k].task: by_key[k].category for k in keys}
    ood = {by_key[k].task for k in keys if by_key[k].ood}
    return OutcomeTable(
        keys=keys,
        queries=[by_key[k].query for k in keys],
        categories=categories,
        ood_tasks=ood,
        models=model_list,
        cells=cells,
        task_infos=dict(task_infos or {}),
    )


def load_table(store, *, task_infos: Mapping[str, TaskInfo] | None = None) -> OutcomeTable:
    """Read a :class:`results.store.ResultsStore` (outcome columns only when the store offers them)."""
    reader = getattr(store, "iter_outcomes", None)
    samples = reader() if reader is not None else store.iter_samples(graded_only=True)
    return build_table(store.iter_items(), samples, task_infos=task_infos)
