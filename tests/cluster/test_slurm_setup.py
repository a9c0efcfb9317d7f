""".ci/slurm-setup against the leftovers a reused machine has: daemons of an ended session that are
stopped or frozen (alive, holding their ports and sockets, never answering) and ports held by
processes it cannot end. Each test ends with a working cluster, checked by a real batch job, so the
other cluster tests can go on using it."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.cluster.conftest import run_slurm_setup

pytestmark = pytest.mark.slow

CONF = Path("/etc/slurm/slurm.conf")


def _pids(name: str) -> list[int]:
    found = subprocess.run(["pgrep", "-x", name], capture_output=True, text=True).stdout.split()
    return [int(pid) for pid in found]


def _controller_port() -> int:
    match = re.search(r"^SlurmctldPort=(\d+)$", CONF.read_text(), re.MULTILINE)
    assert match, CONF.read_text()
    return int(match.group(1))


def _setup_brings_up_a_cluster_that_runs_a_job(tmp_path: Path) -> float:
    start = time.monotonic()
    setup = run_slurm_setup()
    took = time.monotonic() - start
    assert setup.returncode == 0, setup.stderr
    assert "single-node Slurm up" in setup.stderr, setup.stderr
    out = tmp_path / "job.out"
    job = subprocess.run(
        ["sbatch", "--wait", "--quiet", "-o", str(out), "--wrap", "echo job ran on $SLURM_JOB_NODELIST"],
        capture_output=True, text=True, timeout=90, cwd=tmp_path,
    )  # fmt: skip
    assert job.returncode == 0, job.stderr
    assert out.read_text().strip() == "job ran on localhost"
    return took


def test_setup_replaces_stopped_daemons_that_hold_their_ports_and_never_answer(slurm, tmp_path):
    old = {name: _pids(name) for name in ("munged", "slurmctld", "slurmd")}
    assert old["slurmctld"] and old["slurmd"], old
    for pids in old.values():
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
    # Before: the pid files named live (stopped) daemons, so none was restarted, and every sinfo
    # waited out MessageTimeout: the setup hung past the fixture's 120 s.
    took = _setup_brings_up_a_cluster_that_runs_a_job(tmp_path)
    assert took < 60, took
    assert not set(_pids("slurmctld")) & set(old["slurmctld"])


def test_setup_moves_to_free_ports_when_a_process_it_cannot_end_holds_the_controller_port(slurm, tmp_path):
    for name in ("slurmctld", "slurmd"):
        subprocess.run(["pkill", "-KILL", "-x", name], check=False)
    held = _controller_port()
    deadline = time.monotonic() + 10
    holder = socket.socket()
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    while True:  # the killed slurmctld's socket is gone once the kernel has reaped it
        try:
            holder.bind(("", held))
            break
        except OSError:
            assert time.monotonic() < deadline, f"port {held} still taken after slurmctld was killed"
            time.sleep(0.1)
    holder.listen(16)  # accepts connections into its backlog and never answers, like a frozen daemon
    try:
        took = _setup_brings_up_a_cluster_that_runs_a_job(tmp_path)
    finally:
        holder.close()
    assert took < 60, took
    assert _controller_port() != held
