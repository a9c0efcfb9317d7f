"""Kill `python -m harness eval` mid-run (SIGKILL, and Ctrl-C), rerun it: nothing lost, nothing redone."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import sys
from pathlib import Path

import pytest

from harness.serving.loopback_server import LoopbackServer
from tests.harness.conftest import toy_answer

SAMPLES = 6


def _command(server: LoopbackServer, runs: Path) -> list[str]:
    return [
        sys.executable, "-m", "harness", "eval", "--tasks", "toy_math", "--model", f"toy={server.base_url}",
        "--samples", str(SAMPLES), "--concurrency", "2", "--run", "r", "--output", str(runs),
        "--no-progress", "--grading-workers", "1",
    ]


def _stored(db_path: Path) -> dict[tuple[str, int], int]:
    """(item, sample) -> seed of every stored sample."""
    if not db_path.exists():
        return {}
    with sqlite3.connect(db_path, timeout=5) as db:
        try:
            rows = db.execute("SELECT item_id, sample_index, seed FROM samples WHERE response IS NOT NULL").fetchall()
        except sqlite3.OperationalError:  # table not created yet
            return {}
    return {(item, index): seed for item, index, seed in rows}


async def _run_until(command: list[str], db_path: Path, rows: int, sig: signal.Signals):
    # Output goes to a file, not a pipe: after SIGKILL only the parent is gone, and waiting for a
    # pipe's EOF would also wait for its grading workers to notice.
    log = db_path.parent.parent.parent / f"run-{sig.name}.log"
    with open(log, "wb") as sink:
        process = await asyncio.create_subprocess_exec(*command, stdout=sink, stderr=sink)
    for _ in range(600):
        await asyncio.sleep(0.05)
        if len(_stored(db_path)) >= rows or process.returncode is not None:
            break
    assert process.returncode is None, "the run finished before it could be interrupted: slow the server down"
    process.send_signal(sig)
    await asyncio.wait_for(process.wait(), timeout=60)
    return process.returncode, log.read_text()


async def _run_to_end(command: list[str]) -> str:
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=300)
    assert process.returncode == 0, (out + err).decode()
    return (out + err).decode()


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT], ids=["sigkill", "ctrl-c"])
async def test_interrupted_run_resumes_exactly(toy_env, sig):
    n = toy_env["n"]
    db_path = toy_env["runs"] / "r" / "results.sqlite"
    async with LoopbackServer(answer=toy_answer, delay_s=0.1, supports_n=False) as server:
        command = _command(server, toy_env["runs"])
        code, output = await _run_until(command, db_path, rows=10, sig=sig)
        if sig == signal.SIGKILL:
            assert code == -signal.SIGKILL
        else:
            assert code == 130, output
            assert "resume" in output and "--run r" in output
        before = _stored(db_path)
        assert 10 <= len(before) < n * SAMPLES
        first_run_requests = server.request_count
        server.requests.clear()

        await _run_to_end(command)

    after = _stored(db_path)
    assert len(after) == n * SAMPLES, "every sample is stored after the rerun"
    assert {k: after[k] for k in before} == before, "samples stored before the interruption are untouched"
    second_seeds = [body["seed"] for body in server.requests]
    assert not set(second_seeds) & set(before.values()), "no stored sample was requested again"
    assert len(second_seeds) == n * SAMPLES - len(before)
    assert first_run_requests >= len(before)
    with sqlite3.connect(db_path) as db:
        total, graded = db.execute("SELECT COUNT(*), COUNT(score) FROM samples").fetchone()
    assert total == n * SAMPLES and graded == total, "rows stored but not graded before the kill get graded"
