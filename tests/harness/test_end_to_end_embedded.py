"""`python -m harness eval` with no endpoint: the embedded SmolLM2 server on CPU, two real tasks, 3 items."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys

import pytest

pytest.importorskip("xllamacpp", reason="the embedded model needs the local extra: pip install -e '.[local]'")

TASKS = ["arc_challenge", "math500"]


@pytest.mark.slow
def test_eval_on_the_embedded_default_model(tmp_path, data_dir):
    env = {**os.environ, "HARNESS_DATA_DIR": str(data_dir)}
    command = [
        sys.executable, "-m", "harness", "eval", "--tasks", ",".join(TASKS), "--limit", "3",
        "--samples", "2", "--max-tokens", "96", "--run", "e2e", "--output", str(tmp_path), "--no-progress",
    ]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    run_dir = tmp_path / "e2e"
    with sqlite3.connect(run_dir / "results.sqlite") as db:
        rows = db.execute(
            "SELECT task, model, response, finish_reason, completion_tokens, grade_reason, error FROM samples"
        ).fetchall()
    assert len(rows) == len(TASKS) * 3 * 2
    assert {r[0] for r in rows} == set(TASKS)
    assert {r[1] for r in rows} == {"smollm2-135m"}
    for task, _, response, finish_reason, tokens, reason, error in rows:
        assert error is None, error
        assert response, "the model returned text"
        assert finish_reason in {"stop", "length"}
        assert tokens and tokens <= 96
        assert reason in {"right", "wrong", "no_answer", "truncated"}, (task, reason)
    results = json.loads((run_dir / "results.json").read_text())
    assert results, "results.json holds the run's metrics"
    assert "arc_challenge" in (run_dir / "report.md").read_text()
