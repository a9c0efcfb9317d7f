"""Per-item correctness of a routing decision, computed offline from stored samples.

One model (n = 1): Self-Consistency over that model's first ``samples`` samples (all stored by default).
Several models (n > 1): Model-Switch over the ranked models with the same budget split across them,
``budget // n`` samples each (at least 1), where the budget is ``samples`` or, by default, the number
of samples stored for the first-ranked model: Self-Consistency and Model-Switch are compared at equal
sample budgets, as in the paper. ``split_budget=False`` lets every model draw the whole budget.
Every routed answer also has a cost: the summed cost of all the samples drawn for it.
Code tasks (TaskInfo.is_code) have no answer to vote on: the first sample of the first model counts.
A model with no graded sample for an item scores 0 there.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cached_property, lru_cache

import numpy as np

from router.table import OutcomeTable
from router.voting import Equivalence, drawn_cost, exact_match, model_switch, self_consistency

EquivalenceFor = Callable[[str], Equivalence]


def grader_equivalence(table: OutcomeTable) -> EquivalenceFor:
    """Answer equivalence from each task's grader (graders.same_answer); exact match without a TaskInfo."""

    def for_task(task: str) -> Equivalence:
        info = table.task_infos.get(task)
        if info is None:
            return exact_match

        def same(a: str, b: str) -> bool:
            from graders import same_answer  # imported on first use: score-only runs never need it

            return same_answer(info.grader, a, b, info.grader_options)

        return same

    return for_task


def _memoised(same: Equivalence) -> Equivalence:
    """Answers repeat across samples and models; grader equivalence (e.g. math-verify) is slow."""
    cached = lru_cache(maxsize=262_144)(same)

    def lookup(a: str, b: str) -> bool:
        return cached(a, b) if a <= b else cached(b, a)

    return lookup


def _not_votable(info) -> bool:
    """Code tasks (and any grader whose answers cannot be compared) are scored by the first sample."""
    if info is None:
        return False
    if info.is_code:
        return True
    try:
        from graders import is_votable

        return not is_votable(info.grader)
    except (ImportError, KeyError, ValueError):
        return False


class ScoreBook:
    """Correctness lookups for one table and one sampling budget."""

    def __init__(
        self,
        table: OutcomeTable,
        *,
        samples: int | None = None,
        top_n: int = 1,
        equivalence_for: EquivalenceFor | None = None,
        split_budget: bool = True,
    ):
        if top_n < 1:
            raise ValueError(f"top-n must be >= 1 (got {top_n})")
        if samples is not None and samples < 1:
            raise ValueError(f"samples must be >= 1 (got {samples})")
        self.table = table
        self.samples = samples
        self.top_n = min(top_n, len(table.models))
        self.split_budget = split_budget
        self.equivalence_for = equivalence_for or grader_equivalence(table)
        self._same = {task: _memoised(self.equivalence_for(task)) for task in table.tasks}
        self._code = {task: _not_votable(table.task_infos.get(task)) for task in table.tasks}
        self.mean = table.mean_scores()

    @cached_property
    def single(self) -> np.ndarray:
        """[items, models] Self-Consistency correctness (computed on first use: voting can be slow)."""
        out = np.zeros((len(self.table), len(self.table.models)))
        for i, ((task, _), row) in enumerate(zip(self.table.keys, self.table.cells, strict=True)):
            same, code = self._same[task], self._code[task]
            for j, samples in enumerate(row):
                if samples:
                    out[i, j] = self_consistency(samples, same, k=self.samples, first_sample_only=code)
        return out

    @cached_property
    def single_cost(self) -> np.ndarray:
        """[items, models] cost of the samples a one-model route draws (all of them are voted); NaN where
        the model has no sample."""
        out = np.zeros((len(self.table), len(self.table.models)))
        for i, ((task, _), row) in enumerate(zip(self.table.keys, self.table.cells, strict=True)):
            for j, samples in enumerate(row):
                if not samples:
                    out[i, j] = np.nan
                    continue
                drawn = samples[:1] if self._code[task] else samples[: self.samples]
                out[i, j] = drawn_cost(drawn)
        return out

    @cached_property
    def has_costs(self) -> bool:
        return any(s.cost for row in self.table.cells for cell in row for s in cell)

    def _per_model_budget(self, first_cell) -> int | None:
        if not self.split_budget:
            return self.samples
        budget = self.samples if self.samples is not None else len(first_cell)
        return max(1, budget // self.top_n)

    def _switch(self, rows: np.ndarray, orders: np.ndarray) -> list:
        outcomes = []
        for i, order in zip(rows, orders, strict=True):
            task = self.table.keys[i][0]
            cells = [self.table.cells[i][j] for j in order[: self.top_n]]
            outcomes.append(
                model_switch(
                    cells,
                    self._same[task],
                    k_per_model=self._per_model_budget(cells[0]),
                    first_sample_only=self._code[task],
                )
            )
        return outcomes

    def routed(self, rows: np.ndarray, orders: np.ndarray) -> np.ndarray:
        """Correctness of each item in ``rows`` given its model order (best first)."""
        rows = np.asarray(rows, dtype=np.int64)
        if self.top_n == 1:
            return self.single[rows, orders[:, 0]]
        return np.array([o.score for o in self._switch(rows, orders)], dtype=np.float64)

    def routed_cost(self, rows: np.ndarray, orders: np.ndarray) -> np.ndarray:
        """Cost of each routed answer in ``rows``: every sample drawn (and voted) for it."""
        rows = np.asarray(rows, dtype=np.int64)
        if self.top_n == 1:
            return self.single_cost[rows, orders[:, 0]]
        return np.array([o.cost for o in self._switch(rows, orders)], dtype=np.float64)

    def per_task(self, rows: np.ndarray, correctness: np.ndarray) -> dict[str, float]:
        """Accuracy in percent per task over ``rows``."""
        tasks = self.table.task_of[rows]
        return {
            task: 100.0 * float(correctness[tasks == task].mean()) for task in sorted(set(tasks.tolist()))
        }

    def model_accuracy(
        self, rows: np.ndarray, models: Sequence[int] | None = None
    ) -> dict[int, dict[str, float]]:
        models = range(len(self.table.models)) if models is None else models
        return {j: self.per_task(rows, self.single[rows, j]) for j in models}
