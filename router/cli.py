"""`harness route ...`: fit, evaluate, select, sweep and import for the Avengers router."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from router.cluster import CLUSTERERS
from router.embedders import DEFAULT_EMBEDDER

DEFAULT_SEEDS = "42,999,2024,2025,3407"


def _int_list(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from exc
    if not values:
        raise argparse.ArgumentTypeError("expected at least one integer")
    return values


def _fraction(text: str) -> float:
    value = float(text)
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"split fraction must be strictly between 0 and 1 (got {value})")
    return value


def _add_fit_options(parser: argparse.ArgumentParser, *, k_default: int = 64) -> None:
    parser.add_argument("--k", type=int, default=k_default, help="number of clusters (default %(default)s)")
    parser.add_argument(
        "--embedder",
        default=DEFAULT_EMBEDDER,
        help="minilm (offline, default), st:<model>, or openai:<model>@<base_url>",
    )
    parser.add_argument(
        "--split",
        type=_fraction,
        default=None,
        help="calibration fraction of a hashed per-task split; default: the run's recorded "
        "split (imported train/test files) if any, else 0.7",
    )
    parser.add_argument("--clusterer", choices=CLUSTERERS, default="kmeans")
    parser.add_argument(
        "--routing",
        choices=("nearest", "soft", "knn"),
        default="nearest",
        help="nearest cluster (paper), soft top-clusters voting (authors' code), or knn: similarity-weighted "
        "nearest calibration queries (a deviation)",
    )
    _add_profile_options(parser)


def _shrinkage(text: str) -> float | str:
    if text == "auto":
        return text
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number >= 0 or 'auto', got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"shrinkage must be >= 0 (got {value:g})")
    return value


def _add_profile_options(parser: argparse.ArgumentParser) -> None:
    """Deviations from the paper's rule (defaults = the paper's raw per-cluster profile)."""
    parser.add_argument(
        "--shrinkage",
        type=_shrinkage,
        default=0.0,
        help="pseudo-count pulling cluster profiles to --prior (0 = the paper's raw per-cluster score; "
        "'auto' = empirical Bayes, estimated per model from the calibration data)",
    )
    parser.add_argument(
        "--stratify",
        action="store_true",
        help="cluster each dataset's calibration queries on its own (K shared in proportion): pure clusters",
    )
    parser.add_argument(
        "--prior",
        choices=("global", "task", "parent"),
        default="global",
        help="what shrinkage and CI ties fall back to: the model's global accuracy, its accuracy on the "
        "cluster's datasets, or on a coarser clustering (--parent-k)",
    )
    parser.add_argument("--parent-k", type=int, default=8, help="clusters of the coarser clustering")
    parser.add_argument(
        "--tie-z", type=float, default=0.0, help="models within z standard errors of the best tie (0 = off)"
    )
    parser.add_argument(
        "--ensemble-k",
        type=_int_list,
        default=[],
        help="extra K values whose clusterings' profiles are averaged with --k's (comma-separated)",
    )
    parser.add_argument(
        "--alpha",
        type=float,
        default=1.0,
        help="accuracy weight of performance-efficiency routing; 1 - alpha weights cheapness (needs costs)",
    )
    parser.add_argument(
        "--prices", type=Path, default=None, help="pool file whose models carry price fields (token costs)"
    )
    parser.add_argument("--local-k", type=int, default=50, help="--routing knn: neighbours that vote")
    parser.add_argument(
        "--local-beta", type=float, default=20.0, help="--routing knn: weights softmax(beta * cosine)"
    )


def add_route_commands(subparsers) -> None:
    """Register the `route` command group on an argparse subparsers object."""
    route = subparsers.add_parser("route", help="the Avengers router: fit, eval, select, sweep, import")
    commands = route.add_subparsers(dest="route_command", required=True, metavar="COMMAND")

    fit = commands.add_parser("fit", help="cluster calibration queries and write a router artifact")
    fit.add_argument("--run", required=True, help="run directory or run name")
    _add_fit_options(fit)
    fit.add_argument("--seed", type=int, default=42)
    fit.add_argument("--out", type=Path, default=None, help="artifact path (.npz); default <run>/router/")
    fit.set_defaults(func=cmd_fit)

    ev = commands.add_parser("eval", help="evaluate a router, the single models and the baselines")
    ev.add_argument("--run", required=True)
    ev.add_argument("--router", required=True, type=Path, help="artifact written by `route fit`")
    ev.add_argument("--seeds", type=_int_list, default=_int_list(DEFAULT_SEEDS))
    ev.add_argument("--top-n", type=int, default=1, help="models per query (n>1 uses Model-Switch)")
    ev.add_argument("--samples", type=int, default=None, help="samples per query (default: all stored)")
    ev.add_argument("--knn-k", type=int, default=10, help="neighbours of the kNN-router baseline")
    ev.add_argument(
        "--alpha", type=float, default=None, help="route with this accuracy weight instead of the artifact's"
    )
    ev.add_argument("--prices", type=Path, default=None, help="pool file with price fields (token costs)")
    ev.add_argument(
        "--full-budget-per-model",
        action="store_true",
        help="Model-Switch: every model draws the whole sample budget (default: split it across the models)",
    )
    ev.add_argument("--out", type=Path, default=None, help="report folder; default <run>/router/eval-<name>")
    # --- router.trained baselines (issue 15)
    ev.add_argument(
        "--trained",
        default="",
        help="comma list of trained baselines to add as rows (routerdc,embedllm); trained per seed on CPU",
    )
    ev.add_argument(
        "--trained-peak-test-step",
        action="store_true",
        help="OPTIMISTIC: report the trained baselines at their best test checkpoint (the paper's reporting)",
    )
    ev.add_argument(
        "--routerdc-encoder",
        default=None,
        metavar="NAME_OR_PATH",
        help="RouterDC: fine-tune this Hugging Face encoder on the query texts (the paper's setting; a GPU "
        "is advised; 'minilm' = the bundled MiniLM) instead of a head over the frozen embeddings",
    )
    ev.add_argument(
        "--trained-device",
        choices=("auto", "cpu", "cuda"),
        default="auto",
        help="RouterDC training device (auto: cuda when torch sees a GPU)",
    )
    ev.add_argument(
        "--routerdc-steps", type=int, default=None, help="RouterDC training steps (default: its config's)"
    )
    ev.set_defaults(func=cmd_eval)

    select = commands.add_parser("select", help="choose a model subset by s(m) = sum_c 1/rank_c(m)")
    select.add_argument("--run", required=True)
    select.add_argument("--budget", type=int, required=True)
    select.add_argument("--router", type=Path, default=None, help="use this artifact instead of fitting one")
    _add_fit_options(select)
    select.add_argument("--seed", type=int, default=42)
    select.add_argument(
        "--out", type=Path, default=None, help="write the router restricted to the selection here"
    )
    select.set_defaults(func=cmd_select)

    sweep = commands.add_parser("sweep", help="accuracy vs number of clusters K (and vs number of models)")
    sweep.add_argument("--run", required=True)
    sweep.add_argument("--k", type=_int_list, default=_int_list("1,4,16,64,256,1024"), dest="ks")
    sweep.add_argument("--embedder", default=DEFAULT_EMBEDDER)
    sweep.add_argument("--split", type=_fraction, default=None)
    sweep.add_argument("--clusterer", choices=CLUSTERERS, default="kmeans")
    sweep.add_argument("--routing", choices=("nearest", "soft", "knn"), default="nearest")
    _add_profile_options(sweep)
    sweep.add_argument("--seeds", type=_int_list, default=_int_list(DEFAULT_SEEDS))
    sweep.add_argument("--top-n", type=int, default=1)
    sweep.add_argument("--samples", type=int, default=None)
    sweep.add_argument(
        "--validation-folds",
        type=int,
        default=5,
        help="k-fold cross-validation inside the calibration items picks K (0: one 80/20 holdout)",
    )
    sweep.add_argument("--models-k", type=int, default=64, help="K used for the #models curve")
    sweep.add_argument("--plot", action="store_true", help="also write k_sweep.png and model_count.png")
    sweep.add_argument("--out", type=Path, default=None, help="folder; default <run>/router/sweep")
    sweep.set_defaults(func=cmd_sweep)

    imp = commands.add_parser("import", help="load a public per-query results table into a run")
    imp.add_argument("path", type=Path, help="the table: a folder or a file, depending on --format")
    imp.add_argument(
        "--format",
        choices=(
            "auto",
            "routerdc",
            "long",
            "wide",
            "embedllm",
            "routereval",
            "mixinstruct",
            "graphrouter",
            "routerarena",
            "routerbench",
            "llmrouter",
            "llmrouterbench",
        ),
        default="auto",
        help="auto (default): told from file names and columns when only one format fits, else an error; "
        "routerdc: folder of <task>_{train,test}.json (+ OOD <task>.json); long: one row per (query, "
        "model) in .csv/.tsv/.jsonl/.json/.parquet/.arrow; wide: one row per query, one score column per "
        "model (RouteLLM eval responses, SPROUT); embedllm: EmbedLLM train/val/test.csv (+ question_order, "
        "model_order) or its folder; routereval: <dataset>_router_dataset.pkl (or their folder) with --group; "
        "mixinstruct: LLM-Blender records with candidates, --metric and --threshold required; graphrouter: "
        "GraphRouter's router_data.csv/.parquet (normalised cost not read as money); routerarena: "
        "RouterArena cached_results/<model>.jsonl (a file or the folder); "
        "routerbench: wide .pkl/.csv/.parquet (or a folder of <name>_{train,test} tables, or the long "
        "routerbench_raw.pkl); llmrouter: default_routing_{train,test}_data.jsonl rows (a file or its "
        "folder) or a folder with train.json/test.json; llmrouterbench: LLMRouterBench/OpenRouterBench "
        "result .json files (a results/bench folder or one file) or Avengers-Pro {train,test}.jsonl records",
    )
    imp.add_argument("--run", required=True, help="run directory or run name (created if needed)")
    imp.add_argument("--ood", default="", help="comma-separated tasks to mark out-of-distribution (routerdc)")
    imp.add_argument(
        "--queries",
        type=Path,
        action="append",
        default=[],
        help="llmrouter: query file(s) (query_data_*.jsonl) whose task_name labels the questions",
    )
    imp.add_argument(
        "--task",
        default=None,
        help="llmrouter without --queries, or wide without a task column: the one task",
    )
    imp.add_argument(
        "--columns",
        default="",
        metavar="NAME=COLUMN,...",
        help="long/wide: the table's names for this format's columns, e.g. query=prompt,correct=label",
    )
    imp.add_argument("--models", default="", help="wide: comma-separated model columns (default: detected)")
    imp.add_argument(
        "--threshold",
        type=float,
        default=None,
        help="long/wide/embedllm: graded scores (outside [0, 1]) count as correct when >= this; required for them",
    )
    imp.add_argument(
        "--metric", default=None, help="mixinstruct: the candidate score to threshold (e.g. bertscore)"
    )
    imp.add_argument(
        "--group", default=None, help="routereval: the candidate group, SIZE/COMPOSITION (e.g. 5/all_strong)"
    )
    imp.add_argument(
        "--duplicates",
        choices=("error", "max"),
        default=None,
        help="a repeated (query, model, sample) with another score: error (default; embedllm: max, as its loader)",
    )
    imp.add_argument(
        "--score-kind",
        action="append",
        default=[],
        metavar="TASK=mc|fraction",
        help="override RouterDC score detection for a task (repeatable)",
    )
    imp.set_defaults(func=cmd_import)

    front = commands.add_parser(
        "frontier", help="accuracy vs cost over alpha (performance-efficiency routing)"
    )
    front.add_argument("--run", required=True)
    front.add_argument("--router", required=True, type=Path, help="artifact written by `route fit`")
    front.add_argument("--seeds", type=_int_list, default=_int_list(DEFAULT_SEEDS))
    front.add_argument("--alphas", default=None, help="comma-separated alphas (default 0, 0.05, ..., 1)")
    front.add_argument("--prices", type=Path, default=None, help="pool file with price fields (token costs)")
    front.add_argument("--out", type=Path, default=None, help="folder; default <run>/router/frontier-<name>")
    front.set_defaults(func=cmd_frontier)

    diag = commands.add_parser(
        "diagnose", help="cluster sizes, dataset purity, OOD landing, routing shares, ties"
    )
    diag.add_argument("--run", required=True)
    diag.add_argument("--router", required=True, type=Path, help="artifact written by `route fit`")
    diag.add_argument(
        "--tie-margin", type=float, default=0.02, help="best-vs-second gap counted as a near-tie"
    )
    diag.set_defaults(func=cmd_diagnose)


# --------------------------------------------------------------------------- helpers


def _console():
    from rich.console import Console

    # soft_wrap and no file:line column: a path in a log line stays on one line and can be copied.
    return Console(stderr=True, soft_wrap=True, log_path=False)


def _load(run: str, prices: Path | None = None):
    from router.runs import open_table, resolve_run

    run_dir = resolve_run(run)
    table, recorded = open_table(run_dir, prices=prices)
    return run_dir, table, recorded


def _embeddings(table, spec: str, console):
    from router.embedders import make_embedder
    from router.runs import embed_table

    started = time.perf_counter()
    embedder = make_embedder(spec, progress=True)
    embeddings = embed_table(table, embedder)
    console.log(f"embedded {len(table)} queries with {spec} in {time.perf_counter() - started:.1f}s")
    return embeddings


def _config(args, seed: int):
    from router.model import RouterConfig

    return RouterConfig(
        k=args.k if hasattr(args, "k") else args.models_k,
        clusterer=args.clusterer,
        embedder=args.embedder,
        seed=seed,
        split_fraction=args.split,
        shrinkage=args.shrinkage,
        stratify=args.stratify,
        prior=args.prior,
        parent_k=args.parent_k,
        tie_z=args.tie_z,
        ensemble_ks=args.ensemble_k,
        alpha=args.alpha,
        routing=args.routing,
        knn_k=args.local_k,
        knn_beta=args.local_beta,
    )


def _book(table, args):
    from router.scoring import ScoreBook

    return ScoreBook(
        table,
        samples=getattr(args, "samples", None),
        top_n=getattr(args, "top_n", 1),
        split_budget=not getattr(args, "full_budget_per_model", False),
    )


def _fit_router(args, run_dir, table, recorded, console):
    from router.evaluate import fit_on_rows, split_provider
    from router.scoring import ScoreBook

    embeddings = _embeddings(table, args.embedder, console)
    split = split_provider(table, recorded, args.split)(args.seed)
    rows = table.rows_of(split.calibration)
    if len(rows) == 0:
        raise SystemExit("route: the split leaves no calibration items")
    config = _config(args, args.seed)
    started = time.perf_counter()
    book = ScoreBook(table)
    if config.alpha < 1 and not book.has_costs:
        raise SystemExit("route: --alpha < 1 needs costs: import a table with costs or pass --prices POOL")
    router = fit_on_rows(table, book, embeddings, rows, config, split.source)
    fitted = router.meta.n_clusters
    capped = f" (--k {config.k} capped: only {len(rows)} calibration items)" if fitted < config.k else ""
    console.log(
        f"fitted K={fitted}{capped} ({config.clusterer}) on {len(rows)} calibration items "
        f"({split.source} split) in {time.perf_counter() - started:.2f}s"
    )
    return router


# --------------------------------------------------------------------------- commands


def cmd_fit(args) -> int:
    console = _console()
    run_dir, table, recorded = _load(args.run, args.prices)
    router = _fit_router(args, run_dir, table, recorded, console)
    fitted_config = router.config.model_copy(update={"k": router.meta.n_clusters})
    out = args.out or run_dir / "router" / f"router-{fitted_config.slug()}.npz"
    path = router.save(out)
    print(path)
    console.log(f"models: {', '.join(router.models)}")
    return 0


def cmd_eval(args) -> int:
    from router.evaluate import evaluate, split_provider
    from router.model import Router
    from router.reports import markdown_table, write_report

    console = _console()
    run_dir, table, recorded = _load(args.run, args.prices)
    router = Router.load(args.router)
    if args.alpha is not None:
        router = router.with_config(alpha=args.alpha)
    config = router.config
    missing = [m for m in router.models if m not in table.models]
    if missing:
        raise SystemExit(f"route eval: the router knows models the run lacks: {', '.join(missing)}")
    table = table.with_models(router.models)  # e.g. a `route select` subset
    embeddings = _embeddings(table, config.embedder, console)
    book = _book(table, args)
    report = evaluate(
        table,
        embeddings,
        config,
        args.seeds,
        split_provider(table, recorded, config.split_fraction),
        book=book,
        knn_k=args.knn_k,
        fitted=router,
        progress=console.log,
        trained=_trained(args),
    )
    alpha = "" if args.alpha is None else f"-alpha{args.alpha:g}"
    budget = "-fullbudget" if args.full_budget_per_model and book.top_n > 1 else ""
    out = args.out or run_dir / "router" / f"eval-{args.router.stem}-top{book.top_n}{alpha}{budget}"
    written = write_report(report, out)
    print(markdown_table(report))
    if report.ood_tasks:
        print()
        print(markdown_table(report, ood=True))
    console.log(f"router: {report.k_description()}; report written to {written['markdown']}")
    return 0


def _trained(args) -> list:
    """router.trained baselines named by --trained (issue 15)."""
    names = tuple(n.strip() for n in getattr(args, "trained", "").split(",") if n.strip())
    if getattr(args, "routerdc_encoder", None) is not None and "routerdc" not in names:
        raise SystemExit("route eval --routerdc-encoder: add routerdc to --trained")
    if not names:
        return []
    from router.trained import RouterDCConfig, trained_baselines

    routerdc = {"encoder": args.routerdc_encoder, "device": args.trained_device}
    if args.routerdc_steps is not None:
        routerdc["steps"] = args.routerdc_steps
    try:
        return trained_baselines(
            names, peak_test_step=args.trained_peak_test_step, routerdc=RouterDCConfig(**routerdc)
        )
    except ValueError as exc:
        raise SystemExit(f"route eval --trained: {exc}") from None


def cmd_select(args) -> int:
    from router.model import Router
    from router.selection import select_models, selection_table

    console = _console()
    if args.router is not None:
        router = Router.load(args.router)
    else:
        run_dir, table, recorded = _load(args.run, args.prices)
        router = _fit_router(args, run_dir, table, recorded, console)
    print("| model | s(m) | global accuracy |\n|---|---:|---:|")
    for model, score, acc in selection_table(router):
        print(f"| {model} | {score:.3f} | {100 * acc:.2f} |")
    chosen = select_models(router, args.budget)
    print(f"\nselected ({len(chosen)}): {', '.join(chosen)}")
    if args.out is not None:
        console.log(
            f"router over the selected models written to {router.restricted_to(chosen).save(args.out)}"
        )
    return 0


def cmd_sweep(args) -> int:
    from router.evaluate import choose_k, split_provider, sweep_k, sweep_model_count
    from router.reports import plot_k_sweep, plot_model_count

    console = _console()
    run_dir, table, recorded = _load(args.run, args.prices)
    embeddings = _embeddings(table, args.embedder, console)
    book = _book(table, args)
    split_for = split_provider(table, recorded, args.split)
    args.k = args.models_k
    config = _config(args, args.seeds[0])
    if args.validation_folds == 1 or args.validation_folds < 0:
        raise SystemExit(f"--validation-folds must be 0 or >= 2 (got {args.validation_folds})")
    try:
        points = sweep_k(
            table,
            embeddings,
            config,
            args.ks,
            args.seeds,
            split_for,
            book=book,
            validation_folds=args.validation_folds or None,
            progress=console.log,
        )
    except ValueError as exc:
        raise SystemExit(
            f"route sweep: {exc} (now --validation-folds {args.validation_folds}; "
            "lower it, or --validation-folds 0 for one 80/20 holdout)"
        ) from None
    out = args.out or run_dir / "router" / "sweep"
    out.mkdir(parents=True, exist_ok=True)
    print("| K | validation | test |\n|---:|---:|---:|")
    for p in points:
        print(f"| {p.k} | {p.validation:.2f} ± {p.validation_std:.2f} | {p.test:.2f} ± {p.test_std:.2f} |")
    print(f"\nK chosen on validation: {choose_k(points)}")
    curve = sweep_model_count(table, embeddings, config, args.seeds, split_for, book=book)
    print("\n| #models | test | models |\n|---:|---:|---|")
    for c in curve:
        print(f"| {c.budget} | {c.test:.2f} ± {c.test_std:.2f} | {', '.join(c.models)} |")
    (out / "k_sweep.json").write_text(
        json.dumps([p.model_dump() for p in points], indent=2), encoding="utf-8"
    )
    (out / "model_count.json").write_text(
        json.dumps([c.model_dump() for c in curve], indent=2), encoding="utf-8"
    )
    if args.plot:
        plot_k_sweep(points, out / "k_sweep.png")
        plot_model_count(curve, out / "model_count.png")
    console.log(f"sweep written to {out}")
    return 0


def cmd_import(args) -> int:
    from results.store import ResultsStore
    from router import importers
    from router.runs import run_dir_for_import

    if args.format == "auto":
        args.format = importers.detect_format(args.path)
        print(f"route import: {args.path} read as --format {args.format}", file=sys.stderr)
    given = {
        "columns": args.columns,
        "models": args.models,
        "threshold": args.threshold,
        "group": args.group,
        "metric": args.metric,
        "duplicates": args.duplicates,
    }
    allowed = {
        "long": {"columns", "threshold", "duplicates"},
        "wide": {"columns", "models", "threshold", "duplicates"},
        "embedllm": {"threshold", "duplicates"},
        "routereval": {"group"},
        "mixinstruct": {"metric", "threshold"},
        "graphrouter": {"threshold"},
    }
    for option, value in given.items():
        if value not in ("", None) and option not in allowed.get(args.format, set()):
            raise SystemExit(f"route import: --{option} does not apply to --format {args.format}")
    run_dir = run_dir_for_import(args.run)
    kinds = {}
    for entry in args.score_kind:
        task, sep, kind = entry.partition("=")
        if not sep or kind not in ("mc", "fraction"):
            raise SystemExit(f"route import: --score-kind expects TASK=mc or TASK=fraction, got {entry!r}")
        kinds[task] = kind
    if args.ood and args.format != "routerdc":
        raise SystemExit("route import: --ood applies to --format routerdc only")

    columns = importers.parse_column_map(args.columns)
    duplicates = {} if args.duplicates is None else {"duplicates": args.duplicates}
    with ResultsStore(run_dir) as store:
        if args.format == "routerdc":
            ood = {t.strip().lower() for t in args.ood.split(",") if t.strip()}
            summary = importers.import_routerdc(args.path, store, score_kinds=kinds, ood_tasks=ood)
        elif args.format == "long":
            summary = importers.import_long(
                args.path, store, columns=columns, task=args.task, threshold=args.threshold, **duplicates
            )
        elif args.format == "wide":
            models = [m.strip() for m in args.models.split(",") if m.strip()] or None
            summary = importers.import_wide(
                args.path,
                store,
                task=args.task,
                models=models,
                columns=columns,
                threshold=args.threshold,
                **duplicates,
            )
        elif args.format == "mixinstruct":
            summary = importers.import_mixinstruct(
                args.path, store, metric=args.metric, threshold=args.threshold
            )
        elif args.format == "routerarena":
            summary = importers.import_routerarena(args.path, store)
        elif args.format == "graphrouter":
            summary = importers.import_graphrouter(args.path, store, threshold=args.threshold)
        elif args.format == "routereval":
            summary = importers.import_routereval(args.path, store, group=args.group)
        elif args.format == "embedllm":
            summary = importers.import_embedllm(args.path, store, threshold=args.threshold, **duplicates)
        elif args.format == "routerbench":
            summary = importers.import_routerbench(args.path, store)
        elif args.format == "llmrouter":
            summary = importers.import_llmrouter(
                args.path, store, query_files=args.queries, task=args.task or "llmrouter"
            )
        else:
            summary = importers.import_llmrouterbench(args.path, store)
    print(json.dumps({"run": str(run_dir), "format": args.format, **summary.model_dump()}, indent=2))
    return 0


def cmd_frontier(args) -> int:
    from router.evaluate import split_provider
    from router.frontier import (
        DEFAULT_ALPHAS,
        cost_frontier,
        frontier_markdown,
        plot_frontier,
        write_frontier_csv,
    )
    from router.model import Router

    console = _console()
    run_dir, table, recorded = _load(args.run, args.prices)
    router = Router.load(args.router)
    table = table.with_models(router.models)
    alphas = DEFAULT_ALPHAS if args.alphas is None else [float(a) for a in args.alphas.split(",") if a]
    embeddings = _embeddings(table, router.config.embedder, console)
    book = _book(table, args)
    report = cost_frontier(
        table,
        embeddings,
        router.config,
        args.seeds,
        split_provider(table, recorded, router.config.split_fraction),
        book=book,
        alphas=alphas,
    )
    out = args.out or run_dir / "router" / f"frontier-{args.router.stem}"
    out.mkdir(parents=True, exist_ok=True)
    write_frontier_csv(report, out / "frontier.csv")
    plot_frontier(report, out / "frontier.png")
    (out / "frontier.json").write_text(report.model_dump_json(indent=2), encoding="utf-8")
    print(frontier_markdown(report))
    console.log(f"frontier written to {out}")
    return 0


def cmd_diagnose(args) -> int:
    from router.diagnose import diagnose, diagnosis_markdown
    from router.model import Router

    console = _console()
    run_dir, table, recorded = _load(args.run)
    router = Router.load(args.router)
    table = table.with_models([m for m in router.models if m in table.models])
    embeddings = _embeddings(table, router.config.embedder, console)
    print(diagnosis_markdown(diagnose(router, table, embeddings, recorded, tie_margin=args.tie_margin)))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Standalone entry (`python -m router.cli route ...`) for use before the harness CLI wires it in."""
    parser = argparse.ArgumentParser(prog="harness")
    add_route_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
