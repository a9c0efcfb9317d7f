"""Throughput of the harness scheduler, and the same workload through lm-evaluation-harness.

Everything talks to a real loopback OpenAI-compatible server (harness.loopback_server, plus two read-only
statistics routes) running in its own process, so the server never shares an event loop with a client.
Each harness measurement runs in its own child process through the real path: a task file and a jsonl
dataset written to a temp directory, harness.taskset.select_tasks + harness.evaluate.load_items,
ResultsStore on a temp run dir, Scheduler.run with the grading pool (grader `exact`).

One-time setup of the peer; lm-eval lives in its own virtual environment, never in the project's Python:

    python -m venv /tmp/bench-lmeval-venv
    /tmp/bench-lmeval-venv/bin/pip install torch==2.13.0     # the local CPU wheel, so lm-eval can't pull CUDA torch
    /tmp/bench-lmeval-venv/bin/pip install "lm-eval[api]==0.4.13"

Run (from the repository root):

    python bench/scheduler.py                  # full bench, about 5-8 minutes on 2 cores
    python bench/scheduler.py --quick          # under 2 minutes
    python bench/scheduler.py --lmeval-python /path/to/venv/bin/python   # or set $LMEVAL_PYTHON

Figures printed:
  1. requests/s at concurrency 64, 256, 1024 against the instant server (delay 0): harness vs lm-eval's
     LocalChatCompletion(num_concurrent=C).generate_until (bench/_lmeval_driver.py in the venv), best of
     --repeats alternating runs each, and harness_rps / lm_eval_rps (goal >= 3).
  2. in-flight utilisation: the server's own accounting of time spent inside request handlers, divided by
     the client's wall time and by C (mean achieved concurrency / configured), and the server's peak in-flight.
  3. against a 1 s delay server, wall / (N/C) for N = a few multiples of C (goal <= 1.02).
  4. peak RSS per 100k stored samples: ru_maxrss of the harness child process after the run minus its
     ru_maxrss before the items are loaded (and the grading workers' peak, RUSAGE_CHILDREN, separately).
     ru_maxrss rather than tracemalloc: it covers C extensions, SQLite and allocator overhead, which is
     what a user's machine actually has to hold.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TASK_NAME = "bench_synth"
MODEL_NAME = "loopback"
ANSWER = "The answer is 42."
GOLD = "42"
MAX_TOKENS = 16
DEFAULT_LMEVAL_PYTHON = "/tmp/bench-lmeval-venv/bin/python"
LMEVAL_DRIVER = Path(__file__).resolve().parent / "_lmeval_driver.py"

TASK_FILE = f"""\
# Written by bench/scheduler.py: a synthetic task whose every gold answer is {GOLD}.
name: {TASK_NAME}
category: math
description: Synthetic benchmark items for the scheduler throughput bench.
paper_size: 1
source:
  local:
    files: {TASK_NAME}/items.jsonl
    format: jsonl
fields:
  id: id
prompt:
  user: "{{question}}"
generation:
  max_tokens: {MAX_TOKENS}
grader:
  name: exact
"""


@dataclass(frozen=True)
class Profile:
    concurrencies: tuple[int, ...]
    instant_items: int
    repeats: int
    delay_multiples: tuple[int, ...]
    rss_items: int


FULL = Profile(
    concurrencies=(64, 256, 1024), instant_items=10_000, repeats=2, delay_multiples=(2, 4), rss_items=100_000
)
QUICK = Profile(
    concurrencies=(64, 256, 1024), instant_items=3_000, repeats=1, delay_multiples=(2,), rss_items=20_000
)


def _raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def _maxrss_kib(who: int = resource.RUSAGE_SELF) -> int:
    return resource.getrusage(who).ru_maxrss  # KiB on Linux


# ----------------------------------------------------------------------------- role: the peer server


def serve(delay: float) -> None:
    """harness.loopback_server's LoopbackServer, plus /bench/stats and /bench/reset for the server's own counts."""
    import asyncio
    from dataclasses import dataclass as _dataclass

    from aiohttp import web

    from harness.loopback_server import LoopbackServer

    @_dataclass
    class CountingServer(LoopbackServer):
        busy_s: float = 0.0  # summed time spent inside request handlers = integral of in-flight over time
        first_start: float | None = None
        last_end: float | None = None

        async def _complete(self, request: web.Request) -> web.StreamResponse:
            start = time.perf_counter()
            if self.first_start is None:
                self.first_start = start
            try:
                return await super()._complete(request)
            finally:
                end = time.perf_counter()
                self.busy_s += end - start
                self.last_end = end

        async def _stats(self, request: web.Request) -> web.Response:
            span = (self.last_end - self.first_start) if self.first_start and self.last_end else 0.0
            return web.json_response(
                {
                    "requests": self.request_count,
                    "peak_in_flight": self.peak_in_flight,
                    "in_flight": self.in_flight,
                    "busy_s": self.busy_s,
                    "span_s": span,
                }
            )

        async def _reset(self, request: web.Request) -> web.Response:
            self.request_count = 0
            self.peak_in_flight = self.in_flight
            self.busy_s = 0.0
            self.first_start = self.last_end = None
            return web.json_response({"ok": True})

        def app(self) -> web.Application:
            app = super().app()
            app.router.add_get("/bench/stats", self._stats)
            app.router.add_post("/bench/reset", self._reset)
            return app

    async def main() -> None:
        server = CountingServer(answer=lambda body: ANSWER, delay_s=delay, keep_bodies=False)
        await server.start()
        print(json.dumps({"base_url": server.base_url}), flush=True)
        await asyncio.Event().wait()

    _raise_fd_limit()
    asyncio.run(main())


class PeerServer:
    """A serve() child process and its statistics routes."""

    def __init__(self, delay: float, log_dir: Path):
        self.delay = delay
        self._log = open(log_dir / f"server-delay{delay:g}.log", "w")  # noqa: SIM115 - closed in stop()
        self._proc = subprocess.Popen(
            [sys.executable, __file__, "--role", "serve", "--delay", str(delay)],
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            cwd=ROOT,
        )
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if not line:
            self.stop()
            raise RuntimeError(f"the loopback server did not start; see {self._log.name}")
        self.base_url: str = json.loads(line)["base_url"]
        self._root = self.base_url.removesuffix("/v1")

    def _call(self, path: str, method: str = "GET") -> dict[str, Any]:
        request = urllib.request.Request(
            self._root + path, method=method, data=b"" if method == "POST" else None
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    def reset(self) -> None:
        self._call("/bench/reset", "POST")

    def stats(self) -> dict[str, Any]:
        return self._call("/bench/stats")

    def stop(self) -> None:
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
        self._log.close()


# ----------------------------------------------------------------------------- role: one harness run


def harness_run(
    base_url: str, concurrency: int, items_limit: int, run_dir: Path, profile: Path | None
) -> None:
    """One Scheduler.run in this process (env: HARNESS_TASKS_DIR, HARNESS_DATA_DIR); prints a JSON line."""
    _raise_fd_limit()
    import asyncio

    from harness.config import ModelSpec
    from harness.evaluate import EvalRequest, load_items
    from harness.scheduler import SamplingOverrides, Scheduler
    from harness.taskset import select_tasks
    from results.store import ResultsStore

    rss_imported = _maxrss_kib()
    tasks = select_tasks(TASK_NAME)
    items = load_items(tasks, EvalRequest(tasks=TASK_NAME, limit=items_limit, show_progress=False))
    loaded = sum(len(v) for v in items.values())
    if loaded != items_limit:
        raise SystemExit(f"expected {items_limit} items, the task loaded {loaded}")
    store = ResultsStore(run_dir)
    store.upsert_items(task.item_record(item) for task in tasks for item in items[task.name])
    rss_loaded = _maxrss_kib()
    spec = ModelSpec(name=MODEL_NAME, base_urls=[base_url], max_concurrency=concurrency)
    scheduler = Scheduler(
        store, [spec], SamplingOverrides(samples=1, concurrency=concurrency, max_tokens=MAX_TOKENS)
    )

    profiler = None
    if profile is not None:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    started = time.perf_counter()
    stats = asyncio.run(scheduler.run(tasks, items))
    wall = time.perf_counter() - started
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(profile)
    rss_peak = _maxrss_kib()
    rss_children = _maxrss_kib(resource.RUSAGE_CHILDREN)

    counts = store.counts()
    latency_sum = sum(record.latency_s or 0.0 for record in store.iter_samples())
    store.close()
    print(
        json.dumps(
            {
                "wall_s": wall,
                "requests": stats.requests,
                "request_errors": stats.request_errors,
                "samples_written": stats.samples_written,
                "graded": stats.graded,
                "stored_samples": counts["samples"],
                "stored_graded": counts["graded"],
                "stored_right": counts["by_task_model"]
                .get(TASK_NAME, {})
                .get(MODEL_NAME, {})
                .get("right", 0),
                "client_latency_sum_s": latency_sum,
                "rss_imported_kib": rss_imported,
                "rss_loaded_kib": rss_loaded,
                "rss_peak_kib": rss_peak,
                "rss_children_kib": rss_children,
            }
        ),
        flush=True,
    )


# ----------------------------------------------------------------------------- the orchestrator


@dataclass
class Workspace:
    root: Path

    @property
    def tasks_dir(self) -> Path:
        return self.root / "tasks"

    def data_dir(self, items: int) -> Path:
        return self.root / f"data-{items}"

    def dataset(self, items: int) -> Path:
        return self.data_dir(items) / TASK_NAME / "items.jsonl"

    def prepare(self, sizes: set[int]) -> None:
        self.tasks_dir.mkdir(parents=True, exist_ok=True)
        (self.tasks_dir / f"{TASK_NAME}.yaml").write_text(TASK_FILE)
        for size in sizes:
            path = self.dataset(size)
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("w") as handle:
                for i in range(size):
                    row = {
                        "id": f"q{i:06d}",
                        "question": f"Question {i}: what is six times seven?",
                        "answer": GOLD,
                    }
                    handle.write(json.dumps(row) + "\n")


def _child_json(cmd: list[str], env: dict[str, str] | None, what: str, timeout: float) -> dict[str, Any]:
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, timeout=timeout)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"{what} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(lines[-1])


def run_harness(
    ws: Workspace, server: PeerServer, concurrency: int, items: int, profile: Path | None = None
) -> dict[str, Any]:
    run_dir = Path(tempfile.mkdtemp(prefix="run-", dir=ws.root))
    env = {**os.environ, "HARNESS_TASKS_DIR": str(ws.tasks_dir), "HARNESS_DATA_DIR": str(ws.data_dir(items))}
    cmd = [
        sys.executable,
        __file__,
        "--role",
        "harness",
        "--base-url",
        server.base_url,
        "--concurrency",
        str(concurrency),
        "--items",
        str(items),
        "--run-dir",
        str(run_dir),
    ]
    if profile is not None:
        cmd += ["--profile", str(profile)]
    server.reset()
    result = _child_json(cmd, env, f"harness run C={concurrency} N={items}", timeout=1800)
    result["server"] = server.stats()
    problems = []
    if result["stored_samples"] != items or result["request_errors"]:
        problems.append(
            f"stored {result['stored_samples']}/{items} samples, {result['request_errors']} request errors"
        )
    if result["stored_graded"] != items or result["stored_right"] != items:
        problems.append(f"graded {result['stored_graded']}, right {result['stored_right']} of {items}")
    if result["server"]["requests"] != items:
        problems.append(f"server saw {result['server']['requests']} requests for {items} samples")
    result["problems"] = problems
    return result


def run_lmeval(
    python: str, ws: Workspace, server: PeerServer, concurrency: int, items: int
) -> dict[str, Any]:
    cmd = [
        python,
        str(LMEVAL_DRIVER),
        "--base-url",
        server.base_url,
        "--concurrency",
        str(concurrency),
        "--data",
        str(ws.dataset(items)),
        "--items",
        str(items),
        "--max-tokens",
        str(MAX_TOKENS),
    ]
    server.reset()
    result = _child_json(cmd, None, f"lm-eval run C={concurrency} N={items}", timeout=1800)
    result["server"] = server.stats()
    problems = []
    if result["answered"] != items or result["server"]["requests"] != items:
        problems.append(
            f"answered {result['answered']}, server saw {result['server']['requests']} of {items}"
        )
    result["problems"] = problems
    return result


def lmeval_available(python: str | None) -> str | None:
    """None when usable, else why not."""
    if not python:
        return "no lm-eval Python given (--lmeval-python or $LMEVAL_PYTHON)"
    if not Path(python).exists():
        return f"{python} does not exist (see the setup commands at the top of bench/scheduler.py)"
    probe = subprocess.run(
        [python, "-c", "import lm_eval.models.openai_completions, tenacity, aiohttp"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if probe.returncode != 0:
        return f"{python} cannot import lm-eval's API client: {probe.stderr.strip().splitlines()[-1:]}"
    return None


def utilisation(result: dict[str, Any], concurrency: int) -> tuple[float, float]:
    """(server-side mean in-flight / C, server peak in-flight / C) over the client's wall time."""
    mean_in_flight = result["server"]["busy_s"] / result["wall_s"]
    return mean_in_flight / concurrency, result["server"]["peak_in_flight"] / concurrency


def _note_problems(label: str, result: dict[str, Any], problems: list[str]) -> None:
    problems.extend(f"{label}: {p}" for p in result.get("problems", []))


def bench_instant(
    ws: Workspace,
    server: PeerServer,
    profile: Profile,
    lmeval_python: str | None,
    why_no_lmeval: str | None,
    problems: list[str],
) -> None:
    n = profile.instant_items
    print(
        f"\n== 1+2+5. instant server (delay 0), N={n} requests per run, best of {profile.repeats} "
        "(runs alternate harness / lm-eval)"
    )
    print(
        "   harness = Scheduler.run wall (store + grading included); lm-eval = generate_until wall (no storage)"
    )
    header = f"{'C':>5} {'harness rps':>12} {'lm-eval rps':>12} {'ratio':>7}  {'srv mean/C':>10} {'srv peak':>8}  runs (rps)"
    print(header)
    for c in profile.concurrencies:
        harness_runs: list[dict[str, Any]] = []
        lmeval_runs: list[dict[str, Any]] = []
        for _ in range(profile.repeats):
            result = run_harness(ws, server, c, n)
            _note_problems(f"harness C={c}", result, problems)
            harness_runs.append(result)
            if why_no_lmeval is None:
                assert lmeval_python is not None
                result = run_lmeval(lmeval_python, ws, server, c, n)
                _note_problems(f"lm-eval C={c}", result, problems)
                lmeval_runs.append(result)
        best_h = min(harness_runs, key=lambda r: r["wall_s"])
        h_rps = n / best_h["wall_s"]
        mean_u, peak = utilisation(best_h, c)
        runs = "h " + "/".join(f"{n / r['wall_s']:.0f}" for r in harness_runs)
        if lmeval_runs:
            best_l = min(lmeval_runs, key=lambda r: r["elapsed_s"])
            l_rps = n / best_l["elapsed_s"]
            ratio = f"{h_rps / l_rps:6.2f}x"
            runs += "  l " + "/".join(f"{n / r['elapsed_s']:.0f}" for r in lmeval_runs)
            l_text = f"{l_rps:12.0f}"
        else:
            ratio, l_text = "    n/a", f"{'n/a':>12}"
        print(
            f"{c:>5} {h_rps:12.0f} {l_text} {ratio}  {mean_u:10.3f} {best_h['server']['peak_in_flight']:>8}  {runs}",
            flush=True,
        )
    if why_no_lmeval:
        print(f"   lm-eval not measured: {why_no_lmeval}")
    print(
        "   goal: ratio >= 3.00x.  srv mean/C = server-side time inside handlers / client wall / C: with an"
    )
    print(
        "   instant server this shows how little of the wall the server is busy (the client is the bottleneck)."
    )


def bench_delay(ws: Workspace, server: PeerServer, profile: Profile, problems: list[str]) -> None:
    print(
        f"\n== 2+3. server with {server.delay:g} s delay: wall vs ideal N/C x {server.delay:g} s (goal <= 1.02)"
    )
    print(
        f"{'C':>5} {'N':>6} {'ideal s':>8} {'wall s':>8} {'wall/ideal':>10} {'span/ideal':>10} "
        f"{'mean in-flight/C':>16} {'peak':>6}"
    )
    for c in profile.concurrencies:
        for k in profile.delay_multiples:
            n = k * c
            result = run_harness(ws, server, c, n)
            _note_problems(f"delay C={c} N={n}", result, problems)
            ideal = n / c * server.delay
            mean_u, _ = utilisation(result, c)
            span = result["server"]["span_s"]
            print(
                f"{c:>5} {n:>6} {ideal:8.2f} {result['wall_s']:8.3f} {result['wall_s'] / ideal:10.3f} "
                f"{span / ideal:10.3f} {mean_u:16.3f} {result['server']['peak_in_flight']:>6}",
                flush=True,
            )
    print(
        "   span = server's first request start -> last request end (excludes process-pool start-up and the"
    )
    print("   final grade/flush); mean in-flight/C = server busy time / wall / C.")


def bench_rss(ws: Workspace, server: PeerServer, profile: Profile, problems: list[str]) -> None:
    n, c = profile.rss_items, 256
    print(f"\n== 4. peak RSS: one harness child process, N={n} samples at C={c} against the instant server")
    result = run_harness(ws, server, c, n)
    _note_problems(f"rss N={n}", result, problems)
    mib = 1024.0
    imported, loaded, peak = result["rss_imported_kib"], result["rss_loaded_kib"], result["rss_peak_kib"]
    per_100k_total = (peak - imported) / mib * 100_000 / n
    per_100k_run = (peak - loaded) / mib * 100_000 / n
    print(
        f"   ru_maxrss after imports {imported / mib:.0f} MiB, after loading {n} items + store "
        f"{loaded / mib:.0f} MiB, after the run {peak / mib:.0f} MiB ({n / result['wall_s']:.0f} req/s)"
    )
    scaled = "" if n == 100_000 else f"  (scaled linearly from {n})"
    print(
        f"   per 100k stored samples: {per_100k_total:.0f} MiB incl. the items, {per_100k_run:.0f} MiB for the "
        f"run itself{scaled}"
    )
    print(
        f"   grading pool workers' peak RSS (RUSAGE_CHILDREN, largest single child): "
        f"{result['rss_children_kib'] / mib:.0f} MiB"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="smaller N, one repeat (< 2 min)")
    parser.add_argument(
        "--lmeval-python",
        default=os.environ.get("LMEVAL_PYTHON", DEFAULT_LMEVAL_PYTHON),
        help="Python of the venv holding lm-eval (default $LMEVAL_PYTHON or %(default)s)",
    )
    parser.add_argument(
        "--skip",
        action="append",
        default=[],
        choices=["instant", "delay", "rss"],
        help="leave out a section (repeatable)",
    )
    parser.add_argument("--delay", type=float, default=1.0, help="latency of the delay server, seconds")
    # internal roles: the bench re-runs this file as the server and as each harness child
    parser.add_argument(
        "--role", choices=["bench", "serve", "harness"], default="bench", help=argparse.SUPPRESS
    )
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    parser.add_argument("--concurrency", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--items", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--run-dir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--profile", type=Path, help="harness role: write a cProfile dump here")
    args = parser.parse_args(argv)

    if args.role == "serve":
        serve(args.delay)
        return 0
    if args.role == "harness":
        harness_run(args.base_url, args.concurrency, args.items, args.run_dir, args.profile)
        return 0

    profile = QUICK if args.quick else FULL
    started = time.perf_counter()
    why_no_lmeval = lmeval_available(args.lmeval_python) if "instant" not in args.skip else None
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-scheduler-") as tmp:
        ws = Workspace(Path(tmp))
        sizes = {profile.instant_items, profile.rss_items}
        sizes |= {k * c for c in profile.concurrencies for k in profile.delay_multiples}
        ws.prepare(sizes)
        print(
            f"bench/scheduler.py ({'quick' if args.quick else 'full'}), python {sys.version.split()[0]}, "
            f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; lm-eval: {args.lmeval_python}"
        )
        instant = PeerServer(0.0, ws.root)
        delayed = PeerServer(args.delay, ws.root) if "delay" not in args.skip else None
        try:
            if "instant" not in args.skip:
                bench_instant(ws, instant, profile, args.lmeval_python, why_no_lmeval, problems)
            if delayed is not None:
                bench_delay(ws, delayed, profile, problems)
            if "rss" not in args.skip:
                bench_rss(ws, instant, profile, problems)
        finally:
            instant.stop()
            if delayed is not None:
                delayed.stop()
    print(
        f"\ntotal bench time {time.perf_counter() - started:.0f} s; load average now {os.getloadavg()[0]:.2f}"
    )
    if problems:
        print("CORRECTNESS PROBLEMS (figures above are not trustworthy):")
        for problem in problems:
            print(f"  - {problem}")
        return 1
    print("all runs stored, graded (every sample 'right') and counted by the server exactly once per sample")
    return 0


if __name__ == "__main__":
    sys.exit(main())
