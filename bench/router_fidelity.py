"""Avengers on RouterDC's released per-query results, next to RouterDC's own reported figures.

Calibrates on the train files, measures on the test files (the files' own split), offline MiniLM
embeddings (on-disk cache: the first run embeds ~15k queries, >20 min on 2 busy cores), k-means,
mean over 5 clustering seeds. Prints the Table 2 layout, a K sweep (validation = 5-fold
cross-validation inside the train files, which also picks K; the test column is only reported),
the #models curve, writes the CSV/PNG files to --out, and ends with exactly one line (K=--k):

    avengers in-distribution average: NN.NN

    python bench/router_fidelity.py [--routerdata ../shared/routerdata/routerdc_split2_model7] [--out DIR]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from results.store import ResultsStore  # noqa: E402
from router.embedders import make_embedder  # noqa: E402
from router.evaluate import (  # noqa: E402
    AVENGERS,
    ORACLE,
    choose_k,
    evaluate,
    split_provider,
    sweep_k,
    sweep_model_count,
)
from router.importers import import_routerdc  # noqa: E402
from router.model import RouterConfig  # noqa: E402
from router.reports import markdown_table, ordered_tasks, plot_k_sweep, plot_model_count, write_report  # noqa: E402
from router.runs import embed_table, open_table  # noqa: E402
from router.scoring import ScoreBook  # noqa: E402

SEEDS = [42, 999, 2024, 2025, 3407]
# RouterDC (Chen et al., NeurIPS 2024) on this data, as reported (CMMLU and the average approximate).
ROUTERDC = {"mmlu": 61.07, "gsm8k": 70.32, "arc_challenge": 58.52, "humaneval": 51.02, "cmmlu": 51.8}
ROUTERDC_AVG = 58.5


def default_routerdata() -> Path:
    env = os.environ.get("HARNESS_ROUTERDATA_DIR")
    base = Path(env) if env else Path(__file__).resolve().parent.parent.parent / "shared" / "routerdata"
    return base / "routerdc_split2_model7"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--routerdata", type=Path, default=default_routerdata())
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "router_fidelity")
    parser.add_argument("--k", type=int, default=64)
    parser.add_argument("--sweep", default="1,4,16,64,256,1024")
    parser.add_argument("--embedder", default="minilm")
    parser.add_argument("--shrinkage", type=float, default=1.0)
    parser.add_argument("--validation-folds", type=int, default=5, help="CV folds inside the train files")
    args = parser.parse_args()
    if not args.routerdata.is_dir():
        print(f"router data not found at {args.routerdata} (set HARNESS_ROUTERDATA_DIR)", file=sys.stderr)
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

    book = ScoreBook(table)
    split_for = split_provider(table, recorded, None)
    config = RouterConfig(k=args.k, embedder=args.embedder, split_fraction=None, shrinkage=args.shrinkage)
    started = time.perf_counter()
    report = evaluate(table, embeddings, config, SEEDS, split_for, book=book)
    eval_s = time.perf_counter() - started
    write_report(report, args.out / "report")

    tasks = report.in_distribution
    print(
        f"## Avengers vs RouterDC on routerdc_split2_model7 (K={args.k}, seeds {SEEDS}; eval {eval_s:.1f}s)\n"
    )
    print(markdown_table(report))
    print(
        "| RouterDC (reported) | "
        + " | ".join(f"{ROUTERDC.get(t, float('nan')):.2f}" for t in ordered_tasks(report, tasks))
        + f" | ≈{ROUTERDC_AVG:.1f} |"
    )
    avengers = report.method(AVENGERS)
    print("\nAvengers per-task std over seeds: " + ", ".join(f"{t} {avengers.std(t):.2f}" for t in tasks))
    print(f"Oracle average: {report.method(ORACLE).average(tasks):.2f}")

    ks = [int(k) for k in args.sweep.split(",") if k]
    started = time.perf_counter()
    points = sweep_k(
        table, embeddings, config, ks, SEEDS, split_for, book=book, validation_folds=args.validation_folds
    )
    print(
        f"\n## K sweep (in-distribution average, mean ± std over seeds; validation = "
        f"{args.validation_folds}-fold CV inside the train files; {time.perf_counter() - started:.0f}s)\n"
    )
    print("| K | validation | test |\n|---:|---:|---:|")
    for p in points:
        print(f"| {p.k} | {p.validation:.2f} ± {p.validation_std:.2f} | {p.test:.2f} ± {p.test_std:.2f} |")
    chosen = next(p for p in points if p.k == choose_k(points))
    print(
        f"\nK chosen on validation: {chosen.k} (validation {chosen.validation:.2f}, "
        f"test {chosen.test:.2f}); the headline below stays at K={args.k}"
    )
    plot_k_sweep(points, args.out / "k_sweep.png")

    curve = sweep_model_count(table, embeddings, config, SEEDS, split_for, book=book)
    print(f"\n## Number of models (s(m) selection, K={args.k})\n")
    print("| #models | test | models |\n|---:|---:|---|")
    for c in curve:
        print(
            f"| {c.budget} | {c.test:.2f} ± {c.test_std:.2f} | {', '.join(m.split('/')[-1] for m in c.models)} |"
        )
    best_single = max(report.method(m).average(tasks) for m in report.models)
    plot_model_count(curve, args.out / "model_count.png", reference=best_single)
    print(f"\nfiles: {args.out}", file=sys.stderr)
    print(f"avengers in-distribution average: {avengers.average(tasks):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
