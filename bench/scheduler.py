"""Throughput of the harness scheduler, and the same workload through lm-evaluation-harness.

Everything talks to a real loopback OpenAI-compatible server (harness.serving.loopback_server, plus two read-only
statistics routes) running in its own process, so the server never shares an event loop with a client.
Each harness measurement runs in its own child process through the real path: a task file and a jsonl
dataset written to a temp directory, harness.taskset.select_tasks + harness.evaluate.load_items,
ResultsStore on a temp run dir, Scheduler.run with the grading pool (grader `exact`).

One-time setup of the peer; lm-eval lives in its own virtual environment, never in the project's Python:

    python -m venv /tmp/bench-lmeval-venv
    /tmp/bench-lmeval-venv/bin/pip install torch==2.13.0     # the local CPU wheel, so lm-eval can't pull CUDA torch
    /tmp/bench-lmeval-venv/bin/pip install "lm-eval[api]==0.4.13"

Run (from the repository root):

    python bench/scheduler.py                  # full bench, about 8 minutes on 2 busy cores
    python bench/scheduler.py --quick          # under 2 minutes
    python bench/scheduler.py --lmeval-python /path/to/venv/bin/python   # or set $LMEVAL_PYTHON

    python bench/scheduler.py --skip rss       # sections: instant, samples, delay, rss

Figures printed (every run is checked: all samples stored and graded 'right', the server saw exactly the
expected number of requests; otherwise the bench says the figures are not trustworthy and exits 1):
  1. requests/s at concurrency 64, 256, 1024 against the instant server (delay 0): the harness vs lm-eval's
     LocalChatCompletion(num_concurrent=C).generate_until (bench/_lmeval_driver.py, run in the venv), best of
     2 alternating runs (1 with --quick), harness_rps / lm_eval_rps (goal >= 3), and CPU seconds per request
     of each client (harness: its process + grading workers), which the machine's other load does not skew.
  1b. the same with 4 samples per item: one n=4 request from the harness, 4 requests from lm-eval (as its
     `repeats` does), in samples/s.
  2. in-flight utilisation: the server's own time inside request handlers / the client's wall time / C
     (mean achieved concurrency over configured), and the server's peak in-flight.
  3. against a 1 s delay server, wall / (N/C x 1 s) for N = 2C and 4C (goal <= 1.02), split into head
     (run start -> first request), span (first request -> last response) and tail (-> run returns).
  4. peak RSS per 100k stored samples: ru_maxrss of the harness child after the run minus its ru_maxrss after
     imports (and minus after loading the items), for 100k samples (20k scaled with --quick); the grading
     workers' peaks separately, from /proc VmHWM. ru_maxrss rather than tracemalloc: it counts C extensions,
     SQLite and allocator overhead, which is what a user's machine has to hold.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
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
SECTIONS = ["instant", "samples", "delay", "rss"]
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
    concurrencies=(64, 256, 1024), instant_items=6_000, repeats=2, delay_multiples=(2, 4), rss_items=100_000
)
QUICK = Profile(
    concurrencies=(64, 256, 1024), instant_items=2_000, repeats=1, delay_multiples=(2,), rss_items=20_000
)


def _raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def _maxrss_kib(who: int = resource.RUSAGE_SELF) -> int:
    return resource.getrusage(who).ru_maxrss  # KiB on Linux


def _cpu_s(who: int = resource.RUSAGE_SELF) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


class ChildPeakRss:
    """Polls /proc for this process's children (the grading workers) and keeps each one's VmHWM.

    RUSAGE_CHILDREN's ru_maxrss is no use here: a spawned worker is forked from this process before it
    execs, so its recorded peak includes the parent's pages at fork time.
    """

    def __init__(self, interval_s: float = 0.5):
        import threading

        self.peaks_kib: dict[int, int] = {}
        self._interval = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, name="child-rss", daemon=True)

    def _children(self) -> list[int]:
        me = str(os.getpid())
        found = []
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                stat = Path(entry.path, "stat").read_text()
            except OSError:
                continue
            if stat.rsplit(")", 1)[1].split()[1] == me:  # field 4, ppid; the name may contain spaces
                found.append(int(entry.name))
        return found

    def _poll(self) -> None:
        while not self._stop.wait(self._interval):
            for pid in self._children():
                try:
                    status = Path(f"/proc/{pid}/status").read_text()
                except OSError:
                    continue
                for line in status.splitlines():
                    if line.startswith("VmHWM:"):
                        self.peaks_kib[pid] = max(self.peaks_kib.get(pid, 0), int(line.split()[1]))

    def __enter__(self) -> ChildPeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


# ----------------------------------------------------------------------------- role: the peer server


def serve(delay: float) -> None:
    """harness.serving.loopback_server's LoopbackServer, plus /bench/stats and /bench/reset for the server's own counts."""
    import asyncio
    from dataclasses import dataclass as _dataclass

    from aiohttp import web

    from harness.serving.loopback_server import LoopbackServer

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
                    # perf_counter is CLOCK_MONOTONIC on Linux: comparable with the client process's clock
                    "first_start": self.first_start,
                    "last_end": self.last_end,
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
    base_url: str,
    concurrency: int,
    items_limit: int,
    samples: int,
    run_dir: Path,
    profile: Path | None = None,
    watch_children: bool = False,
) -> None:
    """One Scheduler.run in this process (env: HARNESS_TASKS_DIR, HARNESS_DATA_DIR); prints a JSON line."""
    _raise_fd_limit()
    import asyncio

    from harness.config import ModelSpec
    from harness.evaluate import EvalRequest, load_items, new_event_loop
    from harness.scheduler import SamplingOverrides, Scheduler
    from harness.taskset import select_tasks
    from results.store import ResultsStore

    rss_imported = _maxrss_kib()
    request = EvalRequest(tasks=TASK_NAME, limit=items_limit, show_progress=False)
    tasks, items = load_items(select_tasks(request.tasks), request)
    loaded = sum(len(v) for v in items.values())
    if loaded != items_limit:
        raise SystemExit(f"expected {items_limit} items, the task loaded {loaded}")
    store = ResultsStore(run_dir)
    store.upsert_items(task.item_record(item) for task in tasks for item in items[task.name])
    rss_loaded = _maxrss_kib()
    spec = ModelSpec(name=MODEL_NAME, base_urls=[base_url], max_concurrency=concurrency)
    overrides = SamplingOverrides(samples=samples, concurrency=concurrency, max_tokens=MAX_TOKENS)
    scheduler = Scheduler(store, [spec], overrides)

    profiler = None
    if profile is not None:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    cpu_before, children_cpu_before = _cpu_s(), _cpu_s(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    workers_rss = ChildPeakRss()
    # The event loop `harness eval` uses.
    with workers_rss if watch_children else contextlib.nullcontext(), asyncio.Runner(
        loop_factory=new_event_loop
    ) as runner:
        stats = runner.run(scheduler.run(tasks, items))
    wall = time.perf_counter() - started
    cpu = _cpu_s() - cpu_before
    grading_cpu = _cpu_s(resource.RUSAGE_CHILDREN) - children_cpu_before  # pool workers, reaped at shutdown
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(profile)
    rss_peak = _maxrss_kib()

    counts = store.counts()
    latency_sum = sum(record.latency_s or 0.0 for record in store.iter_samples())
    store.close()
    right = counts["by_task_model"].get(TASK_NAME, {}).get(MODEL_NAME, {}).get("right", 0)
    result = {
        "wall_s": wall,
        "started": started,
        "cpu_s": cpu,
        "grading_cpu_s": grading_cpu,
        "requests": stats.requests,
        "request_errors": stats.request_errors,
        "samples_written": stats.samples_written,
        "graded": stats.graded,
        "stored_samples": counts["samples"],
        "stored_graded": counts["graded"],
        "stored_right": right,
        "client_latency_sum_s": latency_sum,
        "rss_imported_kib": rss_imported,
        "rss_loaded_kib": rss_loaded,
        "rss_peak_kib": rss_peak,
        "worker_peak_rss_kib": sorted(workers_rss.peaks_kib.values(), reverse=True),
    }
    print(json.dumps(result), flush=True)


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
                    question = f"Question {i}: what is six times seven?"
                    handle.write(json.dumps({"id": f"q{i:06d}", "question": question, "answer": GOLD}) + "\n")


@dataclass
class Measurement:
    """One client run against the peer server; `samples` stored/answered, `requests` seen by the server."""

    system: str
    concurrency: int
    samples: int
    wall_s: float
    cpu_s: float  # client process (for the harness: the scheduler's process, grading workers separately)
    grading_cpu_s: float
    server: dict[str, Any]
    raw: dict[str, Any]

    @property
    def rps(self) -> float:
        return self.server["requests"] / self.wall_s

    @property
    def sps(self) -> float:
        return self.samples / self.wall_s

    @property
    def cpu_ms_per_sample(self) -> float:
        return 1000 * (self.cpu_s + self.grading_cpu_s) / self.samples

    def utilisation(self) -> float:
        """Server-side mean in-flight (time inside handlers / client wall) over the configured concurrency."""
        return self.server["busy_s"] / self.wall_s / self.concurrency


class Bench:
    def __init__(self, ws: Workspace, lmeval_python: str | None, why_no_lmeval: str | None):
        self.ws = ws
        self.lmeval_python = lmeval_python
        self.why_no_lmeval = why_no_lmeval
        self.problems: list[str] = []

    def _check(self, label: str, ok: bool, detail: str) -> None:
        if not ok:
            self.problems.append(f"{label}: {detail}")

    def harness(
        self, server: PeerServer, concurrency: int, items: int, samples: int = 1, watch_children: bool = False
    ) -> Measurement:
        run_dir = Path(tempfile.mkdtemp(prefix="run-", dir=self.ws.root))
        env = {
            **os.environ,
            "HARNESS_TASKS_DIR": str(self.ws.tasks_dir),
            "HARNESS_DATA_DIR": str(self.ws.data_dir(items)),
        }
        cmd = [sys.executable, __file__, "--role", "harness", "--base-url", server.base_url]
        cmd += ["--concurrency", str(concurrency), "--items", str(items), "--samples", str(samples)]
        cmd += ["--run-dir", str(run_dir)] + (["--watch-children"] if watch_children else [])
        label = f"harness C={concurrency} N={items}x{samples}"
        server.reset()
        raw = _child_json(cmd, env, label)
        stats = server.stats()
        expected = items * samples
        self._check(
            label,
            raw["stored_samples"] == expected and not raw["request_errors"],
            f"stored {raw['stored_samples']}/{expected} samples, {raw['request_errors']} request errors",
        )
        self._check(
            label,
            raw["stored_graded"] == expected and raw["stored_right"] == expected,
            f"graded {raw['stored_graded']}, right {raw['stored_right']} of {expected}",
        )
        self._check(
            label, stats["requests"] == items, f"server saw {stats['requests']} requests for {items} items"
        )
        shutil.rmtree(run_dir, ignore_errors=True)
        return Measurement(
            "harness", concurrency, expected, raw["wall_s"], raw["cpu_s"], raw["grading_cpu_s"], stats, raw
        )

    def lmeval(self, server: PeerServer, concurrency: int, items: int, repeats: int = 1) -> Measurement:
        assert self.lmeval_python is not None
        cmd = [self.lmeval_python, str(LMEVAL_DRIVER), "--base-url", server.base_url]
        cmd += [
            "--concurrency",
            str(concurrency),
            "--data",
            str(self.ws.dataset(items)),
            "--items",
            str(items),
        ]
        cmd += ["--repeats", str(repeats), "--max-tokens", str(MAX_TOKENS)]
        label = f"lm-eval C={concurrency} N={items}x{repeats}"
        server.reset()
        raw = _child_json(cmd, None, label)
        stats = server.stats()
        expected = items * repeats
        self._check(
            label,
            raw["answered"] == expected and stats["requests"] == expected,
            f"answered {raw['answered']}, server saw {stats['requests']} of {expected}",
        )
        self._check(label, raw["distinct_answers"] == [ANSWER], f"answers {raw['distinct_answers']}")
        return Measurement("lm-eval", concurrency, expected, raw["elapsed_s"], raw["cpu_s"], 0.0, stats, raw)

    # ------------------------------------------------------------------------- sections

    def instant(self, server: PeerServer, profile: Profile) -> None:
        n = profile.instant_items
        print(
            f"\n== 1, 2, 5. instant server (delay 0): N={n} items x 1 sample, best of {profile.repeats} "
            "alternating runs"
        )
        print(
            "   harness: Scheduler.run wall incl. SQLite store + grading pool start/stop; lm-eval: generate_until "
            "wall, no storage, no grading"
        )
        print(
            f"{'C':>5} {'harness rps':>11} {'lm-eval rps':>11} {'ratio':>6}  {'cpu ms/req h (grading)':>22} "
            f"{'l':>5} {'cpu ratio':>9}  {'srv mean/C':>10} {'peak':>5}  runs"
        )
        for c in profile.concurrencies:
            runs_h, runs_l = [], []
            for _ in range(profile.repeats):
                runs_h.append(self.harness(server, c, n))
                if self.why_no_lmeval is None:
                    runs_l.append(self.lmeval(server, c, n))
            self._row(c, runs_h, runs_l, per="req")
        if self.why_no_lmeval:
            print(f"   lm-eval not measured: {self.why_no_lmeval}")
        print(
            "   goal: ratio >= 3.00x.  cpu = CPU seconds the client spent per request (harness: scheduler process "
            "+ grading workers); cpu ratio = lm-eval / harness, the load-independent view."
        )
        print(
            "   srv mean/C = server time inside handlers / client wall / C (tiny here: an instant server is never the"
            " bottleneck); peak = server's peak in-flight."
        )

    def instant_samples(self, server: PeerServer, profile: Profile, samples: int = 4) -> None:
        n, c = profile.instant_items // samples, 256
        print(
            f"\n== 1b. same, {samples} samples per item ({n} items at C={c}): the harness asks for n={samples} in one "
            f"request, lm-eval sends {samples} requests (as its `repeats` does); figures are samples/s"
        )
        print(
            f"{'C':>5} {'harness sps':>11} {'lm-eval sps':>11} {'ratio':>6}  {'cpu ms/smp h (grading)':>22} "
            f"{'l':>5} {'cpu ratio':>9}  {'srv mean/C':>10} {'peak':>5}  runs"
        )
        runs_h, runs_l = [], []
        for _ in range(profile.repeats):
            runs_h.append(self.harness(server, c, n, samples=samples))
            if self.why_no_lmeval is None:
                runs_l.append(self.lmeval(server, c, n, repeats=samples))
        self._row(c, runs_h, runs_l, per="sample")

    def _row(self, c: int, runs_h: list[Measurement], runs_l: list[Measurement], per: str) -> None:
        def rate(m: Measurement) -> float:
            return m.rps if per == "req" else m.sps

        def cpu(m: Measurement) -> float:
            count = m.server["requests"] if per == "req" else m.samples
            return 1000 * (m.cpu_s + m.grading_cpu_s) / count

        best_h = max(runs_h, key=rate)
        grading = (
            1000 * best_h.grading_cpu_s / (best_h.server["requests"] if per == "req" else best_h.samples)
        )
        cells = f"{c:>5} {rate(best_h):11.0f}"
        runs = "h " + "/".join(f"{rate(m):.0f}" for m in runs_h)
        if runs_l:
            best_l = max(runs_l, key=rate)
            cells += f" {rate(best_l):11.0f} {rate(best_h) / rate(best_l):5.2f}x"
            cpu_cells = f"{cpu(best_h):10.2f} ({grading:.2f})       {cpu(best_l):5.2f} {cpu(best_l) / cpu(best_h):8.2f}x"
            runs += "  l " + "/".join(f"{rate(m):.0f}" for m in runs_l)
        else:
            cells += f" {'n/a':>11} {'n/a':>6}"
            cpu_cells = f"{cpu(best_h):10.2f} ({grading:.2f})       {'n/a':>5} {'n/a':>9}"
        util = f"{best_h.utilisation():10.4f} {best_h.server['peak_in_flight']:>5}"
        print(f"{cells}  {cpu_cells}  {util}  {runs}", flush=True)

    def delay(self, server: PeerServer, profile: Profile) -> None:
        d = server.delay
        print(
            f"\n== 2, 3. server with a {d:g} s delay: harness wall vs ideal N/C x {d:g} s (goal wall/ideal <= 1.02)"
        )
        print(
            f"{'C':>5} {'N':>6} {'ideal s':>7} {'wall s':>7} {'wall/ideal':>10} {'span/ideal':>10} "
            f"{'head s':>6} {'tail s':>6} {'mean in-flight/C':>16} {'peak':>5}"
        )
        for c in profile.concurrencies:
            for k in profile.delay_multiples:
                n = k * c
                m = self.harness(server, c, n)
                ideal = n / c * d
                stats = m.server
                head = stats["first_start"] - m.raw["started"]
                tail = m.raw["started"] + m.wall_s - stats["last_end"]
                print(
                    f"{c:>5} {n:>6} {ideal:7.2f} {m.wall_s:7.3f} {m.wall_s / ideal:10.3f} "
                    f"{stats['span_s'] / ideal:10.3f} {head:6.2f} {tail:6.2f} {m.utilisation():16.3f} "
                    f"{stats['peak_in_flight']:>5}",
                    flush=True,
                )
        print(
            "   span = the server's first request start -> last request end; head = Scheduler.run start -> first"
            " request at the server; tail = last response -> Scheduler.run returns (grading pool drain and"
            " shut-down, final flush); mean in-flight/C = server busy time / wall / C."
        )

    def rss(self, server: PeerServer, profile: Profile) -> None:
        n, c = profile.rss_items, 256
        print(f"\n== 4. peak RSS: one harness child process, N={n} items x 1 sample at C={c}, instant server")
        m = self.harness(server, c, n, watch_children=True)
        mib = 1024.0
        imported, loaded, peak = (
            m.raw[k] / mib for k in ("rss_imported_kib", "rss_loaded_kib", "rss_peak_kib")
        )
        scale = 100_000 / n
        print(
            f"   ru_maxrss: {imported:.0f} MiB after imports, {loaded:.0f} MiB after loading {n} items + store, "
            f"{peak:.0f} MiB after the run ({m.sps:.0f} samples/s)"
        )
        note = "" if n == 100_000 else f" (scaled linearly from {n})"
        print(
            f"   per 100k stored samples: {(peak - imported) * scale:.0f} MiB incl. the items, "
            f"{(peak - loaded) * scale:.0f} MiB for the run itself{note}"
        )
        print(
            "   child processes of the run (grading workers, resource tracker), peak RSS each (VmHWM, polled): "
            + ", ".join(f"{kib / mib:.0f}" for kib in m.raw["worker_peak_rss_kib"])
            + " MiB"
        )


def _child_json(cmd: list[str], env: dict[str, str] | None, what: str) -> dict[str, Any]:
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, timeout=1800)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"{what} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(lines[-1])


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="smaller N, one repeat (< 2 min)")
    parser.add_argument(
        "--lmeval-python",
        default=os.environ.get("LMEVAL_PYTHON", DEFAULT_LMEVAL_PYTHON),
        help="Python of the venv holding lm-eval (default: $LMEVAL_PYTHON, else %(default)s)",
    )
    parser.add_argument("--skip", action="append", default=[], choices=SECTIONS, help="leave out a section")
    parser.add_argument("--delay", type=float, default=1.0, help="latency of the delay server, seconds")
    # internal roles: the bench re-runs this file as the peer server and as each harness child
    parser.add_argument(
        "--role", choices=["bench", "serve", "harness"], default="bench", help=argparse.SUPPRESS
    )
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    parser.add_argument("--concurrency", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--items", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--samples", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--run-dir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--profile", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--watch-children", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.role == "serve":
        serve(args.delay)
        return 0
    if args.role == "harness":
        harness_run(
            args.base_url,
            args.concurrency,
            args.items,
            args.samples,
            args.run_dir,
            args.profile,
            args.watch_children,
        )
        return 0

    profile = QUICK if args.quick else FULL
    started = time.perf_counter()
    lmeval_python = args.lmeval_python or None
    wants_lmeval = not {"instant", "samples"} <= set(args.skip)
    why_no_lmeval = lmeval_available(lmeval_python) if wants_lmeval else None
    with tempfile.TemporaryDirectory(prefix="bench-scheduler-") as tmp:
        ws = Workspace(Path(tmp))
        sizes = {profile.instant_items, profile.instant_items // 4, profile.rss_items}
        sizes |= {k * c for c in profile.concurrencies for k in profile.delay_multiples}
        ws.prepare(sizes)
        print(
            f"bench/scheduler.py ({'quick' if args.quick else 'full'}): Python {sys.version.split()[0]}, "
            f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; lm-eval Python: {lmeval_python}"
        )
        bench = Bench(ws, lmeval_python, why_no_lmeval)
        instant = PeerServer(0.0, ws.root)
        delayed = PeerServer(args.delay, ws.root) if "delay" not in args.skip else None
        try:
            if "instant" not in args.skip:
                bench.instant(instant, profile)
            if "samples" not in args.skip:
                bench.instant_samples(instant, profile)
            if delayed is not None:
                bench.delay(delayed, profile)
            if "rss" not in args.skip:
                bench.rss(instant, profile)
        finally:
            instant.stop()
            if delayed is not None:
                delayed.stop()
    print(
        f"\ntotal bench time {time.perf_counter() - started:.0f} s; load average now {os.getloadavg()[0]:.2f}"
    )
    if bench.problems:
        print("CORRECTNESS PROBLEMS (the figures above are not trustworthy):")
        for problem in bench.problems:
            print(f"  - {problem}")
        return 1
    print(
        "checked: every run stored and graded every sample ('right'), and the server counted exactly the "
        "expected requests"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
