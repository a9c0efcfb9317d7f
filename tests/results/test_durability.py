"""A writer process SIGKILLed mid-stream loses nothing that write_samples reported as written."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from results.store import DB_FILENAME, ResultsStore

REPO_ROOT = Path(__file__).resolve().parents[2]
WRITER = Path(__file__).with_name("durability_writer.py")
BATCH = 25


@pytest.mark.timeout(120)
def test_sigkill_loses_no_committed_rows_and_readers_see_progress(tmp_path):
    run_dir = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")])}
    child = subprocess.Popen(
        [sys.executable, str(WRITER), str(run_dir), str(BATCH)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    reader: ResultsStore | None = None
    seen_by_reader: list[int] = []
    last_reported = 0
    try:
        for line in child.stdout:
            last_reported = int(line)
            if reader is None:
                reader = ResultsStore(run_dir, readonly=True)  # a second process' view, while writing goes on
            seen_by_reader.append(reader.counts()["samples"])
            if last_reported >= 3000:
                break
        else:
            raise AssertionError(f"writer exited early: {child.stderr.read()}")
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        if reader is not None:
            reader.close()

    assert child.returncode == -signal.SIGKILL
    # The reader saw the table grow and never saw a half-written batch.
    assert seen_by_reader == sorted(seen_by_reader)
    assert all(n % BATCH == 0 for n in seen_by_reader)
    assert seen_by_reader[-1] > 0

    conn = sqlite3.connect(run_dir / DB_FILENAME)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    with ResultsStore(run_dir) as store:
        ids = [s.item_id for s in store.iter_samples(task="durability")]
    assert len(ids) >= last_reported
    assert len(ids) % BATCH == 0  # transactions are all-or-nothing
    assert ids == [f"{n:08d}" for n in range(len(ids))]
