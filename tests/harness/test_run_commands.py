"""`harness regrade`, `report` and `export` on a finished run, through the CLI entry point."""

from __future__ import annotations

import csv
import json
import sqlite3

from harness.cli import main
from harness.config import ModelSpec
from harness.evaluate import EvalRequest, run_eval
from harness.scheduler import SamplingOverrides
from harness.serving.loopback_server import LoopbackServer
from tests.harness.conftest import expected_score, toy_answer


async def _finished_run(toy_env, samples=2):
    async with LoopbackServer(answer=toy_answer) as server:
        outcome = await run_eval(
            EvalRequest(
                tasks="toy_math",
                models=[ModelSpec(name="toy", base_urls=[server.base_url])],
                sampling=SamplingOverrides(samples=samples, seed=5),
                run="done",
                output=toy_env["runs"],
                grading_workers=1,
                show_progress=False,
            )
        )
    return outcome.run_dir


async def test_regrade_restores_grades_from_stored_responses_without_a_server(toy_env, capsys):
    run_dir = await _finished_run(toy_env)  # the server is gone from here on
    with sqlite3.connect(run_dir / "results.sqlite") as db:
        db.execute("UPDATE samples SET score = NULL, grade_reason = NULL, extracted = NULL")
    assert main(["regrade", str(run_dir)]) == 0
    with sqlite3.connect(run_dir / "results.sqlite") as db:
        rows = db.execute("SELECT item_id, score, grade_reason, extracted FROM samples").fetchall()
    assert len(rows) == toy_env["n"] * 2
    for item_id, score, reason, extracted in rows:
        assert score == expected_score(int(item_id[1:]))
        assert reason in {"right", "wrong"} and extracted
    assert "regraded 24 samples" in capsys.readouterr().err


async def test_report_and_exports(toy_env, tmp_path, capsys):
    run_dir = await _finished_run(toy_env)
    assert main(["report", "done", "--output", str(toy_env["runs"])]) == 0
    printed = capsys.readouterr().out
    assert "toy_math" in printed and "50.0" in printed  # half the toy items are answered right
    report = json.loads((run_dir / "results.json").read_text())
    assert report

    assert main(["export", str(run_dir), "--format", "csv", "--out", str(tmp_path / "s.csv")]) == 0
    with open(tmp_path / "s.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == toy_env["n"] * 2
    assert {r["task"] for r in rows} == {"toy_math"} and all(r["response"] for r in rows)

    assert main(["export", str(run_dir), "--format", "jsonl", "--out", str(tmp_path / "s.jsonl")]) == 0
    lines = (tmp_path / "s.jsonl").read_text().splitlines()
    assert len(lines) == toy_env["n"] * 2 and json.loads(lines[0])["model"] == "toy"


def test_unknown_run_is_a_clear_error(tmp_path, capsys):
    assert main(["report", "no-such-run", "--output", str(tmp_path)]) == 2
    assert "no run 'no-such-run'" in capsys.readouterr().err
