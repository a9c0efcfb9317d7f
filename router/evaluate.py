"""Offline evaluation of the Avengers router and its references over several seeds.

For each seed: take the split (the run's recorded split, or a hashed split with that seed), fit
the router on the calibration items with that clustering seed, and score every method on the
test items from the stored samples. Figures are accuracies in percent, averaged over seeds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

import numpy as np
from pydantic import BaseModel, Field

from router import baselines
from router.model import Router, RouterConfig
from router.scoring import ScoreBook
from router.selection import select_models
from router.split import Split, hashed_folds, hashed_split
from router.table import OutcomeTable

MethodKind = Literal["model", "baseline", "avengers", "reference"]
AVENGERS = "Avengers"
ORACLE = "Oracle"


class MethodScores(BaseModel):
    name: str
    kind: MethodKind
    per_seed: list[dict[str, float]] = Field(
        default_factory=list, description="task -> accuracy (%) per seed"
    )
    per_seed_cost: list[dict[str, float]] = Field(
        default_factory=list, description="task -> mean cost of a routed answer per seed (runs with costs)"
    )

    def cost(self, tasks: Sequence[str]) -> float:
        """Mean over seeds of the mean over ``tasks`` of the cost per query; NaN without costs."""
        values = [
            np.mean([s[t] for t in tasks]) for s in self.per_seed_cost if tasks and all(t in s for t in tasks)
        ]
        return float(np.mean(values)) if values else float("nan")

    def mean(self, task: str) -> float:
        return (
            float(np.mean([s[task] for s in self.per_seed if task in s])) if self.per_seed else float("nan")
        )

    def std(self, task: str) -> float:
        return float(np.std([s[task] for s in self.per_seed if task in s])) if self.per_seed else float("nan")

    def average(self, tasks: Sequence[str]) -> float:
        """Mean over seeds of the per-seed mean over ``tasks``."""
        values = [
            np.mean([s[t] for t in tasks]) for s in self.per_seed if tasks and all(t in s for t in tasks)
        ]
        return float(np.mean(values)) if values else float("nan")


class EvalReport(BaseModel):
    tasks: list[str]
    categories: dict[str, str]
    ood_tasks: list[str]
    calibration_only: list[str] = Field(
        default_factory=list, description="in-distribution tasks with no test item: not in any average"
    )
    models: list[str]
    seeds: list[int]
    config: RouterConfig
    top_n: int
    samples: int | None
    split_source: str
    methods: list[MethodScores]
    routing_share: dict[str, dict[str, float]] = Field(
        default_factory=dict,
        description="task -> model -> share of test queries routed there first (pooled seeds)",
    )
    notes: list[str] = Field(default_factory=list)
    fitted_k: list[int] = Field(
        default_factory=list, description="non-empty clusters of the router fitted for each seed"
    )

    def k_description(self) -> str:
        """The K asked for, and the K fitted when it differs (fewer items or distinct queries than K)."""
        fitted = sorted(set(self.fitted_k))
        if not fitted or fitted == [self.config.k]:
            return f"K={self.config.k}"
        return f"K={'/'.join(map(str, fitted))} fitted (K={self.config.k} requested)"

    @property
    def in_distribution(self) -> list[str]:
        return [t for t in self.tasks if t not in self.ood_tasks and t not in self.calibration_only]

    def method(self, name: str) -> MethodScores:
        for m in self.methods:
            if m.name == name:
                return m
        raise KeyError(name)


SplitFor = Callable[[int], Split]


def split_provider(table: OutcomeTable, recorded: Split | None, fraction: float | None) -> SplitFor:
    """The recorded split for every seed when there is one and no fraction is forced, else a hashed split."""
    if recorded is not None and fraction is None:
        return lambda seed: recorded
    frac = 0.7 if fraction is None else fraction
    return lambda seed: hashed_split(table.keys, fraction=frac, seed=seed, ood_tasks=table.ood_tasks)


def fit_on_rows(
    table: OutcomeTable,
    book: ScoreBook,
    embeddings: np.ndarray,
    rows: np.ndarray,
    config: RouterConfig,
    split_source: str,
) -> Router:
    return Router.fit(
        embeddings[rows],
        book.mean[rows],
        table.models,
        config,
        calibration_keys=[table.keys[i] for i in rows],
        split_source=split_source,
        item_costs=book.single_cost[rows] if book.has_costs else None,
    )


def _check_split(table: OutcomeTable, calibration: np.ndarray, test: np.ndarray) -> None:
    if len(calibration) == 0:
        raise ValueError("the split leaves no calibration item with graded samples")
    if len(test) == 0:
        raise ValueError("the split leaves no test item with graded samples")


def evaluate(
    table: OutcomeTable,
    embeddings: np.ndarray,
    config: RouterConfig,
    seeds: Sequence[int],
    split_for: SplitFor,
    *,
    book: ScoreBook,
    knn_k: int = 10,
    fitted: Router | None = None,
    progress: Callable[[str], None] | None = None,
    trained: Sequence = (),
) -> EvalReport:
    """All methods over ``seeds``. ``fitted`` (a loaded artifact) is used as is for the seed it was fitted with.
    ``trained``: router.trained baselines (RouterDC, EmbedLLM), fitted per seed on its calibration rows."""
    names = table.models
    methods: dict[str, MethodScores] = {}

    tested: set[str] = set()

    def record(
        name: str, kind: MethodKind, per_task: dict[str, float], cost: np.ndarray | None = None
    ) -> None:
        method = methods.setdefault(name, MethodScores(name=name, kind=kind))
        method.per_seed.append(per_task)
        if cost is not None and book.has_costs:
            method.per_seed_cost.append(mean_per_task(table, test, cost))

    def routed(name: str, kind: MethodKind, orders: np.ndarray) -> None:
        record(name, kind, book.per_task(test, book.routed(test, orders)), book.routed_cost(test, orders))

    share_counts: dict[str, np.ndarray] = {}
    fitted_k: list[int] = []
    split_source = "hash"
    for seed in seeds:
        split = split_for(seed)
        split_source = split.source
        calibration, test = table.rows_of(split.calibration), table.rows_of(split.test)
        _check_split(table, calibration, test)
        if progress:
            progress(f"seed {seed}: fitting on {len(calibration)} calibration items, testing {len(test)}")
        seed_config = config.model_copy(update={"seed": seed})
        if fitted is not None and fitted.config.seed == seed and fitted.models == names:
            router = fitted
        else:
            router = fit_on_rows(table, book, embeddings, calibration, seed_config, split.source)
        order = router.order(embeddings[test])
        fitted_k.append(int(len(np.unique(router.calibration_labels))))
        tested.update(table.task_of[test].tolist())

        for j, name in enumerate(names):
            record(name, "model", book.per_task(test, book.single[test, j]), book.single_cost[test, j])
        routed("Random Router", "baseline", baselines.random_orders(len(test), len(names), seed))
        single = baselines.best_single(book, calibration)
        record(
            f"Best Single ({names[single]})",
            "baseline",
            book.per_task(test, book.single[test, single]),
            book.single_cost[test, single],
        )
        routed("Max Expert", "baseline", baselines.max_expert_orders(book, calibration, test))
        knn = baselines.knn_orders(
            embeddings[calibration], book.mean[calibration], embeddings[test], names, knn_k
        )
        routed(f"kNN Router (k={knn_k})", "baseline", knn)
        record(ORACLE, "reference", book.per_task(test, book.single[test].max(axis=1)))
        routed(AVENGERS, "avengers", order)
        # --- router.trained baselines (issue 15): extra rows, fitted on this seed's calibration rows only
        for extra in trained:
            routed(extra.label, "baseline", extra.orders(table, book, embeddings, calibration, test, seed))

        tasks = table.task_of[test]
        for task in sorted(set(tasks.tolist())):
            counts = np.bincount(order[tasks == task, 0], minlength=len(names)).astype(np.float64)
            share_counts[task] = share_counts.get(task, np.zeros(len(names))) + counts

    order_kinds = {"model": 0, "baseline": 1, "reference": 2, "avengers": 3}
    ordered = sorted(methods.values(), key=lambda m: order_kinds[m.kind])
    share = {
        task: {name: float(c / counts.sum()) for name, c in zip(names, counts, strict=True)}
        for task, counts in share_counts.items()
    }
    notes = [
        f"Accuracy (%) on the test items, mean over seeds {', '.join(map(str, seeds))}.",
        "Single models and one-model routes use Self-Consistency over the stored samples"
        + (f" (first {book.samples})" if book.samples else "")
        + f"; Avengers and the kNN router use top-{book.top_n}"
        + (" with Model-Switch." if book.top_n > 1 else "."),
        "Code tasks have no answer to vote on: they are scored by the chosen model's first sample.",
        "Where a run stores only a score per item and model (imported tables), that score is used as the"
        " model's expected correctness on the item (no voting).",
        "Best Single and Max Expert are chosen on the calibration items; Oracle takes the best model per query.",
    ]
    calibration_only = sorted(set(table.tasks) - tested - table.ood_tasks)
    if calibration_only:
        notes.append(
            "Calibration only (no test item, so in no average): " + ", ".join(calibration_only) + "."
        )
    if book.has_costs:
        notes.append("Cost: mean cost of a routed answer (every sample drawn for it, all voted), per query.")
    return EvalReport(
        tasks=table.tasks,
        categories=table.categories,
        ood_tasks=sorted(table.ood_tasks),
        calibration_only=calibration_only,
        models=names,
        seeds=list(seeds),
        config=config,
        top_n=book.top_n,
        samples=book.samples,
        split_source=split_source,
        methods=ordered,
        routing_share=share,
        notes=notes,
        fitted_k=fitted_k,
    )


# --------------------------------------------------------------------------- sweeps


class SweepPoint(BaseModel):
    k: int
    validation: float
    validation_std: float
    test: float
    test_std: float


def mean_per_task(table: OutcomeTable, rows: np.ndarray, values: np.ndarray) -> dict[str, float]:
    """Mean of ``values`` (one per row of ``rows``) per task, ignoring NaN."""
    tasks = table.task_of[rows]
    return {t: float(np.nanmean(values[tasks == t])) for t in sorted(set(tasks.tolist()))}


def _avg(per_task: dict[str, float], tasks: Sequence[str]) -> float:
    present = [per_task[t] for t in tasks if t in per_task]
    return float(np.mean(present)) if present else float("nan")


def validation_splits(
    calibration: set, seed: int, *, folds: int | None, repeats: int = 1, fraction: float = 0.8
) -> list[Split]:
    """The validation splits inside ``calibration``: ``repeats`` × ``folds`` hashed folds (repeat r
    ranks items with seed ``seed * 1000 + r``, so repeat 0 is the plain ``seed`` folds), or with
    ``folds`` None one hashed holdout of ``1 - fraction``. Deterministic, and the same for every
    variant: comparisons between variants are paired."""
    items = sorted(calibration)
    if folds is None:
        return [hashed_split(items, fraction=fraction, seed=seed)]
    if repeats < 1:
        raise ValueError(f"validation repeats must be >= 1 (got {repeats})")
    out: list[Split] = []
    for r in range(repeats):
        out += hashed_folds(items, n_folds=folds, seed=seed if r == 0 else seed * 1000 + r)
    return out


def _fold_scores(
    table: OutcomeTable,
    book: ScoreBook,
    embeddings: np.ndarray,
    splits: Sequence[Split],
    config: RouterConfig,
    source: str,
    in_dist: Sequence[str],
) -> list[float]:
    """In-distribution average on the held-out items of each split, never touching the test items."""
    scores = []
    for inner in splits:
        fit_rows, val_rows = table.rows_of(inner.calibration), table.rows_of(inner.test)
        if len(fit_rows) == 0 or len(val_rows) == 0:
            raise ValueError("too few calibration items for this validation split; use fewer folds")
        router = fit_on_rows(table, book, embeddings, fit_rows, config, source)
        correct = book.routed(val_rows, router.order(embeddings[val_rows]))
        scores.append(_avg(book.per_task(val_rows, correct), in_dist))
    return scores


def corrected_standard_error(values: Sequence[float], test_share: float) -> float:
    """Standard error of the mean of (repeated) cross-validation results, with Nadeau & Bengio's
    correction for overlapping training sets: var = (1/J + n_test/n_train) · s². ``test_share`` is
    n_test/n_train (1/(folds-1) for k-fold). 0 for fewer than two values."""
    values = np.asarray(values, dtype=np.float64)
    if len(values) < 2:
        return 0.0
    return float(np.sqrt((1.0 / len(values) + test_share) * values.var(ddof=1)))


class VariantPoint(BaseModel):
    name: str
    config: RouterConfig
    validation: float = Field(description="mean over seeds, repeats and folds of the held-out average")
    validation_std: float = Field(description="std over seeds of each seed's validation mean")
    validation_se: float = Field(default=0.0, description="corrected standard error of the validation mean")
    fold_scores: list[float] = Field(
        default_factory=list, description="held-out average per (seed, repeat, fold), the same splits for all"
    )
    delta: float = Field(default=0.0, description="paired mean gain over the reference (first) variant")
    delta_se: float = Field(default=0.0, description="corrected standard error of that paired gain")
    test: float
    test_std: float
    test_per_task: dict[str, float] = Field(default_factory=dict, description="mean over seeds")


def score_variants(
    table: OutcomeTable,
    embeddings: np.ndarray,
    variants: Sequence[tuple[str, RouterConfig]],
    seeds: Sequence[int],
    split_for: SplitFor,
    *,
    book: ScoreBook,
    validation_folds: int | None = 5,
    validation_repeats: int = 1,
    validation_fraction: float = 0.8,
    progress: Callable[[str], None] | None = None,
) -> list[VariantPoint]:
    """In-distribution average of each router configuration. Validation: ``validation_repeats`` ×
    ``validation_folds``-fold cross-validation inside the calibration items of every seed (or, with
    ``validation_folds=None``, fit on a hashed ``validation_fraction`` of them and score the rest);
    test: fit on all calibration items and score the test items. Every variant sees the same
    validation splits, so its gain over the first variant (the reference) is a paired difference,
    given with its corrected standard error. Choose from the validation columns only
    (:func:`choose_variant`).
    """
    in_dist = [t for t in table.tasks if t not in table.ood_tasks]
    if validation_folds is None:
        test_share = (1.0 - validation_fraction) / validation_fraction
    else:
        test_share = 1.0 / (validation_folds - 1)
    splits = {
        seed: validation_splits(
            split_for(seed).calibration,
            seed,
            folds=validation_folds,
            repeats=validation_repeats,
            fraction=validation_fraction,
        )
        for seed in seeds
    }
    points: list[VariantPoint] = []
    for name, config in variants:
        folds_seen, seed_means, test_scores, per_task = [], [], [], []
        for seed in seeds:
            if progress:
                progress(f"{name} seed {seed}")
            split = split_for(seed)
            cfg = config.model_copy(update={"seed": seed})
            fold = _fold_scores(table, book, embeddings, splits[seed], cfg, split.source, in_dist)
            folds_seen += fold
            seed_means.append(float(np.mean(fold)))
            calibration, test = table.rows_of(split.calibration), table.rows_of(split.test)
            router = fit_on_rows(table, book, embeddings, calibration, cfg, split.source)
            scores = book.per_task(test, book.routed(test, router.order(embeddings[test])))
            per_task.append(scores)
            test_scores.append(_avg(scores, in_dist))
        diffs = np.array(folds_seen) - np.array(points[0].fold_scores if points else folds_seen)
        points.append(
            VariantPoint(
                name=name,
                config=config,
                validation=float(np.mean(folds_seen)),
                validation_std=float(np.std(seed_means)),
                validation_se=corrected_standard_error(folds_seen, test_share),
                fold_scores=[float(x) for x in folds_seen],
                delta=float(diffs.mean()),
                delta_se=corrected_standard_error(diffs, test_share),
                test=float(np.mean(test_scores)),
                test_std=float(np.std(test_scores)),
                test_per_task={t: float(np.mean([p[t] for p in per_task if t in p])) for t in in_dist},
            )
        )
    return points


def choose_variant(points: Sequence[VariantPoint], *, margin_se: float = 1.0) -> VariantPoint:
    """The reference (the first variant: the paper's rule) unless another variant's paired validation
    gain over it exceeds ``margin_se`` of its corrected standard errors; among those that do, the best
    validation average (the earlier-listed on a tie). ``margin_se=0`` is the plain best validation
    average. Ignores the test column."""
    if not points:
        raise ValueError("no variants to choose from")
    reference = points[0]
    winners = [p for p in points[1:] if p.delta > 0 and p.delta > margin_se * p.delta_se]
    if margin_se <= 0:
        winners = list(points)
    if not winners:
        return reference
    best = max(round(p.validation, 9) for p in winners)
    return next(p for p in winners if round(p.validation, 9) == best)


def sweep_k(
    table: OutcomeTable,
    embeddings: np.ndarray,
    config: RouterConfig,
    ks: Sequence[int],
    seeds: Sequence[int],
    split_for: SplitFor,
    *,
    book: ScoreBook,
    validation_folds: int | None = 5,
    validation_fraction: float = 0.8,
    progress: Callable[[str], None] | None = None,
) -> list[SweepPoint]:
    """In-distribution average vs K (validation and test as in :func:`score_variants`).

    Choose K from the validation column only (:func:`choose_k`); the test column is for reporting.
    """
    points = score_variants(
        table,
        embeddings,
        [(f"K={k}", config.model_copy(update={"k": k})) for k in ks],
        seeds,
        split_for,
        book=book,
        validation_folds=validation_folds,
        validation_fraction=validation_fraction,
        progress=progress,
    )
    return [
        SweepPoint(
            k=p.config.k,
            validation=p.validation,
            validation_std=p.validation_std,
            test=p.test,
            test_std=p.test_std,
        )
        for p in points
    ]


def choose_k(points: Sequence[SweepPoint]) -> int:
    """The K with the best validation average (the smaller K on a tie); ignores the test column."""
    if not points:
        raise ValueError("no sweep points to choose K from")
    return min(points, key=lambda p: (-round(p.validation, 9), p.k)).k


class ModelCountPoint(BaseModel):
    budget: int
    models: list[str] = Field(description="models selected with the first seed")
    test: float
    test_std: float


def sweep_model_count(
    table: OutcomeTable,
    embeddings: np.ndarray,
    config: RouterConfig,
    seeds: Sequence[int],
    split_for: SplitFor,
    *,
    book: ScoreBook,
    budgets: Sequence[int] | None = None,
) -> list[ModelCountPoint]:
    """In-distribution test average when routing only among the s(m)-selected ``budget`` models."""
    in_dist = [t for t in table.tasks if t not in table.ood_tasks]
    budgets = list(budgets or range(1, len(table.models) + 1))
    results: dict[int, list[float]] = {b: [] for b in budgets}
    chosen: dict[int, list[str]] = {}
    for seed in seeds:
        split = split_for(seed)
        calibration, test = table.rows_of(split.calibration), table.rows_of(split.test)
        router = fit_on_rows(
            table, book, embeddings, calibration, config.model_copy(update={"seed": seed}), split.source
        )
        for budget in budgets:
            selected = select_models(router, budget)
            chosen.setdefault(budget, selected)
            sub = router.restricted_to(selected)
            positions = np.array([table.models.index(m) for m in selected])
            order = positions[sub.order(embeddings[test])]
            results[budget].append(_avg(book.per_task(test, book.routed(test, order)), in_dist))
    return [
        ModelCountPoint(budget=b, models=chosen[b], test=float(np.mean(v)), test_std=float(np.std(v)))
        for b, v in results.items()
    ]
