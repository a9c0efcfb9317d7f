"""Builders of small hand-made correctness tables for the router tests."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from results.records import ItemRecord, SampleOutcome
from router.table import OutcomeTable, build_table


def item(
    task: str, item_id: str, query: str = "", *, category: str = "math", ood: bool = False
) -> ItemRecord:
    return ItemRecord(
        task=task,
        item_id=item_id,
        category=category,
        ood=ood,
        query=query or f"{task} {item_id}",
        prompt_hash="h",
    )


def outcome(task: str, item_id: str, model: str, index: int, score: float, extracted: str | None = None):
    return SampleOutcome(
        task=task, item_id=item_id, model=model, sample_index=index, score=score, extracted=extracted
    )


def two_topic_table(n_per_topic: int = 40, dim: int = 8, seed: int = 0) -> tuple[OutcomeTable, np.ndarray]:
    """Two well-separated topics: model A is right on topic 'alpha' only, model B on 'beta' only,
    model C is right on a third of both. Embeddings: two tight blobs around orthogonal directions."""
    rng = np.random.default_rng(seed)
    items, samples, vectors = [], [], []
    for topic, axis, winner in (("alpha", 0, "A"), ("beta", 1, "B")):
        for n in range(n_per_topic):
            item_id = f"{topic}-{n:03d}"
            items.append(item("mixed", item_id, f"{topic} question {n}"))
            for model in ("A", "B", "C"):
                right = model == winner or (model == "C" and n % 3 == 0)
                samples.append(outcome("mixed", item_id, model, 0, 1.0 if right else 0.0))
            v = np.zeros(dim)
            v[axis] = 1.0
            vectors.append(v + 0.05 * rng.standard_normal(dim))
    table = build_table(items, samples)
    order = [table.index[("mixed", i.item_id)] for i in items]
    embeddings = np.zeros((len(items), dim))
    embeddings[order] = np.array(vectors)
    embeddings /= np.linalg.norm(embeddings, axis=1, keepdims=True)
    return table, embeddings


def run_route_import(
    fmt: str | None, run: Path, path: Path, *options: str
) -> subprocess.CompletedProcess[str]:
    """`python -m harness route import` in a subprocess, as a user runs it (fmt None: the auto-detected
    format); the finished process, whatever its exit code."""
    format_args = [] if fmt is None else ["--format", fmt]
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "harness",
            "route",
            "import",
            *format_args,
            "--run",
            str(run),
            str(path),
            *options,
        ],
        capture_output=True,
        text=True,
        check=False,
    )


def route_import_cli(fmt: str, run: Path, path: Path, *options: str) -> dict:
    """:func:`run_route_import` that must succeed; its JSON summary."""
    done = run_route_import(fmt, run, path, *options)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)
