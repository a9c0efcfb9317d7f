"""`python -m harness …`: eval, tasks, report, regrade, export, serve-default, serve-pool, route."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.console import Console

from harness import settings
from harness.config import load_pool, parse_model_shorthand
from harness.yaml_model import ConfigFileError

console = Console()
err_console = Console(stderr=True, soft_wrap=True)  # never break a path in an error


def _add_eval(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="evaluate models on tasks (resumable)")
    p.add_argument(
        "--tasks", default="all", help="'all' (in-distribution), 'ood', names or globs, comma-separated"
    )
    p.add_argument(
        "--model",
        action="append",
        default=[],
        metavar="NAME=URL[,URL]",
        help="an OpenAI-compatible endpoint (repeatable); replicas comma-separated",
    )
    p.add_argument("--models", type=Path, metavar="POOL.yaml", help="a model pool file")
    p.add_argument("--samples", type=int, default=1, help="samples per item (default 1)")
    p.add_argument("--temperature", type=float, default=0.7)
    p.add_argument("--top-p", type=float, default=1.0)
    p.add_argument("--max-tokens", type=int, default=None, help="default: each task file's own")
    p.add_argument(
        "--concurrency", type=int, default=None, help="in-flight requests per replica (overrides the pool)"
    )
    p.add_argument("--seed", type=int, default=1234, help="run seed; each sample's seed is derived from it")
    p.add_argument("--limit", type=int, default=None, help="first N items of each task")
    p.add_argument("--full", action="store_true", help="all items where the paper used a subset")
    p.add_argument(
        "--run", default=None, help="run name (default: derived from the command, so reruns resume)"
    )
    p.add_argument(
        "--output", type=Path, default=None, help="runs directory (default ./runs or $HARNESS_RUNS_DIR)"
    )
    p.add_argument(
        "--data-dir", type=Path, default=None, help="local benchmark mirror (or $HARNESS_DATA_DIR)"
    )
    p.add_argument("--grading-workers", type=int, default=None, help="grader processes (default: CPU count)")
    p.add_argument(
        "--skip-unavailable",
        action="store_true",
        help="skip (with a warning) tasks whose data is neither in the data dir nor reachable on the hub",
    )
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=_cmd_eval)


def _cmd_eval(args: argparse.Namespace) -> int:
    from harness.evaluate import EvalRequest, eval_main
    from harness.scheduler import SamplingOverrides

    models = [parse_model_shorthand(text) for text in args.model]
    if args.models:
        models.extend(load_pool(args.models).models)
    names = [m.name for m in models]
    if len(names) != len(set(names)):
        raise ConfigFileError(f"model names must be unique, got {names}")
    request = EvalRequest(
        tasks=args.tasks,
        models=models,
        sampling=SamplingOverrides(
            samples=args.samples,
            temperature=args.temperature,
            top_p=args.top_p,
            max_tokens=args.max_tokens,
            seed=args.seed,
            concurrency=args.concurrency,
        ),
        limit=args.limit,
        full=args.full,
        run=args.run,
        output=args.output,
        data_dir=args.data_dir,
        grading_workers=args.grading_workers,
        skip_unavailable=args.skip_unavailable,
        show_progress=not args.no_progress,
    )
    return eval_main(request)


def _add_tasks(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("tasks", help="list the task files with item counts, category, OOD flag and source")
    p.add_argument("--data-dir", type=Path, default=None)
    p.add_argument("selector", nargs="?", default="*", help="names or globs (default: every task file)")
    p.set_defaults(func=_cmd_tasks)


def _cmd_tasks(args: argparse.Namespace) -> int:
    from rich.table import Table

    from harness.taskset import select_tasks, task_summaries

    tasks = select_tasks(args.selector)
    table = Table(title=f"{len(tasks)} tasks")
    for column in ("task", "category", "OOD", "paper size", "items here", "source"):
        table.add_column(column)
    for row in task_summaries(tasks, settings.data_dir(args.data_dir)):
        table.add_row(
            row.name,
            row.category,
            "yes" if row.ood else "",
            str(row.paper_size or ""),
            str(row.available),
            row.source,
        )
    # Redirected (`> tasks.txt`): no terminal width to fit, so do not squeeze names and paths into 80 columns.
    (console if console.is_terminal else Console(width=240)).print(table)
    return 0


def _add_run_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report", help="print a stored run's metrics table (and rewrite report.md/results.json)"
    )
    p.add_argument("run", help="run name or directory")
    p.add_argument("--output", type=Path, default=None)
    p.set_defaults(func=_cmd_report)

    p = sub.add_parser("regrade", help="grade a run's stored responses again, without calling any model")
    p.add_argument("run")
    p.add_argument("--task", default=None)
    p.add_argument("--output", type=Path, default=None)
    p.add_argument("--workers", type=int, default=None)
    p.set_defaults(func=_cmd_regrade)

    p = sub.add_parser("export", help="export a run's samples to JSONL, CSV or Parquet")
    p.add_argument("run")
    p.add_argument("--format", choices=["jsonl", "csv", "parquet"], default="jsonl")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--output", type=Path, default=None)
    p.set_defaults(func=_cmd_export)


def _cmd_report(args: argparse.Namespace) -> int:
    from harness.report import write_report

    write_report(settings.resolve_run_dir(args.run, args.output), console=console)
    return 0


def _cmd_regrade(args: argparse.Namespace) -> int:
    from harness.regrade import regrade_run
    from harness.report import write_report

    run_dir = settings.resolve_run_dir(args.run, args.output)
    count = regrade_run(run_dir, task=args.task, workers=args.workers)
    err_console.print(f"regraded {count} samples in {run_dir}")
    write_report(run_dir, console=console)
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from results.store import ResultsStore

    with ResultsStore(settings.resolve_run_dir(args.run, args.output)) as store:
        store.export(args.out, args.format)
    err_console.print(f"wrote {args.out}")
    return 0


def _add_servers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve-default", help="run the embedded default model server in the foreground")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8080)
    p.set_defaults(
        func=lambda a: __import__("harness.serving.embedded", fromlist=["x"]).serve_default_main(a.host, a.port)
    )

    p = sub.add_parser(
        "serve-pool", help="launch `vllm serve` for every model of a pool file with a launch block"
    )
    p.add_argument("pool", type=Path)
    p.add_argument("--endpoints-out", type=Path, default=Path("endpoints.yaml"))
    p.add_argument("--timeout", type=float, default=1800.0, help="seconds to wait for every server's health")
    p.set_defaults(func=_cmd_serve_pool)


def _cmd_serve_pool(args: argparse.Namespace) -> int:
    from harness.serving.vllm_pool import serve_pool_main

    return serve_pool_main(args.pool, args.endpoints_out, timeout_s=args.timeout)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="harness", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    _add_eval(sub)
    _add_tasks(sub)
    _add_run_commands(sub)
    _add_servers(sub)
    from router.cli import add_route_commands

    add_route_commands(sub)
    return parser


def _user_errors() -> tuple[type[BaseException], ...]:
    """Errors caused by input, configuration or environment: shown as one clear line, not a traceback."""
    from harness.serving.embedded import LocalExtraMissing, ServerStartError
    from harness.task_data import TaskDataError
    from results.store import StoreError
    from router.embedders import EmbeddingError

    return (
        ValueError,
        FileNotFoundError,
        ConnectionError,
        KeyError,
        TaskDataError,
        StoreError,
        LocalExtraMissing,
        ServerStartError,
        EmbeddingError,
    )


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except _user_errors() as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        err_console.print(f"[red]error:[/] {message}")
        return 2
    except KeyboardInterrupt:
        err_console.print("[yellow]interrupted[/]")
        return 130


if __name__ == "__main__":
    sys.exit(main())
