"""Runs for the viewer tests, written through the project's own store, report and router commands.

Two runs of three models on three tasks (math, knowledge, code), three samples per item, with
markdown, LaTeX and code in the responses, every grade reason, a failed request, a response that
tries to inject HTML, and a unique word per sample to search for. The first run also has a router
fitted by `harness route fit` / `route eval` / `route sweep --plot`, embedding queries through a real
loopback OpenAI-style /v1/embeddings server (a bag of hashed words: deterministic, no model).
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import threading
from pathlib import Path

from aiohttp import web

from harness.cli import main as harness_main
from harness.report import write_report
from results.manifest import build_manifest, write_manifest
from results.records import ItemRecord, SampleRecord, SamplingParams, TaskInfo
from results.store import ResultsStore

MODELS = ("alpha", "beta", "gamma")
TASKS = {
    "algebra": TaskInfo(category="math", grader="exact"),
    "trivia": TaskInfo(category="knowledge", grader="choice", grader_options={"letters": "A-D"}),
    "coding": TaskInfo(category="code", grader="code", is_code=True),
}
ITEMS_PER_TASK = 6
SAMPLES = 3
PARAMS = SamplingParams(temperature=0.7, top_p=1.0, max_tokens=512)
XSS = '<script>window.__xss = 1</script><img src=x onerror="window.__xss = 2">'
DIM = 32


def search_word(task: str, item: int, model: str, index: int) -> str:
    """A word that occurs in exactly one response."""
    return f"marker{task}{item}{model}{index}"


def _query(task: str, item: int) -> str:
    topic = {
        "algebra": "solve the equation for x",
        "trivia": "which capital city river",
        "coding": "write a python function that returns",
    }[task]
    return f"Question {item} about {task}: {topic} number {item}."


def _response(task: str, item: int, model: str, index: int, answer: str | None) -> str:
    parts = [f"Let me think about **{task}** item {item}. {search_word(task, item, model, index)}"]
    if task == "algebra":
        parts.append(r"We have \(x^2 = 4\), so $$x = \frac{8}{2}$$ and the root is positive.")
    if task == "coding":
        parts.append("```python\ndef solve(n):\n    return n * 2\n```")
    if task == "trivia" and item == 0 and model == "beta" and index == 0:
        parts.append(XSS)
    if answer is not None:
        parts.append(f"Answer: {answer}")
    return "\n\n".join(parts)


def _outcome(task: str, item: int, model: str, index: int, run_offset: int) -> tuple[str, str | None, float]:
    """(reason, extracted, score): each model is strong on one task; every reason occurs."""
    strong = {"alpha": "algebra", "beta": "trivia", "gamma": "coding"}[model]
    gold = _gold(task, item)
    if (item + index + run_offset) % 7 == 5:
        return "no_answer", None, 0.0
    if task == strong or (item + index + run_offset) % 3 == 0:
        return "right", gold, 1.0
    wrong = "B" if task == "trivia" and gold != "B" else ("C" if task == "trivia" else str(int(gold) + 1))
    return "wrong", wrong, 0.0


def _gold(task: str, item: int) -> str:
    return "ABCD"[item % 4] if task == "trivia" else str(item + 10)


def write_run(run_dir: Path, *, run_offset: int = 0) -> Path:
    """A finished run: store, manifest, report.md and results.json."""
    items = [
        ItemRecord(
            task=t,
            item_id=f"{t[0]}{i}",
            category=info.category,
            query=_query(t, i),
            prompt_hash=f"hash-{t}-{i}",
            gold=_gold(t, i),
        )
        for t, info in TASKS.items()
        for i in range(ITEMS_PER_TASK)
    ]
    samples = []
    for t in TASKS:
        for i in range(ITEMS_PER_TASK):
            for m in MODELS:
                for k in range(SAMPLES):
                    common = dict(
                        task=t,
                        item_id=f"{t[0]}{i}",
                        model=m,
                        sample_index=k,
                        seed=1000 + k,
                        prompt_hash=f"hash-{t}-{i}",
                        params=PARAMS,
                    )
                    if t == "coding" and i == 5 and m == "gamma" and k == 2:
                        samples.append(
                            SampleRecord(
                                **common, error="HTTP 503: server overloaded", error_kind="transient"
                            )
                        )
                        continue
                    reason, extracted, score = _outcome(t, i, m, k, run_offset)
                    if t == "coding":
                        extracted = None  # programs are run, not voted on
                    finish = "stop"
                    if t == "algebra" and i == 4 and m == "beta" and k == 1:
                        reason, extracted, score, finish = "truncated", None, 0.0, "length"
                    samples.append(
                        SampleRecord(
                            **common,
                            response=_response(t, i, m, k, extracted),
                            finish_reason=finish,
                            prompt_tokens=40 + i,
                            completion_tokens=100 + 10 * k,
                            latency_s=0.5 + 0.25 * k,
                            extracted=extracted,
                            score=score,
                            grade_reason=reason,
                            grade_detail=f"{reason} (graded by {TASKS[t].grader})",
                        )
                    )
    with ResultsStore(run_dir) as store:
        store.upsert_items(items)
        store.write_samples(samples)
    manifest = build_manifest(
        run_dir.name,
        config={"note": "viewer test"},
        sampling=PARAMS,
        seed=7,
        tasks=list(TASKS),
        n_samples=SAMPLES,
        task_info=TASKS,
    )
    write_manifest(run_dir, manifest)
    write_report(run_dir)
    return run_dir


def bag_of_words(text: str) -> list[float]:
    vector = [0.0] * DIM
    for word in re.findall(r"[a-z]+", text.lower()):
        if word in {"question", "about", "number"}:
            continue
        vector[hashlib.sha256(word.encode()).digest()[0] % DIM] += 1.0
    vector[0] += 0.01  # never the zero vector
    return vector


class EmbeddingServer:
    """A real OpenAI-style /v1/embeddings server on loopback, in its own thread (usable from any process)."""

    def __init__(self) -> None:
        self.requests = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.port = 0

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.requests += 1
        data = [
            {"object": "embedding", "index": i, "embedding": bag_of_words(t)}
            for i, t in enumerate(body["input"])
        ]
        return web.json_response({"object": "list", "data": data, "model": body["model"]})

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        app = web.Application()
        app.router.add_post("/v1/embeddings", self._handle)
        self._runner = web.AppRunner(app)
        self._loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        self._loop.run_until_complete(site.start())
        self.port = site._server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()

    def start(self) -> EmbeddingServer:
        self._thread.start()
        self._ready.wait(10)
        return self

    @property
    def spec(self) -> str:
        return f"openai:bow@http://127.0.0.1:{self.port}/v1"

    def stop(self) -> None:
        async def shutdown() -> None:
            await self._runner.cleanup()

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


def add_router(run_dir: Path, embedder_spec: str) -> None:
    """`harness route fit`, `route eval` and `route sweep --plot` on the run, as a user would."""
    common = ["--run", str(run_dir), "--embedder", embedder_spec, "--split", "0.5"]
    assert (
        harness_main(["route", "fit", *common, "--k", "3", "--out", str(run_dir / "router" / "k3.npz")]) == 0
    )
    assert (
        harness_main(
            [
                "route",
                "eval",
                "--run",
                str(run_dir),
                "--router",
                str(run_dir / "router" / "k3.npz"),
                "--seeds",
                "1,2",
            ]
        )
        == 0
    )
    assert (
        harness_main(
            [
                "route",
                "sweep",
                *common,
                "--k",
                "1,2,3",
                "--seeds",
                "1,2",
                "--validation-folds",
                "0",
                "--models-k",
                "2",
                "--plot",
            ]
        )
        == 0
    )
