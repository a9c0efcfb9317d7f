"""Accuracy figures computed from a run's results store.

Per task x model: accuracy of sample 0, mean accuracy over samples, majority-vote accuracy
(SC@n) and, for code tasks, unbiased pass@k; plus how many samples were wrong, unanswered,
truncated or failed. Per category x model: the macro average over the category's tasks.

Conventions (stated once here, used everywhere):
- Accuracy is over graded samples only. A failed request (after retries) is not an answer: it is
  counted as an ``error``, apart from wrong answers, and scores nothing either way; ungraded samples
  with a response are left out too and reported as ``ungraded``. What a figure stands on is its
  ``coverage``: graded samples over the samples the run asked for (every item in the store's items
  table times the samples per item), so a figure over part of the data is never read as final.
- Accuracy uses the grader's score (0..1), so partial credit averages in.
- An item's mean accuracy is the mean over its counted samples; a task's is the mean over items.
- Majority vote (SC@n) follows ``router.voting.majority``, so the harness and the router count
  alike: samples with no extracted answer do not vote; extracted answers are grouped with the
  grader's own equivalence (``graders.same_answer``); the biggest group wins, ties go to the group
  whose first member has the lowest sample index; the item scores that first member's score. An
  item where no sample voted scores the mean of its samples' scores (0 when they are graded
  no_answer/truncated/error). Code tasks get no SC@n (programs are not voted on), but pass@k;
  an average's SC@n is over its non-code tasks only (``majority_tasks`` names them).
- Out-of-distribution tasks (``TaskInfo.ood``) are in no category or overall average: they get
  their own average (``RunMetrics.ood_overall``), as the paper keeps them in a table of their own.
- A task x model whose failed samples exceed ``max_error_rate`` (the run's --max-error-rate) is an
  error cell: its figures measure the endpoint, not the model, and the report shows it as an error.
- pass@k (code tasks): per item ``1 - C(n-c, k) / C(n, k)`` with n counted samples, c fully
  correct ones; averaged over items; reported for k in {1, 5, 10} not above the smallest n.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from itertools import groupby
from math import comb
from operator import attrgetter
from statistics import fmean
from typing import Any, Protocol

from pydantic import BaseModel, Field

from results.records import SampleOutcome, TaskInfo
from results.store import ResultsStore
from router.voting import Sample, majority

__all__ = [
    "CategoryModelMetrics",
    "OutcomeCounts",
    "RunMetrics",
    "SameAnswer",
    "TaskInfo",
    "TaskModelMetrics",
    "compute_metrics",
    "pass_at_k",
]

PASS_AT_K = (1, 5, 10)
OVERALL = "all"
OOD = "ood"
OUTCOMES = ("right", "wrong", "no_answer", "truncated", "error")
DEFAULT_MAX_ERROR_RATE = 0.05


class SameAnswer(Protocol):
    """Signature of ``graders.same_answer``: are two extracted answers equivalent under this grader?"""

    def __call__(self, grader_name: str, a: str, b: str, options: dict[str, Any]) -> bool: ...


class OutcomeCounts(BaseModel):
    right: int = 0
    wrong: int = 0
    no_answer: int = 0
    truncated: int = 0
    error: int = 0
    ungraded: int = 0

    def add(self, other: OutcomeCounts) -> OutcomeCounts:
        return OutcomeCounts(**{k: getattr(self, k) + getattr(other, k) for k in OutcomeCounts.model_fields})


class TaskModelMetrics(BaseModel):
    task: str
    model: str
    category: str
    n_items: int = Field(description="items with at least one graded sample")
    n_samples: int = Field(description="graded samples: what the accuracy figures are computed over")
    samples_expected: int = Field(
        default=0, description="samples the run asked for: its items times the samples per item"
    )
    samples_per_item_min: int
    samples_per_item_max: int
    sample0_accuracy: float | None = Field(description="mean score of sample 0; None if no item has one")
    mean_accuracy: float | None
    majority_accuracy: float | None = Field(description="SC@n accuracy; None for code tasks")
    pass_at_k: dict[int, float] = Field(default_factory=dict, description="code tasks only")
    counts: OutcomeCounts

    @property
    def stored_samples(self) -> int:
        return self.n_samples + self.counts.ungraded + self.counts.error

    @property
    def failed_fraction(self) -> float:
        total = self.stored_samples
        return self.counts.error / total if total else 0.0

    @property
    def samples_asked(self) -> int:
        """The coverage's denominator: the samples asked for, or those stored where a resume stored more."""
        return max(self.samples_expected, self.stored_samples)

    @property
    def coverage(self) -> float:
        """Graded samples over the samples asked for (1.0: the figures stand on all the data)."""
        return self.n_samples / self.samples_asked if self.samples_asked else 0.0


class CategoryModelMetrics(BaseModel):
    """Macro average over the category's tasks that this model has results for."""

    category: str
    model: str
    tasks: list[str]
    n_items: int
    sample0_accuracy: float | None
    mean_accuracy: float | None
    majority_accuracy: float | None
    majority_tasks: list[str] = Field(
        default_factory=list, description="the tasks in the SC@n average (code tasks have no SC@n)"
    )
    pass_at_k: dict[int, float] = Field(
        default_factory=dict, description="mean over the category's code tasks"
    )
    counts: OutcomeCounts
    n_samples: int = Field(default=0, description="graded samples over the averaged tasks")
    samples_expected: int = Field(default=0, description="samples asked for over the averaged tasks")

    @property
    def coverage(self) -> float:
        return self.n_samples / self.samples_expected if self.samples_expected else 0.0


class RunMetrics(BaseModel):
    models: list[str]
    task_info: dict[str, TaskInfo]
    tasks: list[TaskModelMetrics]
    categories: list[CategoryModelMetrics]
    overall: list[CategoryModelMetrics] = Field(
        default_factory=list,
        description="per model, macro average over all its in-distribution tasks (category 'all')",
    )
    ood_overall: list[CategoryModelMetrics] = Field(
        default_factory=list, description="per model, macro average over its OOD tasks (category 'ood')"
    )
    max_error_rate: float = Field(
        default=DEFAULT_MAX_ERROR_RATE, description="above this fraction of failed samples a cell is an error"
    )

    def is_error_cell(self, task: str, model: str) -> bool:
        row = self.task_metrics(task, model)
        return row is not None and row.counts.error > 0 and row.failed_fraction > self.max_error_rate

    def task_metrics(self, task: str, model: str) -> TaskModelMetrics | None:
        return next((m for m in self.tasks if m.task == task and m.model == model), None)

    def category_metrics(self, category: str, model: str) -> CategoryModelMetrics | None:
        return next((m for m in self.categories if m.category == category and m.model == model), None)

    def overall_metrics(self, model: str) -> CategoryModelMetrics | None:
        return next((m for m in self.overall if m.model == model), None)

    def ood_metrics(self, model: str) -> CategoryModelMetrics | None:
        return next((m for m in self.ood_overall if m.model == model), None)


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k estimator for one item: probability that k of the n samples include a correct one."""
    if not 0 <= c <= n:
        raise ValueError(f"pass_at_k: need 0 <= c <= n (got n={n}, c={c})")
    if not 1 <= k <= n:
        raise ValueError(f"pass_at_k: need 1 <= k <= n (got n={n}, k={k})")
    return 1.0 - comb(n - c, k) / comb(n, k)


def _default_same_answer() -> SameAnswer:
    try:
        from graders import same_answer
    except ImportError as exc:
        raise RuntimeError(
            "graders.same_answer is not available; pass same_answer= to compute_metrics explicitly"
        ) from exc
    return same_answer


def _classify(outcome: SampleOutcome) -> tuple[str, float | None] | None:
    """(outcome kind, score) of a sample; a failed request is ("error", None): no score, not a wrong
    answer. None for a sample with a response that is not graded yet."""
    if outcome.score is None:
        return ("error", None) if outcome.error is not None else None
    reason = outcome.grade_reason
    if reason not in OUTCOMES:
        reason = "right" if outcome.score >= 1.0 else "wrong"
    return reason, float(outcome.score)


def _task_model_metrics(
    task: str,
    model: str,
    info: TaskInfo,
    outcomes: Iterable[SampleOutcome],
    same_answer: SameAnswer,
    samples_expected: int = 0,
) -> TaskModelMetrics:
    tally: dict[str, int] = defaultdict(int)
    per_item: dict[str, list[tuple[int, str | None, float]]] = defaultdict(list)
    for outcome in outcomes:
        classified = _classify(outcome)
        if classified is None:
            tally["ungraded"] += 1
            continue
        kind, score = classified
        tally[kind] += 1
        if score is not None:
            per_item[outcome.item_id].append((outcome.sample_index, outcome.extracted, score))

    def same(a: str, b: str) -> bool:
        return same_answer(info.grader, a, b, info.grader_options)

    sizes = [len(samples) for samples in per_item.values()]
    sample0 = [s for samples in per_item.values() for i, _, s in samples if i == 0]
    means = [fmean(s for _, _, s in samples) for samples in per_item.values()]
    majority_scores = (
        []
        if info.is_code
        else [
            majority([Sample(e, s) for _, e, s in sorted(samples)], same)[0] for samples in per_item.values()
        ]
    )
    pass_k: dict[int, float] = {}
    if info.is_code and sizes:
        for k in PASS_AT_K:
            if k <= min(sizes):
                pass_k[k] = fmean(
                    pass_at_k(len(samples), sum(1 for _, _, s in samples if s >= 1.0), k)
                    for samples in per_item.values()
                )
    return TaskModelMetrics(
        task=task,
        model=model,
        category=info.category,
        n_items=len(per_item),
        n_samples=sum(sizes),
        samples_expected=samples_expected,
        samples_per_item_min=min(sizes, default=0),
        samples_per_item_max=max(sizes, default=0),
        sample0_accuracy=fmean(sample0) if sample0 else None,
        mean_accuracy=fmean(means) if means else None,
        majority_accuracy=fmean(majority_scores) if majority_scores else None,
        pass_at_k=pass_k,
        counts=OutcomeCounts(**tally),
    )


def _most_samples_of_an_item(outcomes: Sequence[SampleOutcome]) -> int:
    return max(Counter(outcome.item_id for outcome in outcomes).values(), default=1)


def _mean_or_none(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return fmean(present) if present else None


def _category_metrics(category: str, model: str, rows: Sequence[TaskModelMetrics]) -> CategoryModelMetrics:
    counts = OutcomeCounts()
    for row in rows:
        counts = counts.add(row.counts)
    pass_k: dict[int, float] = {}
    for k in PASS_AT_K:
        value = _mean_or_none(r.pass_at_k.get(k) for r in rows)
        if value is not None:
            pass_k[k] = value
    return CategoryModelMetrics(
        category=category,
        model=model,
        tasks=[r.task for r in rows],
        n_items=sum(r.n_items for r in rows),
        sample0_accuracy=_mean_or_none(r.sample0_accuracy for r in rows),
        mean_accuracy=_mean_or_none(r.mean_accuracy for r in rows),
        majority_accuracy=_mean_or_none(r.majority_accuracy for r in rows),
        majority_tasks=[r.task for r in rows if r.majority_accuracy is not None],
        pass_at_k=pass_k,
        counts=counts,
        n_samples=sum(r.n_samples for r in rows),
        samples_expected=sum(r.samples_asked for r in rows),
    )


def compute_metrics(
    store: ResultsStore,
    task_info: Mapping[str, TaskInfo],
    *,
    same_answer: SameAnswer | None = None,
    models: Sequence[str] | None = None,
    max_error_rate: float = DEFAULT_MAX_ERROR_RATE,
    samples_per_item: int | None = None,
) -> RunMetrics:
    """Metrics for every (task, model) with samples in ``store``.

    ``task_info`` must describe every task that has samples. ``same_answer`` defaults to
    ``graders.same_answer``. ``models`` fixes the column order (default: sorted names in the store).
    ``samples_per_item`` (the run's --samples) sets the coverage's denominator with the store's items;
    without it the most samples any model has for one of the task's items stands in.
    """
    equivalent = same_answer if same_answer is not None else _default_same_answer()
    items_per_task = store.item_counts()

    # One task's outcomes in memory at a time: rows come in key order, which starts with the task.
    by_task: dict[str, dict[str, TaskModelMetrics]] = {}
    missing: list[str] = []
    for task, outcomes in groupby(store.iter_outcomes(), key=attrgetter("task")):
        if task not in task_info:
            missing.append(task)
            continue
        by_model: dict[str, list[SampleOutcome]] = defaultdict(list)
        for outcome in outcomes:
            by_model[outcome.model].append(outcome)
        per_item = samples_per_item or max(_most_samples_of_an_item(rows) for rows in by_model.values())
        items = max(items_per_task.get(task, 0), *(len({o.item_id for o in rows}) for rows in by_model.values()))
        by_task[task] = {
            model: _task_model_metrics(task, model, task_info[task], rows, equivalent, items * per_item)
            for model, rows in by_model.items()
        }
    if missing:
        raise ValueError(
            f"no task info for task(s) with stored samples: {', '.join(missing)}; "
            "pass their task files (category, grader) to compute metrics"
        )

    stored_models = sorted({model for per_model in by_task.values() for model in per_model})
    model_order = [m for m in (models or []) if m in stored_models]
    model_order += [m for m in stored_models if m not in model_order]
    task_rows = [
        by_task[task][model]
        for task in sorted(by_task, key=lambda t: (task_info[t].category, t))
        for model in model_order
        if model in by_task[task]
    ]

    in_dist = [r for r in task_rows if not task_info[r.task].ood]
    ood = [r for r in task_rows if task_info[r.task].ood]
    category_rows: list[CategoryModelMetrics] = []
    for category in sorted({row.category for row in in_dist}):
        for model in model_order:
            rows = [r for r in in_dist if r.category == category and r.model == model]
            if rows:
                category_rows.append(_category_metrics(category, model, rows))

    def summaries(label: str, rows: list[TaskModelMetrics]) -> list[CategoryModelMetrics]:
        per_model = {model: [r for r in rows if r.model == model] for model in model_order}
        return [_category_metrics(label, model, mine) for model, mine in per_model.items() if mine]

    return RunMetrics(
        models=model_order,
        task_info={t: task_info[t] for t in sorted(by_task)},
        tasks=task_rows,
        categories=category_rows,
        overall=summaries(OVERALL, in_dist),
        ood_overall=summaries(OOD, ood),
        max_error_rate=max_error_rate,
    )
