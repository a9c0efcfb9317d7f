"""Avengers on RouterDC's released per-query results: the paper's rule, training-free variants chosen
by validation, and RouterDC's own reported figures.

Data: RouterDC's ``datasets/split2_model7`` tables, read from ``--routerdata`` or, by default,
``$HARNESS_ROUTERDATA_DIR/routerdc_split2_model7`` (``HARNESS_ROUTERDATA_DIR`` defaults to
``../shared/routerdata`` beside the repository). Calibrate on the train files, measure on the
test files (the files' own split), offline MiniLM embeddings (cached on disk under
``$HARNESS_CACHE_DIR``; the first run embeds ~15k queries, >20 min on 2 busy cores), k-means,
mean over the paper's 5 seeds.

Every variant is scored twice: validation = repeated 5-fold cross-validation inside the train files
(never a test file; the same folds for every variant, so comparisons are paired), test = fitted on
all train files, scored on the test files. The default is the paper's rule unless a variant's paired
validation gain over it exceeds its corrected standard error (``--margin-se``); the test column is
only reported. Prints the
variant table, the Table 2 layout for the paper's rule and for the chosen default, and ends with
exactly one line for the default chosen by validation:

    avengers in-distribution average: NN.NN

    python bench/router_fidelity.py [--routerdata DIR] [--out DIR] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from results.store import ResultsStore  # noqa: E402
from router import baselines  # noqa: E402
from router.cluster import memoised_fits  # noqa: E402
from router.embedders import make_embedder  # noqa: E402
from router.evaluate import (  # noqa: E402
    AVENGERS,
    ORACLE,
    choose_variant,
    corrected_standard_error,
    evaluate,
    score_variants,
    split_provider,
    validation_splits,
)
from router.importers import import_routerdc  # noqa: E402
from router.model import RouterConfig  # noqa: E402
from router.reports import markdown_table, ordered_tasks, write_report  # noqa: E402
from router.runs import embed_table, open_table  # noqa: E402
from router.scoring import ScoreBook  # noqa: E402

SEEDS = [42, 999, 2024, 2025, 3407]
ROUTERDATA_ENV = "HARNESS_ROUTERDATA_DIR"
# RouterDC (Chen et al., NeurIPS 2024) on this data, as reported (CMMLU and the average approximate).
ROUTERDC = {"mmlu": 61.07, "gsm8k": 70.32, "arc_challenge": 58.52, "humaneval": 51.02, "cmmlu": 51.8}
ROUTERDC_AVG = 58.5
PAPER = "paper: raw profile, nearest cluster, K=64"


def default_routerdata() -> Path:
    env = os.environ.get(ROUTERDATA_ENV)
    base = Path(env) if env else Path(__file__).resolve().parent.parent.parent / "shared" / "routerdata"
    return base / "routerdc_split2_model7"


def variants(embedder: str, quick: bool) -> list[tuple[str, RouterConfig]]:
    """The paper's rule first (the reference every other variant must beat), then the deviations."""
    base = RouterConfig(k=64, embedder=embedder, split_fraction=None)

    def v(name: str, **update) -> tuple[str, RouterConfig]:
        return name, base.model_copy(update=update)

    out = [(PAPER, base)]
    out += [v(f"paper rule, K={k}", k=k) for k in (16, 128)]
    out += [v("soft top-3 clusters (authors' code)", routing="soft")]
    out += [v(f"kNN, similarity-weighted, k={n}", routing="knn", knn_k=n) for n in (50, 200)]
    out += [v("shrink to global, λ=16", shrinkage=16)]
    out += [v(f"shrink to dataset, λ={lam:g}", shrinkage=lam, prior="task") for lam in (16, 64)]
    out += [v("shrink to dataset, λ by empirical Bayes", shrinkage="auto", prior="task")]
    out += [v("shrink to parent K=8, λ=64", shrinkage=64, prior="parent")]
    out += [v(f"CI ties to dataset, z={z:g}", tie_z=z, prior="task") for z in (1, 2)]
    out += [v("K=64 + 16 + 128 combined", ensemble_ks=[16, 128])]
    out += [
        v("K=64+16+128, shrink to dataset λ=16", ensemble_ks=[16, 128], shrinkage=16, prior="task"),
        v("shrink to dataset λ=16 + CI ties z=1", shrinkage=16, prior="task", tie_z=1),
    ]
    out += [v(f"per-dataset clusters, K={k}", k=k, stratify=True) for k in (16, 64)]
    out += [
        v(
            f"per-dataset clusters K={k}, λ by empirical Bayes",
            k=k,
            stratify=True,
            shrinkage="auto",
            prior="task",
        )
        for k in (16, 64)
    ]
    out += [v("per-dataset clusters K=64, CI ties z=1", stratify=True, tie_z=1, prior="task")]
    if quick:
        keep = {
            PAPER,
            "shrink to dataset, λ by empirical Bayes",
            "per-dataset clusters K=16, λ by empirical Bayes",
        }
        out = [x for x in out if x[0] in keep]
    return out


def describe(config: RouterConfig) -> str:
    return f"`route fit {' '.join(flags(config)) or '(defaults)'}`"


def flags(config: RouterConfig) -> list[str]:
    out = [] if config.k == 64 else [f"--k {config.k}"]
    if config.routing != "nearest":
        out.append(f"--routing {config.routing}")
    if config.routing == "knn":
        out.append(f"--local-k {config.knn_k} --local-beta {config.knn_beta:g}")
    if config.stratify:
        out.append("--stratify")
    if config.shrinkage:
        lam = config.shrinkage if config.shrinkage == "auto" else f"{config.shrinkage:g}"
        out.append(f"--shrinkage {lam} --prior {config.prior}")
    if config.tie_z:
        out.append(f"--tie-z {config.tie_z:g} --prior {config.prior}")
    if config.ensemble_ks:
        out.append("--ensemble-k " + ",".join(map(str, config.ensemble_ks)))
    return list(dict.fromkeys(out))


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--routerdata", type=Path, default=default_routerdata())
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "router_fidelity")
    parser.add_argument("--embedder", default="minilm")
    parser.add_argument("--validation-folds", type=int, default=5, help="CV folds inside the train files")
    parser.add_argument("--validation-repeats", type=int, default=2, help="repeats of the CV (other folds)")
    parser.add_argument(
        "--margin-se",
        type=float,
        default=1.0,
        help="a variant replaces the paper's rule only if its paired validation gain exceeds this many SE",
    )
    parser.add_argument("--quick", action="store_true", help="only four variants (a smoke run)")
    # --- router.trained baselines (issue 15)
    parser.add_argument("--no-trained", action="store_true", help="skip RouterDC (ours) and EmbedLLM (ours)")
    parser.add_argument(
        "--trained-peak-test-step",
        action="store_true",
        help="also report the trained routers at their best test checkpoint (the paper's optimistic reporting)",
    )
    args = parser.parse_args()
    if not args.routerdata.is_dir():
        print(f"router data not found at {args.routerdata} (set {ROUTERDATA_ENV})", file=sys.stderr)
        return 2

    args.out.mkdir(parents=True, exist_ok=True)
    run_dir = args.out / "run"
    if (run_dir / "results.sqlite").exists():
        (run_dir / "results.sqlite").unlink()
    with ResultsStore(run_dir) as store:
        import_routerdc(args.routerdata, store)
    table, recorded = open_table(run_dir)
    started = time.perf_counter()
    embeddings = embed_table(table, make_embedder(args.embedder, progress=True))
    print(f"embedded {len(table)} queries in {time.perf_counter() - started:.1f}s", file=sys.stderr)

    started = time.perf_counter()
    with memoised_fits():  # variants share clusterings, and so do the final evaluations
        return report(args, table, embeddings, recorded, started)


def max_expert_row(table, book, split_for, args, tasks) -> tuple[list[float], float]:
    """Max Expert (the best calibration model per dataset; it knows each query's dataset, the router
    does not) on the same validation splits as the variants, and on the test files."""
    folds, test_scores = [], []
    for seed in SEEDS:
        split = split_for(seed)
        for inner in validation_splits(
            split.calibration, seed, folds=args.validation_folds, repeats=args.validation_repeats
        ):
            fit_rows, val_rows = table.rows_of(inner.calibration), table.rows_of(inner.test)
            orders = baselines.max_expert_orders(book, fit_rows, val_rows)
            per_task = book.per_task(val_rows, book.routed(val_rows, orders))
            folds.append(float(np.mean([per_task[t] for t in tasks])))
        calibration, test = table.rows_of(split.calibration), table.rows_of(split.test)
        per_task = book.per_task(
            test, book.routed(test, baselines.max_expert_orders(book, calibration, test))
        )
        test_scores.append(float(np.mean([per_task[t] for t in tasks])))
    return folds, float(np.mean(test_scores))


def report(args, table, embeddings, recorded, started: float) -> int:
    book = ScoreBook(table)
    split_for = split_provider(table, recorded, None)
    points = score_variants(
        table,
        embeddings,
        variants(args.embedder, args.quick),
        SEEDS,
        split_for,
        book=book,
        validation_folds=args.validation_folds,
        validation_repeats=args.validation_repeats,
        progress=lambda text: print(text, file=sys.stderr),
    )
    chosen = choose_variant(points, margin_se=args.margin_se)
    best_validation = choose_variant(points, margin_se=0)
    paper = points[0]
    tasks = [t for t in table.tasks if t not in table.ood_tasks]
    units = len(paper.fold_scores)
    test_share = 1.0 / (args.validation_folds - 1)
    print(
        f"## Variants ({len(points)}; in-distribution average; validation = {args.validation_repeats} × "
        f"{args.validation_folds}-fold CV inside the train files of each of the seeds {SEEDS} ({units} "
        f"held-out folds, the same for every variant), mean ± corrected standard error (Nadeau & Bengio); "
        f"Δ = paired gain over the paper's rule ± its corrected SE; test = the test files, mean ± std over "
        f"seeds; {time.perf_counter() - started:.0f}s)\n"
    )
    print("| variant | validation | Δ validation | test | " + " | ".join(tasks) + " |")
    print("|---|---:|---:|---:|" + "---:|" * len(tasks))
    for p in points:
        mark = " **(default: chosen by validation)**" if p is chosen else (" (paper)" if p is paper else "")
        if p is best_validation and p is not chosen:
            mark += " (best validation mean)"
        print(
            f"| {p.name}{mark} | {p.validation:.2f} ± {p.validation_se:.2f} | {p.delta:+.2f} ± {p.delta_se:.2f} | "
            f"{p.test:.2f} ± {p.test_std:.2f} | "
            + " | ".join(f"{p.test_per_task[t]:.2f}" for t in tasks)
            + " |"
        )
    expert_folds, expert_test = max_expert_row(table, book, split_for, args, tasks)
    gain = np.array(expert_folds) - np.array(paper.fold_scores)
    print(
        f"| Max Expert (baseline: knows each query's dataset) | {np.mean(expert_folds):.2f} ± "
        f"{corrected_standard_error(expert_folds, test_share):.2f} | {gain.mean():+.2f} ± "
        f"{corrected_standard_error(gain, test_share):.2f} | {expert_test:.2f} | |"
    )
    reference = np.array(paper.fold_scores)
    uncorrected = [  # the fold-to-fold SE without the overlap term: what a naive paired t-test uses
        p.model_copy(update={"delta_se": corrected_standard_error(np.array(p.fold_scores) - reference, 0.0)})
        for p in points
    ]
    naive = choose_variant(uncorrected, margin_se=args.margin_se)
    print(
        f"\nRule: the paper's rule unless a variant's paired validation gain exceeds {args.margin_se:g} "
        f"corrected SE; then the best validation mean among those that do. Plain best validation mean: "
        f"{best_validation.name} ({best_validation.validation:.2f}, test {best_validation.test:.2f}). "
        f"With the uncorrected fold-to-fold SE the rule would pick: {naive.name} (test {naive.test:.2f})."
    )
    (args.out / "variants.json").write_text(
        json.dumps([p.model_dump(mode="json") for p in points], indent=1) + "\n", encoding="utf-8"
    )
    print(f"\nDefault chosen by validation: {chosen.name}, i.e. {describe(chosen.config)}")

    reports = {}
    for label, point in (("paper's rule", paper), ("default chosen by validation", chosen)):
        report = evaluate(table, embeddings, point.config, SEEDS, split_for, book=book)
        write_report(report, args.out / ("report-paper" if point is paper else "report-default"))
        reports[label] = report
        print(f"\n## {label}: {point.name}\n")
        print(markdown_table(report))
        print(
            "| RouterDC (reported) | "
            + " | ".join(f"{ROUTERDC.get(t, float('nan')):.2f}" for t in ordered_tasks(report, tasks))
            + f" | ≈{ROUTERDC_AVG:.1f} |"
        )
        if point is chosen and chosen is paper:
            break
    report = reports.get("default chosen by validation", reports["paper's rule"])
    avengers = report.method(AVENGERS)
    print("\nAvengers per-task std over seeds: " + ", ".join(f"{t} {avengers.std(t):.2f}" for t in tasks))
    print(f"Oracle average: {report.method(ORACLE).average(tasks):.2f}")
    paper_avg = reports["paper's rule"].method(AVENGERS).average(tasks)
    print(
        f"Paper's rule: {paper_avg:.2f}; default chosen by validation ({chosen.name}): {avengers.average(tasks):.2f}"
    )
    if not args.no_trained:
        trained_rows(args, table, embeddings, chosen.config, split_for, book, tasks)
    print(f"\nfiles: {args.out}", file=sys.stderr)
    print(f"avengers in-distribution average: {avengers.average(tasks):.2f}")
    return 0


# --------------------------------------------------------------------------- router.trained (issue 15)


def trained_rows(args, table, embeddings, config, split_for, book, tasks) -> None:
    """RouterDC (ours) and EmbedLLM (ours) beside the Avengers (the default chosen by validation), Table 2 layout."""
    from router.trained import trained_baselines

    extra = trained_baselines()
    if args.trained_peak_test_step:
        extra += trained_baselines(peak_test_step=True)
    started = time.perf_counter()
    report = evaluate(table, embeddings, config, SEEDS, split_for, book=book, trained=extra)
    write_report(report, args.out / "report-trained")
    print(f"\n## Trained baselines (calibration only, seeds {SEEDS}; {time.perf_counter() - started:.0f}s)\n")
    print(markdown_table(report))
    for method in extra:
        scores = report.method(method.label)
        print(
            f"{method.label}: " + ", ".join(f"{t} {scores.mean(t):.2f} ± {scores.std(t):.2f}" for t in tasks)
        )
    routerdc = report.method(extra[0].label).average(tasks)
    print(
        f"RouterDC (reported) average ≈{ROUTERDC_AVG:.1f}; ours {routerdc:.2f} ({routerdc - ROUTERDC_AVG:+.2f})"
    )
    print(f"routerdc (ours) in-distribution average: {routerdc:.2f}")


if __name__ == "__main__":
    sys.exit(main())
