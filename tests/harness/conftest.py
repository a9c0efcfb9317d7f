"""A toy arithmetic task in a temporary tasks/data directory, and a server that answers it."""

from __future__ import annotations

import json
import re

import pytest

TOY_TASK = """\
name: toy_math
category: math
description: two-number sums, for scheduler tests
paper_size: {n}
source:
  local: {{files: toy/toy.jsonl, format: jsonl}}
fields: {{id: id, question: question, answer: answer}}
prompt:
  user: "Compute {{question}}. Put the final answer in \\\\boxed{{{{}}}}."
generation: {{max_tokens: 32, stop: ["</s>", "Q:"]}}
grader: {{name: math}}
"""

QUESTION = re.compile(r"Compute (\d+) \+ (\d+)\.")


def toy_answer(body: dict) -> str:
    """Right for even left operands, off by one otherwise: a known, checkable mix of grades."""
    text = body["messages"][-1]["content"] if "messages" in body else body["prompt"]
    a, b = map(int, QUESTION.search(text).groups())
    total = a + b if a % 2 == 0 else a + b + 1
    return f"Adding them gives \\boxed{{{total}}}."


def expected_score(item_index: int) -> float:
    return 1.0 if item_index % 2 == 0 else 0.0


@pytest.fixture
def toy_env(tmp_path, monkeypatch):
    """HARNESS_TASKS_DIR / HARNESS_DATA_DIR pointing at a 12-item toy task."""
    n = 12
    tasks_dir = tmp_path / "tasks"
    data_dir = tmp_path / "data" / "toy"
    tasks_dir.mkdir()
    data_dir.mkdir(parents=True)
    (tasks_dir / "toy_math.yaml").write_text(TOY_TASK.format(n=n))
    rows = [{"id": f"q{i}", "question": f"{i} + {i * 3}", "answer": str(i + i * 3)} for i in range(n)]
    (data_dir / "toy.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    monkeypatch.setenv("HARNESS_TASKS_DIR", str(tasks_dir))
    monkeypatch.setenv("HARNESS_DATA_DIR", str(tmp_path / "data"))
    return {"tasks_dir": tasks_dir, "data_dir": tmp_path / "data", "runs": tmp_path / "runs", "n": n}


def toy_request(
    toy_env, base_url: str, *, samples: int, seed: int, concurrency: int | None = None, spec=None, **fields
):
    """An EvalRequest for the toy task against one loopback endpoint (``spec``: extra ModelSpec fields)."""
    from harness.config import ModelSpec
    from harness.evaluate import EvalRequest
    from harness.scheduler import SamplingOverrides

    return EvalRequest(
        tasks="toy_math",
        models=[ModelSpec(name="toy", base_urls=[base_url], **(spec or {}))],
        sampling=SamplingOverrides(samples=samples, seed=seed, concurrency=concurrency),
        run="r",
        output=toy_env["runs"],
        grading_workers=1,
        show_progress=False,
        **fields,
    )


def stored_rows(run_dir) -> list:
    from results.store import ResultsStore

    with ResultsStore(run_dir) as store:
        return list(store.iter_samples())
