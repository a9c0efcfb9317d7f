"""Accuracy against cost: the router's performance-efficiency trade-off (Avengers-Pro) swept over alpha.

For each seed the router is fitted once (the clusters do not depend on alpha) and routed with every
alpha; each point is the in-distribution test average accuracy (%) and the mean cost of a routed
answer (every sample drawn for it, all voted), both averaged over tasks, then over seeds. Every
single model, Max Expert (best calibration model per task) and the Oracle (per query the cheapest
of the models that score best on it) are points of the same plot.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel

from router import baselines
from router.evaluate import SplitFor, fit_on_rows
from router.model import RouterConfig
from router.scoring import ScoreBook
from router.table import OutcomeTable

PointKind = Literal["router", "model", "max_expert", "oracle"]
DEFAULT_ALPHAS = tuple(round(a, 2) for a in np.linspace(0.0, 1.0, 21))


class FrontierPoint(BaseModel):
    label: str
    kind: PointKind
    alpha: float | None = None
    accuracy: float
    cost: float
    on_frontier: bool = False


class FrontierReport(BaseModel):
    points: list[FrontierPoint]
    best_single: str
    match: FrontierPoint | None = None  # cheapest router point at least as accurate as the best single

    def router_points(self) -> list[FrontierPoint]:
        return [p for p in self.points if p.kind == "router"]


def _task_mean(values: np.ndarray, tasks: np.ndarray, in_dist: Sequence[str]) -> float:
    return float(np.mean([np.nanmean(values[tasks == t]) for t in in_dist if (tasks == t).any()]))


def oracle_choice(correct: np.ndarray, cost: np.ndarray) -> np.ndarray:
    """Per row, the cheapest model among those with the row's best score."""
    best = correct.max(axis=1, keepdims=True)
    masked = np.where(np.isclose(correct, best), np.nan_to_num(cost, nan=np.inf), np.inf)
    return np.argmin(masked, axis=1)


def pareto(points: Sequence[FrontierPoint]) -> set[int]:
    """Indices of the points no other point beats (cheaper or equal cost and higher accuracy, or
    equal accuracy and lower cost)."""
    keep = set()
    for i, p in enumerate(points):
        dominated = any(
            (q.cost <= p.cost and q.accuracy > p.accuracy) or (q.cost < p.cost and q.accuracy >= p.accuracy)
            for q in points
        )
        if not dominated:
            keep.add(i)
    return keep


def cost_frontier(
    table: OutcomeTable,
    embeddings: np.ndarray,
    config: RouterConfig,
    seeds: Sequence[int],
    split_for: SplitFor,
    *,
    book: ScoreBook,
    alphas: Sequence[float] = DEFAULT_ALPHAS,
) -> FrontierReport:
    if not book.has_costs:
        raise ValueError("the run's samples carry no cost: import a table with costs or pass --prices POOL")
    in_dist = [t for t in table.tasks if t not in table.ood_tasks]
    names = table.models
    sums: dict[tuple[str, PointKind, float | None], list[tuple[float, float]]] = {}
    single_names = []

    def add(label: str, kind: PointKind, alpha: float | None, correct, cost, tasks) -> None:
        sums.setdefault((label, kind, alpha), []).append(
            (100.0 * _task_mean(correct, tasks, in_dist), _task_mean(cost, tasks, in_dist))
        )

    for seed in seeds:
        split = split_for(seed)
        calibration, test = table.rows_of(split.calibration), table.rows_of(split.test)
        test = test[np.isin(table.task_of[test], in_dist)]
        tasks = table.task_of[test]
        router = fit_on_rows(
            table, book, embeddings, calibration, config.model_copy(update={"seed": seed}), split.source
        )
        for alpha in alphas:
            order = router.with_config(alpha=float(alpha)).order(embeddings[test])
            add(
                f"Avengers α={alpha:g}",
                "router",
                float(alpha),
                book.routed(test, order),
                book.routed_cost(test, order),
                tasks,
            )
        for j, name in enumerate(names):
            add(name, "model", None, book.single[test, j], book.single_cost[test, j], tasks)
        single_names.append(names[baselines.best_single(book, calibration)])
        expert = baselines.max_expert_orders(book, calibration, test)
        add(
            "Max Expert", "max_expert", None, book.routed(test, expert), book.routed_cost(test, expert), tasks
        )
        pick = oracle_choice(book.single[test], book.single_cost[test])
        rows = np.arange(len(test))
        add(
            "Oracle", "oracle", None, book.single[test][rows, pick], book.single_cost[test][rows, pick], tasks
        )

    points = [
        FrontierPoint(
            label=label,
            kind=kind,
            alpha=alpha,
            accuracy=float(np.mean([a for a, _ in values])),
            cost=float(np.mean([c for _, c in values])),
        )
        for (label, kind, alpha), values in sums.items()
    ]
    frontier = pareto([p for p in points if p.kind != "oracle"])
    candidates = [p for p in points if p.kind != "oracle"]
    for i, p in enumerate(candidates):
        p.on_frontier = i in frontier
    best_single = max(set(single_names), key=single_names.count)
    reference = next(p for p in points if p.kind == "model" and p.label == best_single)
    matching = [p for p in points if p.kind == "router" and p.accuracy >= reference.accuracy - 1e-9]
    match = min(matching, key=lambda p: (p.cost, -p.accuracy)) if matching else None
    return FrontierReport(points=points, best_single=best_single, match=match)


def frontier_markdown(report: FrontierReport) -> str:
    lines = ["| point | alpha | accuracy (%) | cost per query | Pareto |", "|---|---:|---:|---:|:---:|"]
    for p in sorted(report.points, key=lambda p: (p.kind != "router", p.cost)):
        alpha = "" if p.alpha is None else f"{p.alpha:g}"
        lines.append(
            f"| {p.label} | {alpha} | {p.accuracy:.2f} | {p.cost:.6g} | {'yes' if p.on_frontier else ''} |"
        )
    reference = next(p for p in report.points if p.kind == "model" and p.label == report.best_single)
    if report.match is not None:
        share = (
            f" ({100 * report.match.cost / reference.cost:.1f}% of its cost)" if reference.cost > 0 else ""
        )
        lines.append(
            f"\nThe router matches the best single model ({report.best_single}: {reference.accuracy:.2f}% at "
            f"{reference.cost:.6g}) at α={report.match.alpha:g}: {report.match.accuracy:.2f}% at "
            f"{report.match.cost:.6g}{share}."
        )
    else:
        lines.append(
            f"\nNo α reaches the best single model ({report.best_single}: {reference.accuracy:.2f}%)."
        )
    return "\n".join(lines)


def write_frontier_csv(report: FrontierReport, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["label", "kind", "alpha", "accuracy", "cost", "on_frontier"])
        for p in report.points:
            writer.writerow(
                [
                    p.label,
                    p.kind,
                    "" if p.alpha is None else p.alpha,
                    f"{p.accuracy:.4f}",
                    f"{p.cost:.8g}",
                    int(p.on_frontier),
                ]
            )
    return path


def plot_frontier(report: FrontierReport, path: Path) -> Path:
    from router.reports import _pyplot, _save

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    routed = sorted(report.router_points(), key=lambda p: p.alpha)
    ax.plot([p.cost for p in routed], [p.accuracy for p in routed], marker="o", label="Avengers (α sweep)")
    markers = {"model": ("s", "gray"), "max_expert": ("D", "tab:green"), "oracle": ("*", "tab:red")}
    for p in report.points:
        if p.kind == "router":
            continue
        marker, color = markers[p.kind]
        ax.scatter([p.cost], [p.accuracy], marker=marker, color=color, zorder=3)
        ax.annotate(
            p.label.split("/")[-1],
            (p.cost, p.accuracy),
            fontsize=7,
            xytext=(3, 3),
            textcoords="offset points",
        )
    if report.match is not None:
        ax.scatter(
            [report.match.cost],
            [report.match.accuracy],
            s=120,
            facecolors="none",
            edgecolors="black",
            label=f"matches best single (α={report.match.alpha:g})",
            zorder=4,
        )
    ax.set_xlabel("mean cost per query")
    ax.set_ylabel("in-distribution average accuracy (%)")
    ax.set_title("Accuracy vs cost")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _save(plt, fig, path)
