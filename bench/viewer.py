"""`harness view` on a synthetic run of 1,000,000 samples: first page, filtered search, server memory.

    python bench/viewer.py                 # builds /tmp/viewer-bench/big (a few minutes once), then measures
    python bench/viewer.py --samples 100000 --dir /tmp/vb-small
    python bench/viewer.py --keep-index    # skip rebuilding the search index

The run is written through the project's store API (ResultsStore.write_samples), then the viewer
is started as a real subprocess (`python -m harness view RUN --port P`) and queried over HTTP.
Prints: a filtered page while the search index is being built, the index build time, the first page, a filtered page, a filtered
full-text search (page and count), an item page, and the server's peak RSS (VmHWM). Targets:
first page < 1 s, filtered search < 2 s, RSS < 300 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from results.manifest import build_manifest, write_manifest  # noqa: E402
from results.records import ItemRecord, SampleRecord, SamplingParams, TaskInfo  # noqa: E402
from results.store import ResultsStore  # noqa: E402

WORDS = [
    "the",
    "of",
    "and",
    "to",
    "a",
    "in",
    "is",
    "that",
    "for",
    "it",
    "as",
    "with",
    "was",
    "on",
    "be",
    "by",
    "this",
    "are",
    "from",
    "at",
    "or",
    "an",
    "which",
    "have",
    "not",
    "but",
    "integer",
    "prime",
    "triangle",
    "angle",
    "probability",
    "expected",
    "value",
    "function",
    "derivative",
    "matrix",
    "vector",
    "sum",
    "product",
    "answer",
    "therefore",
    "compute",
    "solve",
    "equation",
    "root",
    "square",
    "cube",
    "modulo",
    "remainder",
    "divisible",
]
MODELS = ["qwen7b", "llama8b", "mistral7b", "gemma9b", "phi4"]
TASKS = [f"task{i:02d}" for i in range(10)]
RARE = "zanzibar"  # appears in about 1 response in 2000


def _text(rng: random.Random, n_words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n_words))


def build_run(run_dir: Path, n_samples: int) -> None:
    if (run_dir / "results.sqlite").is_file():
        print(f"using existing {run_dir}", file=sys.stderr)
    else:
        _write_store(run_dir, n_samples)
    if not (run_dir / "results.json").is_file():
        from harness.report import write_report

        t0 = time.perf_counter()
        write_report(run_dir)  # as `harness eval` does at the end of a run
        print(f"report.md/results.json written in {time.perf_counter() - t0:.0f} s", file=sys.stderr)


def _write_store(run_dir: Path, n_samples: int) -> None:
    rng = random.Random(7)
    per_item = 10
    items_per_task = max(1, n_samples // (len(TASKS) * len(MODELS) * per_item))
    params = SamplingParams(temperature=0.7, max_tokens=1024)
    t0 = time.perf_counter()
    with ResultsStore(run_dir) as store:
        store.upsert_items(
            ItemRecord(
                task=t,
                item_id=f"{i:05d}",
                category="math" if int(t[-2:]) < 5 else "knowledge",
                query=f"Question {i} of {t}: " + _text(rng, 30),
                prompt_hash=f"h{i}",
                gold=str(i % 10),
            )
            for t in TASKS
            for i in range(items_per_task)
        )
        batch: list[SampleRecord] = []
        written = 0
        for t in TASKS:
            for i in range(items_per_task):
                for m in MODELS:
                    for k in range(per_item):
                        r = rng.random()
                        extracted = (
                            str(i % 10) if r < 0.55 else (None if r < 0.65 else str(rng.randrange(10)))
                        )
                        reason = "right" if r < 0.55 else ("no_answer" if r < 0.65 else "wrong")
                        response = _text(rng, 60)
                        if rng.random() < 0.0005:
                            response += f" {RARE}"
                        batch.append(
                            SampleRecord(
                                task=t,
                                item_id=f"{i:05d}",
                                model=m,
                                sample_index=k,
                                seed=k,
                                prompt_hash=f"h{i}",
                                params=params,
                                response=response + f"\n\nAnswer: {extracted}",
                                finish_reason="stop",
                                prompt_tokens=80,
                                completion_tokens=90,
                                latency_s=1.5,
                                extracted=extracted,
                                score=1.0 if reason == "right" else 0.0,
                                grade_reason=reason,
                                grade_detail="",
                            )
                        )
                        if len(batch) >= 20000:
                            store.write_samples(batch)
                            written += len(batch)
                            batch = []
                            print(f"\rwrote {written:,} samples", end="", file=sys.stderr)
        store.write_samples(batch)
    info = {t: TaskInfo(category="math" if int(t[-2:]) < 5 else "knowledge", grader="exact") for t in TASKS}
    write_manifest(
        run_dir,
        build_manifest(
            run_dir.name, config={}, sampling=params, seed=1, tasks=TASKS, n_samples=per_item, task_info=info
        ),
    )
    print(f"\nbuilt {run_dir} in {time.perf_counter() - t0:.0f} s", file=sys.stderr)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(base: str, path: str, **params: object) -> tuple[float, dict]:
    url = f"{base}{path}?{urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})}"
    t0 = time.perf_counter()
    with urllib.request.urlopen(url, timeout=600) as resp:
        body = json.loads(resp.read())
    return time.perf_counter() - t0, body


def _rss_peak_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def measure(run_dir: Path, *, rebuild_index: bool) -> None:
    if rebuild_index:
        for path in run_dir.glob("view-index.sqlite*"):
            path.unlink()
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    server = subprocess.Popen(
        [sys.executable, "-m", "harness", "view", str(run_dir), "--port", str(port), "--no-open"],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                _get(base, "/api/runs")
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("viewer did not start") from None
                time.sleep(0.2)
        run = run_dir.name
        while_indexing, page = _get(base, "/api/samples", run=run, task="task04", outcome="no_answer")
        assert page["rows"], "first page is empty"
        t_index = time.perf_counter()
        while True:
            _, state = _get(base, "/api/index", run=run)
            if state["ready"]:
                break
            time.sleep(1)
        index_s = time.perf_counter() - t_index
        first, page = _get(base, "/api/samples", run=run)
        assert page["rows"], "first page is empty"
        filtered, page_f = _get(
            base, "/api/samples", run=run, task="task07", model="gemma9b", outcome="wrong"
        )
        assert page_f["rows"] and all(r["outcome"] == "wrong" for r in page_f["rows"])
        deep, _ = _get(base, "/api/samples", run=run, task="task03", page=200)
        search, page_s = _get(base, "/api/samples", run=run, q=RARE, model="qwen7b", outcome="right")
        assert all(r["model"] == "qwen7b" for r in page_s["rows"])
        search_common, _ = _get(
            base, "/api/samples", run=run, q="probability", task="task02", outcome="wrong"
        )
        count_s, count = _get(base, "/api/samples/count", run=run, q=RARE, model="qwen7b")
        count_all, count_total = _get(base, "/api/samples/count", run=run)
        item, _ = _get(base, "/api/item", run=run, task="task05", item_id="00042")
        report, body = _get(base, "/api/run", run=run)
        assert body["source"].startswith("results.json"), body["source"]
        report_fresh, _ = _get(base, "/api/run", run=run, fresh=1)
        report_again, _ = _get(base, "/api/run", run=run, fresh=1)
        rss = _rss_peak_mb(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(f"samples in run                           {count_total['count']:,}")
    print(f"filtered page while the index builds     {while_indexing:.3f} s")
    print(f"search index build (once; 0 if reused)   {index_s:.1f} s")
    print(f"first samples page                       {first:.3f} s   (target < 1 s)")
    print(f"filtered page (task+model+wrong)         {filtered:.3f} s")
    print(f"page 200 of one task                     {deep:.3f} s")
    print(f"filtered search, rare word               {search:.3f} s   (target < 2 s)")
    print(f"filtered search, common word             {search_common:.3f} s   (target < 2 s)")
    print(f"search count ({count['count']} hits)              {count_s:.3f} s")
    print(f"total count                              {count_all:.3f} s")
    print(f"item across models                       {item:.3f} s")
    print(f"run page, tables from results.json       {report:.2f} s")
    print(f"run page, recomputed (first / cached)    {report_fresh:.1f} s / {report_again:.3f} s")
    print(f"server peak RSS (VmHWM)                  {rss:.0f} MB  (target < 300 MB)")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--samples", type=int, default=1_000_000)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/viewer-bench"))
    parser.add_argument("--keep-index", action="store_true", help="reuse the search index of a previous run")
    args = parser.parse_args()
    run_dir = args.dir / ("big" if args.samples == 1_000_000 else f"s{args.samples}")
    build_run(run_dir, args.samples)
    measure(run_dir, rebuild_index=not args.keep_index)


if __name__ == "__main__":
    main()
