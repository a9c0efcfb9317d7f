"""Issue 9 at the run level, against real loopback servers: one writer per run (two real processes, kill -9),
a killed grading worker, shape faults inside a run, --retry-failed, the error budget, run names, redaction."""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.cli import console_text, main
from harness.evaluate import EvalRequest, run_eval
from harness.serving.loopback_server import FaultRule, LoopbackServer
from results.run_lock import RunLock
from tests.harness.conftest import stored_rows, toy_answer, toy_request

REPO = Path(__file__).resolve().parents[2]


def _request(toy_env, base_url: str, samples: int = 1, concurrency: int | None = None, **fields) -> EvalRequest:
    return toy_request(
        toy_env, base_url, samples=samples, seed=3, concurrency=concurrency, spec={"max_attempts": 1}, **fields
    )


# ----- one writer per run: two real processes --------------------------------------------------------


@pytest.fixture
def slow_server() -> Iterator[str]:
    """A loopback server in its own process, answering every request after 0.3 s."""
    server = subprocess.Popen(
        [sys.executable, "-m", "harness.serving.loopback_server", "--delay", "0.3", "--answer", "\\boxed{4}"],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        yield json.loads(server.stdout.readline())["base_url"]
    finally:
        server.kill()
        server.wait()


def _eval_process(toy_env, base_url: str) -> subprocess.Popen:
    command = [sys.executable, "-m", "harness", "eval", "--tasks", "toy_math", "--model", f"toy={base_url}"]
    command += ["--run", "shared", "--output", str(toy_env["runs"]), "--concurrency", "1", "--no-progress"]
    command += ["--grading-workers", "1"]
    return subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(REPO)}
    )


def _wait_for_lock_holder(lock_file: Path, process: subprocess.Popen, timeout_s: float = 120) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        if lock_file.is_file() and lock_file.read_text().strip():
            return json.loads(lock_file.read_text())
        time.sleep(0.1)
    raise AssertionError("the first eval never took the run lock")


@pytest.mark.slow
def test_a_second_process_on_a_run_refuses_and_a_killed_holders_lock_is_taken_over(toy_env, slow_server):
    lock_file = toy_env["runs"] / "shared" / "run.lock"
    first = _eval_process(toy_env, slow_server)
    holder = _wait_for_lock_holder(lock_file, first)
    assert holder["pid"] == first.pid

    second = _eval_process(toy_env, slow_server)
    _, err = second.communicate(timeout=120)
    assert second.returncode == 2 and first.poll() is None, err
    assert f"pid {first.pid} on host {holder['host']}" in err and "started" in err

    first.send_signal(signal.SIGKILL)  # dies holding the lock, mid-run
    first.wait()
    third = _eval_process(toy_env, slow_server)
    _, err = third.communicate(timeout=300)
    assert third.returncode == 0, err
    assert f"resuming after pid {first.pid}" in err
    rows = stored_rows(toy_env["runs"] / "shared")
    assert len(rows) == toy_env["n"] and all(r.score is not None for r in rows)
    assert lock_file.read_text() == "", "a clean exit leaves nothing to take over"


# ----- grading worker killed mid-run -------------------------------------------------------------------


async def test_a_grading_worker_killed_mid_run_is_replaced_and_nothing_is_stored_as_an_error(toy_env):
    killed: list[int] = []

    def answer_then_kill_the_graders(body: dict) -> str:
        if len(killed) == 0 and multiprocessing.active_children():
            for child in multiprocessing.active_children():  # the grading pool's worker processes
                os.kill(child.pid, signal.SIGKILL)
                killed.append(child.pid)
        return toy_answer(body)

    # One request at a time, so the grading pool is up (grading earlier answers) when a later one arrives.
    async with LoopbackServer(answer=answer_then_kill_the_graders, delay_s=0.05) as server:
        outcome = await run_eval(_request(toy_env, server.base_url, samples=2, concurrency=1))
    assert killed, "the test must have killed a real grading worker"
    rows = stored_rows(outcome.run_dir)
    assert len(rows) == toy_env["n"] * 2
    assert all(r.grade_reason in ("right", "wrong") for r in rows), [r.grade_detail for r in rows]
    assert outcome.grading_failures == 0


# ----- shape faults inside a run; --retry-failed; the error budget -------------------------------------


async def test_a_malformed_answer_fails_its_row_and_the_run_goes_on(toy_env):
    bad_usage = FaultRule(
        "payload",
        times=99,
        match="Compute 1 + 3.",
        payload={"choices": [{"index": 0, "message": {"content": "4"}}], "usage": [7]},
    )
    async with LoopbackServer(answer=toy_answer, faults=[bad_usage]) as server:
        outcome = await run_eval(_request(toy_env, server.base_url))
    rows = {r.item_id: r for r in stored_rows(outcome.run_dir)}
    assert rows["q1"].error_kind == "malformed" and "usage is a list" in rows["q1"].error
    assert '"usage": [7]' in rows["q1"].error, "the server's own text is stored"
    assert all(r.score is not None for i, r in rows.items() if i != "q1")
    assert (outcome.run_dir / "report.md").is_file()


async def test_retry_failed_requests_client_errors_again_once_the_cause_is_fixed(toy_env):
    unauthorised = FaultRule("status", times=10**6, status=401, message="invalid API key")
    async with LoopbackServer(answer=toy_answer, faults=[unauthorised]) as server:
        first = await run_eval(_request(toy_env, server.base_url))
    assert first.request_errors == toy_env["n"]
    async with LoopbackServer(answer=toy_answer) as fixed:
        await run_eval(_request(toy_env, fixed.base_url))
        assert fixed.request_count == 0, "without --retry-failed a 4xx row stays as it is"
        await run_eval(_request(toy_env, fixed.base_url, retry_failed=True))
        assert fixed.request_count == toy_env["n"]
    assert all(r.error is None and r.score is not None for r in stored_rows(first.run_dir))


async def test_over_the_error_budget_the_run_names_the_failures_and_the_report_shows_error_cells(toy_env):
    unauthorised = FaultRule("status", times=10**6, status=401, message="invalid API key")
    async with LoopbackServer(answer=toy_answer, faults=[unauthorised]) as server:
        outcome = await run_eval(_request(toy_env, server.base_url))
    [line] = outcome.error_budget
    n = toy_env["n"]
    assert line.startswith(f"model toy: {n} of {n} samples failed") and "invalid API key" in line
    report = (outcome.run_dir / "report.md").read_text()
    assert f"error ({n}/{n} failed)" in report and "| 0.0 |" not in report


async def test_under_the_error_budget_the_run_passes(toy_env):
    one_failure = FaultRule("status", times=1, status=400, message="bad request")
    async with LoopbackServer(answer=toy_answer, faults=[one_failure]) as server:
        outcome = await run_eval(_request(toy_env, server.base_url, max_error_rate=0.1))
    assert outcome.error_budget == [] and outcome.request_errors == 1


def test_the_cli_exits_3_when_the_budget_is_exceeded(toy_env, capsys):
    ready = threading.Event()
    holder: dict = {}

    def serve() -> None:
        async def run() -> None:
            async with LoopbackServer(faults=[FaultRule("status", times=10**6, status=401)]) as server:
                holder["url"], holder["stop"] = server.base_url, asyncio.Event()
                ready.set()
                await holder["stop"].wait()

        holder["loop"] = asyncio.new_event_loop()
        holder["loop"].run_until_complete(run())

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    ready.wait(30)
    try:
        argv = ["eval", "--tasks", "toy_math", "--model", f"toy={holder['url']}", "--no-progress"]
        rc = main([*argv, "--output", str(toy_env["runs"]), "--grading-workers", "1"])
    finally:
        holder["loop"].call_soon_threadsafe(holder["stop"].set)
        thread.join(30)
    assert rc == 3
    assert "model toy: 12 of 12 samples failed" in capsys.readouterr().err


# ----- run names, redaction, console clipping ----------------------------------------------------------


@pytest.mark.parametrize("name", ["../../escape", "a/b", "..", ".hidden", "a\\b"])
def test_a_run_name_that_could_leave_the_runs_directory_is_refused(toy_env, name, capsys):
    with pytest.raises(SystemExit) as exited:
        main(["eval", "--tasks", "toy_math", "--model", "toy=http://127.0.0.1:9/v1", "--run", name])
    assert exited.value.code == 2 and "plain directory name" in capsys.readouterr().err
    with pytest.raises(ValueError):
        EvalRequest(run=name)


async def test_credentials_in_a_base_url_are_not_written_to_the_manifest(toy_env):
    async with LoopbackServer(answer=toy_answer) as server:
        url = server.base_url.replace("http://", "http://alice:s3cret@")
        outcome = await run_eval(_request(toy_env, url))
    manifest = (outcome.run_dir / "manifest.json").read_text()
    assert "s3cret" not in manifest and "<redacted>@127.0.0.1" in manifest
    assert server.authorizations[0] and server.authorizations[0].startswith("Basic "), "the URL still authenticates"


def test_console_messages_are_redacted_and_a_huge_one_clipped():
    huge = "answer " * 100_000
    shown = console_text(f"http://bob:pw@host/v1 said {huge}")
    assert "pw@" not in shown and len(shown) < 2100 and "more characters not shown" in shown


async def test_regrade_refuses_a_run_that_an_eval_is_writing(toy_env, capsys):
    async with LoopbackServer(answer=toy_answer) as server:
        outcome = await run_eval(_request(toy_env, server.base_url))
    with RunLock(outcome.run_dir):  # as a running eval holds it
        assert main(["regrade", str(outcome.run_dir)]) == 2
    assert f"pid {os.getpid()} on host" in capsys.readouterr().err
    assert main(["regrade", str(outcome.run_dir)]) == 0
