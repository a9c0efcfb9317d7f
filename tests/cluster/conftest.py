"""Fixtures for the cluster tests: two toy tasks, in-process sharded runs, and a real single-node Slurm."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

from harness.evaluate import EvalRequest, run_eval
from harness.scheduler import SamplingOverrides
from harness.serving.loopback_server import LoopbackServer
from harness.shards import ShardSpec
from tests.harness.conftest import TOY_TASK, toy_answer

REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLES = 2
# Columns that record when/how fast a sample was written, not what it is.
TIMING_COLUMNS = {"written_at", "latency_s"}


def write_toy_tasks(root: Path, n: int = 12) -> dict:
    """toy_math and toy_more (the same n sums under two task names) in root/tasks, data in root/data."""
    tasks_dir, data_dir = root / "tasks", root / "data" / "toy"
    tasks_dir.mkdir(parents=True)
    data_dir.mkdir(parents=True)
    for name in ("toy_math", "toy_more"):
        (tasks_dir / f"{name}.yaml").write_text(
            TOY_TASK.format(n=n).replace("name: toy_math", f"name: {name}")
        )
    rows = [{"id": f"q{i}", "question": f"{i} + {i * 3}", "answer": str(i * 4)} for i in range(n)]
    (data_dir / "toy.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return {"tasks_dir": tasks_dir, "data_dir": root / "data", "runs": root / "runs", "n": n}


def use_toy_tasks(env: dict, mp: pytest.MonkeyPatch) -> dict:
    mp.setenv("HARNESS_TASKS_DIR", str(env["tasks_dir"]))
    mp.setenv("HARNESS_DATA_DIR", str(env["data_dir"]))
    return env


@pytest.fixture
def two_toy_tasks(tmp_path, monkeypatch):
    return use_toy_tasks(write_toy_tasks(tmp_path), monkeypatch)


@pytest.fixture
async def toy_server():
    async with LoopbackServer(answer=toy_answer, supports_n=False, host="127.0.0.1") as server:
        yield server


async def run_toy_eval(
    server: LoopbackServer, runs: Path, run: str, shard: ShardSpec | None = None, **sampling
):
    from harness.config import parse_model_shorthand

    request = EvalRequest(
        tasks="toy_math,toy_more",
        models=[parse_model_shorthand(f"toy={server.base_url}")],
        sampling=SamplingOverrides(samples=SAMPLES, **sampling),
        run=run,
        output=runs,
        grading_workers=1,
        show_progress=False,
        shard=shard,
    )
    return await run_eval(request)


def table_rows(db: Path, table: str) -> list[tuple]:
    """Every row of a table (timing columns dropped), sorted: what 'the same rows' compares."""
    with sqlite3.connect(db) as conn:
        columns = [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]
        kept = [c for c in columns if c not in TIMING_COLUMNS]
        return sorted(conn.execute(f"SELECT {', '.join(kept)} FROM {table}").fetchall(), key=repr)


def report_body(run_dir: Path) -> str:
    """report.md without the created/updated timestamps line (two runs never share those)."""
    lines = (run_dir / "report.md").read_text().splitlines()
    return "\n".join(line for line in lines if not line.startswith("- created "))


@pytest.fixture(scope="session")
def slurm() -> str:
    """A running single-node Slurm (started by .ci/slurm-setup); skips with the reason if it cannot start."""
    if shutil.which("sbatch") is None or not Path("/usr/sbin/slurmctld").exists():
        pytest.skip("Slurm is not installed: apt-get install -y slurm-wlm munge")
    if os.geteuid() != 0:
        pytest.skip(".ci/slurm-setup must run as root to start munged, slurmctld and slurmd")
    setup = run_slurm_setup()
    if setup.returncode != 0:
        pytest.skip(f"single-node Slurm could not be started: {setup.stderr.strip()[-1500:]}")
    return os.environ.get("HARNESS_SLURM_PARTITION", "debug")


def run_slurm_setup(timeout: float = 150) -> subprocess.CompletedProcess[str]:
    """.ci/slurm-setup, which gives up by itself after SETUP_DEADLINE (90 s); a hang past that is a bug."""
    try:
        return subprocess.run(
            [str(REPO_ROOT / ".ci" / "slurm-setup")],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as hung:
        pytest.fail(f".ci/slurm-setup hung past {timeout} s; it printed: {hung.stderr!r}")


def squeue_jobs(job_ids: list[str] | None = None, name_prefix: str = "harness-") -> list[str]:
    """Ids of jobs Slurm still lists (any state), optionally only those given."""
    out = subprocess.run(
        ["squeue", "-h", "-o", "%i|%j|%T"], capture_output=True, text=True, check=True
    ).stdout
    found = []
    for line in out.splitlines():
        job_id, name, _state = line.split("|")
        if name.startswith(name_prefix) and (job_ids is None or job_id in job_ids):
            found.append(job_id)
    return found
