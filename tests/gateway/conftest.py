"""Two toy tasks (math and multiple choice), a router fitted on them, and a gateway factory."""

from __future__ import annotations

import contextlib
import re
from pathlib import Path

import numpy as np
import pytest
from aiohttp import web

from harness.config import ModelSpec
from harness.serving.gateway.server import Gateway, GatewaySettings
from harness.taskset import discover_tasks
from router.model import Router, RouterConfig
from tests.gateway.helpers import BowEmbedder

MATH_TASK = """\
name: toy_math
category: math
description: sums
paper_size: {n}
source:
  local: {{files: toy_math.jsonl, format: jsonl}}
fields: {{id: id, question: question, answer: answer}}
prompt:
  user: "Compute {{question}}. Put the final answer in \\\\boxed{{{{}}}}."
generation: {{max_tokens: 64}}
grader: {{name: math}}
"""

PICK_TASK = """\
name: toy_pick
category: knowledge
description: colours
paper_size: {n}
source:
  local: {{files: toy_pick.jsonl, format: jsonl}}
fields: {{id: id, question: question, answer: answer, choices: options}}
choices: {{answer_is: index}}
prompt:
  user: "{{question}}\\n\\n{{choices}}\\n\\nEnd with a line `Answer: $LETTER`."
generation: {{max_tokens: 64}}
grader: {{name: choice, options: {{letters: ABCD}}}}
"""

COLOURS = ["red", "green", "blue", "yellow"]
SUM = re.compile(r"Compute (\d+) \+ (\d+)\.")


def write_tasks(tasks_dir: Path, n: int) -> None:
    tasks_dir.mkdir(parents=True, exist_ok=True)
    (tasks_dir / "toy_math.yaml").write_text(MATH_TASK.format(n=n))
    (tasks_dir / "toy_pick.yaml").write_text(PICK_TASK.format(n=n))


def math_prompt(a: int, b: int) -> str:
    return f"Compute {a} + {b}. Put the final answer in \\boxed{{}}."


def pick_prompt(i: int) -> str:
    choices = "\n".join(f"{letter}. {c}" for letter, c in zip("ABCD", COLOURS, strict=True))
    return f"Which colour does fruit number {i} have?\n\n{choices}\n\nEnd with a line `Answer: $LETTER`."


def fit_toy_router(embedder: BowEmbedder, routing: str = "nearest") -> Router:
    """Cluster 'math' queries (no words: '3 + 4') apart from colour questions; 'mather' is best at
    math, 'picker' at the colour questions, 'backup' is mediocre at both."""
    math_queries = [f"{a} + {a + 1}" for a in range(8)]
    pick_queries = [f"Which colour does fruit number {i} have?" for i in range(8)]
    embeddings = embedder.embed(math_queries + pick_queries)
    scores = np.array([[1.0, 0.0, 0.5]] * 8 + [[0.0, 1.0, 0.5]] * 8)
    keys = [("toy_math", f"m{i}") for i in range(8)] + [("toy_pick", f"p{i}") for i in range(8)]
    config = RouterConfig(k=2, embedder=embedder.spec, seed=0, routing=routing, top_clusters=2)
    return Router.fit(embeddings, scores, ["mather", "picker", "backup"], config, calibration_keys=keys)


@pytest.fixture
def toy_tasks(tmp_path):
    write_tasks(tmp_path / "tasks", 8)
    return list(discover_tasks(tmp_path / "tasks").values())


@pytest.fixture
def make_gateway(toy_tasks, tmp_path):
    """``async with make_gateway({name: member}, **settings) as (base_url, gateway)``."""

    @contextlib.asynccontextmanager
    async def factory(members, embedder=None, **settings):
        """``members``: name -> a started member (or a ModelSpec); ``embedder``: "artifact" uses the
        artifact's own (fitted with it), default the bag-of-words embedder."""
        if embedder == "artifact":
            router, embedder = fit_toy_router(settings.pop("artifact_embedder")), None
        else:
            embedder = embedder or BowEmbedder()
            router = fit_toy_router(BowEmbedder(), settings.pop("routing", "nearest"))
        specs = [
            m if isinstance(m, ModelSpec) else ModelSpec(name=name, base_urls=[m.base_url])
            for name, m in members.items()
        ]
        gateway = Gateway(router, specs, GatewaySettings(**settings), tasks=toy_tasks, embedder=embedder)
        runner = web.AppRunner(gateway.app(), access_log=None, shutdown_timeout=5)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # noqa: SLF001
        try:
            yield f"http://127.0.0.1:{port}/v1", gateway
        finally:
            await runner.cleanup()

    return factory


def right_sum(body) -> list[str]:
    a, b = map(int, SUM.search(body["messages"][-1]["content"]).groups())
    return [f"{a} plus {b} is \\boxed{{{a + b}}}."] * int(body.get("n", 1))


def answer_b(body) -> list[str]:
    return ["It is green.\nAnswer: B"] * int(body.get("n", 1))
