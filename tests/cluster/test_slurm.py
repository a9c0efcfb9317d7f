"""serve-pool and submit on a real single-node Slurm (.ci/slurm-setup), with the loopback server as the
job payload instead of `vllm serve` (which needs a GPU; the node's 4 GPUs are count-only stand-ins)."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.cluster.conftest import REPO_ROOT, report_body, run_toy_eval, squeue_jobs, table_rows
from tests.ports import free_port_run

pytestmark = pytest.mark.slow

HARNESS = [sys.executable, "-m", "harness"]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO_ROOT)}


def _pool(tmp_path: Path, command: list[str], replicas: int = 2) -> tuple[Path, int]:
    port = free_port_run(replicas)
    pool = tmp_path / "pool.yaml"
    launch = {
        "gpus": list(range(replicas)),
        "port": port,
        "command": command,
        "env": {"HARNESS_JOB_MARK": "a b"},
    }
    pool.write_text(
        yaml.safe_dump({"models": [{"name": "toy", "served_model_id": "loopback", "launch": launch}]})
    )
    return pool, port


LOOPBACK = [sys.executable, "-m", "harness.serving.loopback_server", "--port", "{port}"]


def _serve_pool(tmp_path: Path, pool: Path, partition: str, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*HARNESS, "serve-pool", str(pool), "--launcher", "slurm", "--partition", partition,
         "--time", "00:10:00", "--timeout", "60", *extra],
        cwd=tmp_path, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def _wait_for_endpoints(proc: subprocess.Popen[str]) -> list[str]:
    lines: list[str] = []
    while not any(line.startswith("endpoints written to") for line in lines):
        line = proc.stdout.readline()
        assert line, f"serve-pool ended early: {''.join(lines)}{proc.stderr.read()}"
        lines.append(line)
    return lines


def _recorded_job_ids(tmp_path: Path) -> list[str]:
    import json

    return [
        job["job_id"] for job in json.loads((tmp_path / "endpoints.slurm" / "jobs.json").read_text())["jobs"]
    ]


def _gone(job_ids: list[str], within_s: float = 30.0) -> bool:
    deadline = time.monotonic() + within_s
    while squeue_jobs(job_ids):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.5)
    return True


def test_serve_pool_on_slurm_serves_an_eval_and_ctrl_c_cancels_its_jobs(slurm, two_toy_tasks, tmp_path):
    pool, port = _pool(tmp_path, LOOPBACK)
    proc = _serve_pool(tmp_path, pool, slurm)
    try:
        _wait_for_endpoints(proc)
        endpoints = yaml.safe_load((tmp_path / "endpoints.yaml").read_text())
        assert endpoints["models"][0]["base_urls"] == [
            f"http://localhost:{port}/v1",
            f"http://localhost:{port + 1}/v1",
        ]
        job_ids = _recorded_job_ids(tmp_path)
        assert len(job_ids) == 2 and sorted(squeue_jobs(job_ids)) == sorted(job_ids)
        script = (tmp_path / "endpoints.slurm" / "toy-1.sbatch").read_text()
        assert "#SBATCH --gres=gpu:1" in script and "export HARNESS_JOB_MARK='a b'" in script
        log = next((tmp_path / "endpoints.slurm").glob("toy-1-*.log")).read_text()
        assert "GPUs 0)" in log or "GPUs 1)" in log  # Slurm gave the job one of the node's GPUs

        runs = tmp_path / "runs"
        done = subprocess.run(
            [*HARNESS, "eval", "--tasks", "toy_math", "--models", str(tmp_path / "endpoints.yaml"),
             "--run", "through-slurm", "--output", str(runs), "--no-progress", "--grading-workers", "1"],
            env=_env(), capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        with sqlite3.connect(runs / "through-slurm" / "results.sqlite") as db:
            answered = db.execute("SELECT COUNT(*) FROM samples WHERE response IS NOT NULL").fetchone()[0]
        assert answered == two_toy_tasks["n"]

        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0, proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
    assert _gone(job_ids), f"jobs {squeue_jobs(job_ids)} still queued after Ctrl-C"
    assert not (tmp_path / "endpoints.slurm" / "jobs.json").exists()


def test_serve_pool_stop_cancels_the_jobs_of_a_killed_serve_pool(slurm, tmp_path):
    pool, _port = _pool(tmp_path, LOOPBACK, replicas=1)
    proc = _serve_pool(tmp_path, pool, slurm)
    try:
        _wait_for_endpoints(proc)
        job_ids = _recorded_job_ids(tmp_path)
        proc.kill()  # no chance to cancel anything
        proc.wait(timeout=10)
        assert squeue_jobs(job_ids) == job_ids
    finally:
        if proc.poll() is None:
            proc.kill()
    stop = subprocess.run([*HARNESS, "serve-pool", "--stop"], cwd=tmp_path, env=_env(), capture_output=True,
                          text=True, timeout=60)  # fmt: skip
    assert stop.returncode == 0 and f"cancelled 1 Slurm job(s): {job_ids[0]}" in stop.stderr
    assert _gone(job_ids)


def test_a_failing_job_and_a_forever_pending_job_give_clear_errors(slurm, tmp_path):
    failing, _ = _pool(
        tmp_path, [sys.executable, "-c", "print('CUDA out of memory (stand-in)'); raise SystemExit(3)"], 1
    )
    proc = _serve_pool(tmp_path, failing, slurm)
    _out, err = proc.communicate(timeout=90)
    assert proc.returncode == 1
    assert "ended (FAILED" in err and "CUDA out of memory (stand-in)" in err, err

    pending, _ = _pool(tmp_path, LOOPBACK, 1)
    proc = _serve_pool(tmp_path, pending, slurm, "--sbatch-arg=--begin=now+1hour", "--pending-timeout", "3")
    _out, err = proc.communicate(timeout=90)
    assert proc.returncode == 1
    assert "still PENDING after 3 s (reason: BeginTime); cancelled" in err, err
    assert not squeue_jobs()


async def test_job_array_of_four_shards_merges_to_the_unsharded_run(
    slurm, two_toy_tasks, toy_server, tmp_path
):
    runs = two_toy_tasks["runs"]
    await run_toy_eval(toy_server, runs, "whole")

    submit = await asyncio.create_subprocess_exec(
        *HARNESS, "submit", "--tasks", "toy_math,toy_more", "--model", f"toy={toy_server.base_url}",
        "--samples", "2", "--run", "big", "--output", str(runs), "--grading-workers", "1", "--no-progress",
        "--shards", "4", "--launcher", "slurm", "--partition", slurm, "--time", "00:10:00", "--no-gpu-gres",
        "--wait", cwd=tmp_path, env=_env(), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(submit.communicate(), timeout=150)
    logs = "".join(p.read_text() for p in sorted((runs / "big" / "shards" / "logs").glob("*.log")))
    assert submit.returncode == 0, err.decode() + logs
    script = (runs / "big" / "shards" / "array-4.sbatch").read_text()
    assert "#SBATCH --array=0-3" in script and '--shard "$SLURM_ARRAY_TASK_ID/4"' in script

    merge = await asyncio.create_subprocess_exec(
        *HARNESS, "merge", str(runs / "big"), env=_env(), stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(merge.communicate(), timeout=60)
    assert merge.returncode == 0, err.decode()
    total = 2 * two_toy_tasks["n"] * 2
    assert f"coverage: {total}/{total} samples (100.0%) from 4 shards" in err.decode()
    for table in ("items", "samples"):
        assert table_rows(runs / "big" / "results.sqlite", table) == table_rows(
            runs / "whole" / "results.sqlite", table
        )
    assert (runs / "big" / "results.json").read_text() == (runs / "whole" / "results.json").read_text()
    assert report_body(runs / "big").replace("big", "whole") == report_body(runs / "whole")


def test_serve_pool_fails_when_a_job_stops_while_serving(slurm, tmp_path):
    pool, _port = _pool(tmp_path, LOOPBACK)
    proc = _serve_pool(tmp_path, pool, slurm)
    try:
        _wait_for_endpoints(proc)
        job_ids = _recorded_job_ids(tmp_path)
        subprocess.run(["scancel", job_ids[1]], check=True)  # e.g. preempted, or killed by an admin
        assert proc.wait(timeout=60) == 1
        err = proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
    # squeue may still show the cancelled job finishing (COMPLETING) when serve-pool looks.
    assert re.search(rf"Slurm job {job_ids[1]} \(toy replica 1\): is (CANCELLED|COMPLETING)", err), err
    assert "no longer serving" in err
    assert _gone(job_ids), "the other replica's job was not cancelled"


def _stale_endpoint_files(folder: Path, dead_port: int, job_ids: range) -> None:
    """What earlier jobs with the same ids left in the node's TMPDIR (ids repeat after a controller restart)."""
    folder.mkdir()
    stale = {
        "models": [
            {"name": "toy", "served_model_id": "loopback", "base_urls": [f"http://127.0.0.1:{dead_port}/v1"]}
        ]
    }
    for job_id in job_ids:
        (folder / f"harness-endpoints-{job_id}.yaml").write_text(yaml.safe_dump(stale))


def test_job_array_tasks_serve_their_own_model_on_shifted_ports(slurm, two_toy_tasks, tmp_path):
    pool, _port = _pool(tmp_path, LOOPBACK, replicas=1)
    runs = two_toy_tasks["runs"]
    # Before: a task read a leftover file named by its job id before its own models were up, and failed
    # with "cannot reach" a server of an earlier job.
    _stale_endpoint_files(tmp_path / "node-tmp", free_port_run(1), range(1, 3000))
    submit = subprocess.run(
        [*HARNESS, "submit", "--tasks", "toy_math", "--models", str(pool), "--run", "self-served",
         "--output", str(runs), "--grading-workers", "1", "--no-progress", "--shards", "2",
         "--launcher", "slurm", "--partition", slurm, "--time", "00:10:00", "--wait"],
        cwd=tmp_path, env={**_env(), "TMPDIR": str(tmp_path / "node-tmp")}, capture_output=True, text=True,
        timeout=150,
    )  # fmt: skip
    logs = "".join(p.read_text() for p in sorted((runs / "self-served" / "shards" / "logs").glob("*.log")))
    assert submit.returncode == 0, submit.stderr + logs
    assert "#SBATCH --gres=gpu:1" in (runs / "self-served" / "shards" / "array-2.sbatch").read_text()
    merge = subprocess.run([*HARNESS, "merge", str(runs / "self-served")], env=_env(), capture_output=True,
                           text=True, timeout=60)  # fmt: skip
    assert merge.returncode == 0, merge.stderr
    n = two_toy_tasks["n"]
    assert f"coverage: {n}/{n} samples (100.0%) from 2 shards" in merge.stderr
    responses = {row[0] for row in sqlite3.connect(runs / "self-served" / "results.sqlite").execute(
        "SELECT response FROM samples")}  # fmt: skip
    assert responses == {"The answer is \\boxed{0}."}  # what the loopback server started in each task answers
    assert len(list((tmp_path / "node-tmp").glob("harness-endpoints-*"))) == 2999, (
        "the tasks removed their own file"
    )
