"""Tables (markdown + CSV) and figures (PNG) of a router evaluation, in the Avengers paper's layouts.

Table 2: in-distribution datasets as columns grouped by category, rows = models, baselines,
Avengers, with an Avg column. Table 3: the same for out-of-distribution datasets. Figures: the K
sweep (validation and test, log-x), the #models curve, and per-task routing shares (Figure 9 style).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from pathlib import Path

from router.evaluate import EvalReport, ModelCountPoint, SweepPoint

CATEGORY_ORDER = ("math", "code", "logic", "knowledge", "affective")


def ordered_tasks(report: EvalReport, tasks: Sequence[str]) -> list[str]:
    def key(task: str) -> tuple[int, str, str]:
        category = report.categories.get(task, "")
        rank = CATEGORY_ORDER.index(category) if category in CATEGORY_ORDER else len(CATEGORY_ORDER)
        return rank, category, task

    return sorted(tasks, key=key)


def _fmt(value: float) -> str:
    return "—" if value is None or math.isnan(value) else f"{value:.2f}"


def table_rows(report: EvalReport, tasks: Sequence[str]) -> list[tuple[str, list[float], float]]:
    return [(m.name, [m.mean(t) for t in tasks], m.average(tasks)) for m in report.methods]


def markdown_table(report: EvalReport, *, ood: bool = False) -> str:
    tasks = ordered_tasks(report, report.ood_tasks if ood else report.in_distribution)
    if not tasks:
        return ""
    categories = [report.categories.get(t, "") for t in tasks]
    with_cost = any(m.per_seed_cost for m in report.methods)
    cost_head = " Cost/query |" if with_cost else ""
    lines = [
        "| Method | " + " | ".join(tasks) + " | Avg |" + cost_head,
        "|---|" + "---:|" * (len(tasks) + 1 + with_cost),
        "| *category* | " + " | ".join(f"*{c}*" for c in categories) + " | |" + (" |" if with_cost else ""),
    ]
    rows = table_rows(report, tasks)
    best = {i: max(r[1][i] for r in rows if r[0] != "Oracle") for i in range(len(tasks))}
    for name, values, avg in rows:
        cells = [
            f"**{_fmt(v)}**" if name != "Oracle" and not math.isnan(v) and v == best[i] else _fmt(v)
            for i, v in enumerate(values)
        ]
        label = f"**{name}**" if name == "Avengers" else name
        cost = ""
        if with_cost:
            value = report.method(name).cost(tasks)
            cost = " — |" if math.isnan(value) else f" {value:.6g} |"
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {_fmt(avg)} |" + cost)
    return "\n".join(lines)


def write_csv(report: EvalReport, path: Path, *, ood: bool = False) -> Path:
    tasks = ordered_tasks(report, report.ood_tasks if ood else report.in_distribution)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["method", "kind", *tasks, "avg", *(f"{t}_std" for t in tasks), "cost_per_query"])
        for m in report.methods:
            writer.writerow(
                [
                    m.name,
                    m.kind,
                    *(f"{m.mean(t):.4f}" for t in tasks),
                    f"{m.average(tasks):.4f}",
                    *(f"{m.std(t):.4f}" for t in tasks),
                    "" if math.isnan(m.cost(tasks)) else f"{m.cost(tasks):.8g}",
                ]
            )
    return path


def routing_share_markdown(report: EvalReport) -> str:
    tasks = ordered_tasks(report, list(report.routing_share))
    lines = ["| Task | " + " | ".join(report.models) + " |", "|---|" + "---:|" * len(report.models)]
    for task in tasks:
        share = report.routing_share[task]
        lines.append(
            f"| {task} | " + " | ".join(f"{100 * share.get(m, 0.0):.1f}%" for m in report.models) + " |"
        )
    return "\n".join(lines)


def write_routing_share_csv(report: EvalReport, path: Path) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["task", *report.models])
        for task in ordered_tasks(report, list(report.routing_share)):
            writer.writerow([task, *(f"{report.routing_share[task].get(m, 0.0):.4f}" for m in report.models)])
    return path


def full_markdown(report: EvalReport) -> str:
    parts = [
        f"# Avengers router evaluation\n\n{report.k_description()}, clusterer={report.config.clusterer}, "
        f"embedder={report.config.embedder}, routing={report.config.routing}, top-n={report.top_n}, "
        f"split={report.split_source}, seeds={', '.join(map(str, report.seeds))}.",
        "## In-distribution (Table 2 layout)\n\n" + markdown_table(report),
    ]
    if report.ood_tasks:
        parts.append("## Out-of-distribution (Table 3 layout)\n\n" + markdown_table(report, ood=True))
    parts.append("## Share of test queries routed to each model (top-1)\n\n" + routing_share_markdown(report))
    parts.append("## Notes\n\n" + "\n".join(f"- {n}" for n in report.notes))
    return "\n\n".join(parts) + "\n"


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(plt, fig, path: Path) -> Path:
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_k_sweep(
    points: Sequence[SweepPoint], path: Path, *, title: str = "Avengers: accuracy vs clusters K"
) -> Path:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    ks = [p.k for p in points]
    ax.errorbar(
        ks,
        [p.validation for p in points],
        yerr=[p.validation_std for p in points],
        marker="o",
        label="validation (held-out calibration)",
        capsize=3,
    )
    ax.errorbar(
        ks, [p.test for p in points], yerr=[p.test_std for p in points], marker="s", label="test", capsize=3
    )
    ax.set_xscale("log")
    ax.set_xticks(ks, [str(k) for k in ks])
    ax.set_xlabel("number of clusters K (log scale)")
    ax.set_ylabel("in-distribution average accuracy (%)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    return _save(plt, fig, path)


def plot_model_count(
    points: Sequence[ModelCountPoint], path: Path, *, reference: float | None = None
) -> Path:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    budgets = [p.budget for p in points]
    ax.errorbar(
        budgets,
        [p.test for p in points],
        yerr=[p.test_std for p in points],
        marker="o",
        capsize=3,
        label="Avengers with the s(m)-selected models",
    )
    if reference is not None:
        ax.axhline(reference, color="gray", linestyle="--", label="best single model")
    ax.set_xticks(budgets)
    ax.set_xlabel("number of models")
    ax.set_ylabel("in-distribution average accuracy (%)")
    ax.set_title("Avengers: accuracy vs number of models")
    ax.grid(alpha=0.3)
    ax.legend()
    return _save(plt, fig, path)


def plot_routing_share(report: EvalReport, path: Path) -> Path:
    plt = _pyplot()
    tasks = ordered_tasks(report, list(report.routing_share))
    fig, ax = plt.subplots(figsize=(max(6, 1.2 * len(tasks) + 3), 4.5))
    bottom = [0.0] * len(tasks)
    cmap = plt.get_cmap("tab20")
    for j, model in enumerate(report.models):
        heights = [100 * report.routing_share[t].get(model, 0.0) for t in tasks]
        ax.bar(tasks, heights, bottom=bottom, label=model.split("/")[-1], color=cmap(j % 20))
        bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    ax.set_ylabel("share of test queries routed (%)")
    ax.set_title("Where Avengers routes each task's queries (top-1)")
    ax.legend(fontsize=7, bbox_to_anchor=(1.01, 1), loc="upper left")
    ax.tick_params(axis="x", rotation=30)
    return _save(plt, fig, path)


def write_report(report: EvalReport, out_dir: Path) -> dict[str, Path]:
    """Write report.md, table2.csv, (table3.csv), routing_share.csv/.png and report.json into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = {
        "markdown": out_dir / "report.md",
        "table2": write_csv(report, out_dir / "table2.csv"),
        "routing_share_csv": write_routing_share_csv(report, out_dir / "routing_share.csv"),
        "routing_share_png": plot_routing_share(report, out_dir / "routing_share.png"),
        "json": out_dir / "report.json",
    }
    written["markdown"].write_text(full_markdown(report), encoding="utf-8")
    written["json"].write_text(report.model_dump_json(indent=2), encoding="utf-8")
    if report.ood_tasks:
        written["table3"] = write_csv(report, out_dir / "table3.csv", ood=True)
    return written
