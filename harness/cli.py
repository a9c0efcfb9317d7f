"""`python -m harness …`: eval, tasks, report, regrade, export, serve-default, serve-pool, route, view,
serve-router."""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

from rich.console import Console

from harness import settings
from harness.config import load_pool, parse_model_shorthand, redact_credentials
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
        "--run",
        default=None,
        type=_run_name,
        help="run name, a plain directory name (default: derived from the command, so reruns resume)",
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
    p.add_argument(
        "--retry-failed",
        action="store_true",
        help="on resume, request again every failed row, client errors (e.g. a 401 before a key was fixed) too",
    )
    p.add_argument(
        "--max-error-rate",
        type=float,
        default=None,
        metavar="FRACTION",
        help="fraction of a model's samples that may fail; above it the run exits 3 and the report marks "
        "the cells as errors (default 0.05)",
    )
    _add_trust_flag(p)
    p.add_argument("--no-progress", action="store_true")
    p.add_argument(
        "--shard", type=_shard_arg, default=None, metavar="I/N",
        help="evaluate only shard I (0-based) of N of the (task, item) pairs; `harness merge RUN` joins them",
    )  # fmt: skip
    p.set_defaults(func=_cmd_eval)


def _add_trust_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--trust-task-code",
        action="store_true",
        help="run code that task files reference (preprocess hooks) from outside the installed harness",
    )


def _run_name(text: str) -> str:
    from harness.evaluate import check_run_name

    try:
        return check_run_name(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
def _shard_arg(text: str):
    from harness.shards import ShardSpec

    try:
        return ShardSpec.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


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
        retry_failed=args.retry_failed,
        trust_task_code=args.trust_task_code,
        **({} if args.max_error_rate is None else {"max_error_rate": args.max_error_rate}),
        shard=args.shard,
    )
    return eval_main(request)


def _add_tasks(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("tasks", help="list the task files with item counts, category, OOD flag and source")
    p.add_argument("--data-dir", type=Path, default=None)
    p.add_argument("selector", nargs="?", default="*", help="names or globs (default: every task file)")
    _add_trust_flag(p)
    p.set_defaults(func=_cmd_tasks)


def _cmd_tasks(args: argparse.Namespace) -> int:
    from rich.table import Table

    from harness.task_data import trust_task_code
    from harness.taskset import select_tasks, task_summaries

    trust_task_code(args.trust_task_code)
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
        func=lambda a: __import__("harness.serving.embedded", fromlist=["x"]).serve_default_main(
            a.host, a.port
        )
    )

    p = sub.add_parser(
        "serve-pool", help="launch `vllm serve` for every model of a pool file with a launch block"
    )
    p.add_argument("pool", type=Path, nargs="?", help="the pool file (not needed with --stop)")
    p.add_argument("--endpoints-out", type=Path, default=Path("endpoints.yaml"))
    p.add_argument("--timeout", type=float, default=1800.0, help="seconds to wait for every server's health")
    _add_launcher_options(p)
    p.add_argument(
        "--pending-timeout",
        type=float,
        default=3600.0,
        help="slurm: give up on a job still pending after this",
    )
    p.add_argument(
        "--stop",
        action="store_true",
        help="slurm: cancel the jobs recorded next to --endpoints-out, then exit",
    )
    p.add_argument("--port-offset", type=int, default=0, help="add this to every launch-block port")
    p.set_defaults(func=_cmd_serve_pool)


def _add_launcher_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--launcher", choices=["local", "slurm"], default="local", help="where the servers run")
    p.add_argument("--partition", default=None, help="slurm partition")
    p.add_argument("--time", default=None, help="slurm time limit, e.g. 12:00:00")
    p.add_argument("--account", default=None, help="slurm account")
    p.add_argument(
        "--sbatch-arg", action="append", default=[], metavar="OPTION", help="extra sbatch option (repeatable)"
    )
    p.add_argument("--no-gpu-gres", action="store_true", help="slurm: do not ask for --gres=gpu:N")


def _slurm_options(args: argparse.Namespace):
    from harness.serving.launchers.slurm import SlurmOptions

    return SlurmOptions(
        partition=args.partition,
        time=args.time,
        account=args.account,
        sbatch_args=args.sbatch_arg,
        gpu_gres=not args.no_gpu_gres,
    )


def _cmd_serve_pool(args: argparse.Namespace) -> int:
    from harness.serving.launchers import slurm
    from harness.serving.launchers.serve import serve_plan
    from harness.serving.vllm_pool import load_launch_plan, serve_pool_main

    if args.stop:
        return slurm.stop_recorded_jobs(args.endpoints_out)
    if args.pool is None:
        raise ValueError("serve-pool needs a pool file (or --stop)")
    if args.launcher == "local":
        return serve_pool_main(
            args.pool, args.endpoints_out, timeout_s=args.timeout, port_offset=args.port_offset
        )
    launcher = slurm.SlurmLauncher(
        _slurm_options(args),
        state_dir=slurm.state_dir_for(args.endpoints_out),
        timeout_s=args.timeout,
        pending_timeout_s=args.pending_timeout,
    )
    return serve_plan(load_launch_plan(args.pool, port_offset=args.port_offset), launcher, args.endpoints_out)


def _add_cluster_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("submit", help="submit a sharded eval as a Slurm job array (one shard per array task)")
    eval_parser = _eval_parser()
    for action in eval_parser._actions:
        if action.dest not in ("help", "shard"):
            p._add_action(action)
    p.add_argument("--shards", type=int, required=True, help="number of shards (array tasks)")
    _add_launcher_options(p)
    p.add_argument(
        "--gpus-per-task", type=int, default=None, help="default: the GPUs of the pool's launch blocks"
    )
    p.add_argument("--max-parallel", type=int, default=None, help="at most this many array tasks at once")
    p.add_argument("--wait", action="store_true", help="return when every array task has ended")
    p.add_argument("--dry-run", action="store_true", help="write the sbatch script, print it, do not submit")
    p.set_defaults(
        func=_cmd_submit, eval_actions=[a for a in eval_parser._actions if a.dest not in ("help", "shard")]
    )

    p = sub.add_parser("merge", help="join a sharded run's shard stores into the run's store and report")
    p.add_argument("run", help="run name or directory")
    p.add_argument("--output", type=Path, default=None)
    p.add_argument("--allow-incomplete", action="store_true", help="merge even if some shards are unfinished")
    p.set_defaults(func=_cmd_merge)


def _eval_parser() -> argparse.ArgumentParser:
    holder = argparse.ArgumentParser(add_help=False).add_subparsers()
    _add_eval(holder)
    return holder.choices["eval"]


def _cmd_submit(args: argparse.Namespace) -> int:
    from harness.serving.launchers.slurm_array import ArrayRequest, submit_array, write_array_script
    from harness.serving.vllm_pool import load_launch_plan

    if args.launcher != "slurm":
        raise ValueError("submit runs the shards as a Slurm job array: add --launcher slurm")
    if not args.run:
        raise ValueError("submit needs --run NAME: the shards and the merge must agree on the run directory")
    serve_models, gpus, ports = False, 0, []
    if args.models is not None:
        with contextlib.suppress(ConfigFileError):
            plan = load_launch_plan(args.models)
            serve_models = True
            gpus = sum(len(r.gpus) for r in plan.replicas)
            ports = [r.port for r in plan.replicas]
    request = ArrayRequest(
        run_dir=(settings.runs_dir(args.output) / args.run).resolve(),  # the jobs may start elsewhere
        shards=args.shards,
        eval_argv=_argv_of(args, args.eval_actions, skip={"models"}),
        models_file=args.models,
        serve_models=serve_models,
        pool_ports=ports,
        gpus_per_task=gpus if args.gpus_per_task is None else args.gpus_per_task,
        max_parallel=args.max_parallel,
    )
    script = write_array_script(request, _slurm_options(args))
    if args.dry_run:
        print(script.read_text(encoding="utf-8"))
        err_console.print(f"wrote {script} (not submitted)")
        return 0
    job_id = submit_array(script, wait=args.wait)
    err_console.print(
        f"{'ran' if args.wait else 'submitted'} job array {job_id}: {args.shards} shards of {request.run_dir}"
    )
    err_console.print(f"when all have finished: python -m harness merge {request.run_dir}")
    print(job_id)
    return 0


def _argv_of(args: argparse.Namespace, actions: list[argparse.Action], skip: set[str]) -> list[str]:
    """The command line that gives these parsed values (options left at their default are left out)."""
    argv: list[str] = []
    for action in actions:
        value = getattr(args, action.dest, None)
        if action.dest in skip or not action.option_strings or value == action.default:
            continue
        flag = action.option_strings[-1]
        if isinstance(action, argparse._StoreTrueAction):
            argv.append(flag)
        elif isinstance(action, argparse._AppendAction):
            for item in value:
                argv += [flag, str(item)]
        else:
            argv += [flag, str(value)]
    return argv


def _cmd_merge(args: argparse.Namespace) -> int:
    from harness.report import write_report
    from results.merge import merge_shards

    run_dir = settings.resolve_run_dir(args.run, args.output)
    result = merge_shards(run_dir, allow_incomplete=args.allow_incomplete)
    for line in result.summary_lines():
        err_console.print(line)
    err_console.print(f"merged {result.rows} samples into {run_dir}")
    write_report(run_dir, console=console)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="harness", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    _add_eval(sub)
    _add_tasks(sub)
    _add_run_commands(sub)
    _add_servers(sub)
    _add_cluster_commands(sub)
    from router.cli import add_route_commands

    add_route_commands(sub)
    from harness.view.cli import add_view_command

    add_view_command(sub)
    from harness.serving.gateway.cli import add_serve_router_command

    add_serve_router_command(sub)
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


CONSOLE_MESSAGE_CHARS = 2000


def console_text(message: str, limit: int = CONSOLE_MESSAGE_CHARS) -> str:
    """A message fit for the console: URL credentials redacted, a huge one (a whole model answer) clipped."""
    message = redact_credentials(message)
    if len(message) <= limit:
        return message
    return f"{message[:limit]}… ({len(message) - limit} more characters not shown)"


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except _user_errors() as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        err_console.print(f"[red]error:[/] {console_text(str(message))}")
        return 2
    except KeyboardInterrupt:
        err_console.print("[yellow]interrupted[/]")
        return 130


if __name__ == "__main__":
    sys.exit(main())
