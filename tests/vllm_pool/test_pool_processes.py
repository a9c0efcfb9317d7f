"""Starting, health-waiting and stopping a pool of `vllm serve` processes, without a GPU.

The real `vllm serve` needs a GPU, so these tests put a stand-in `vllm` executable first on PATH
(standin_vllm.py: a real aiohttp server on the requested port, see its docstring). Everything else
is real: subprocesses in their own process groups, loopback HTTP health checks, log files, signals.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from harness.serving.embedded import ServerStartError, process_group_alive
from harness.serving.vllm_pool import VllmPool, load_launch_plan, write_endpoints_file
from tests.ports import free_port_run

REPO_ROOT = Path(__file__).resolve().parents[2]
STANDIN_SOURCE = Path(__file__).with_name("standin_vllm.py")


@pytest.fixture
def standin_vllm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Put the stand-in `vllm` first on PATH; return the directory where it records each launch."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    exe = bin_dir / "vllm"
    exe.write_text(f"#!{sys.executable}\n" + STANDIN_SOURCE.read_text())
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    record_dir = tmp_path / "records"
    record_dir.mkdir()
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("STANDIN_VLLM_RECORD_DIR", str(record_dir))
    for knob in (
        "STANDIN_VLLM_FAIL_PORTS",
        "STANDIN_VLLM_HANG_PORTS",
        "STANDIN_VLLM_CRASH_PORTS",
        "STANDIN_VLLM_DELAY",
    ):
        monkeypatch.delenv(knob, raising=False)
    return record_dir


def write_two_model_pool(tmp_path: Path) -> tuple[Path, int, int]:
    port_a, port_b = free_port_run(2), free_port_run(1)
    while port_b in (port_a, port_a + 1):
        port_b = free_port_run(1)
    pool = tmp_path / "pool.yaml"
    pool.write_text(
        yaml.safe_dump(
            {
                "models": [
                    {"name": "qwen7b", "served_model_id": "Qwen/Qwen2.5-7B-Instruct", "max_concurrency": 32,
                     "launch": {"gpus": [0, 1], "port": port_a, "max_model_len": 4096}},
                    {"name": "llama8b", "launch": {"model": "/models/llama8b", "gpus": [2, 3], "port": port_b,
                                                   "tensor_parallel": 2}},
                    {"name": "remote", "base_urls": ["http://10.0.0.9:8000/v1"]},
                ]
            },
            sort_keys=False,
        )
    )  # fmt: skip
    return pool, port_a, port_b


def _start_serve_pool(pool_file: Path, tmp_path: Path) -> subprocess.Popen[str]:
    args = f"{str(pool_file)!r}, {str(tmp_path / 'endpoints.yaml')!r}, timeout_s=30, log_dir={str(tmp_path / 'logs')!r}"
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import sys; from harness.serving.vllm_pool import serve_pool_main; sys.exit(serve_pool_main({args}))",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )


def recorded(record_dir: Path) -> dict[int, dict]:
    return {int(p.stem): json.loads(p.read_text()) for p in record_dir.glob("*.json")}


def assert_all_gone(pool: VllmPool, records: dict[int, dict]) -> None:
    for server in pool.servers:
        assert server.returncode is not None
        assert not process_group_alive(server.pgid), server.label
    for record in records.values():
        assert not process_group_alive(record["pid"])
        assert not _pid_alive(record["worker_pid"])


def _pid_alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")


async def test_pool_comes_up_writes_endpoints_and_stops_everything(
    standin_vllm: Path, tmp_path: Path
) -> None:
    pool_file, port_a, port_b = write_two_model_pool(tmp_path)
    plan = load_launch_plan(pool_file)
    endpoints = tmp_path / "out" / "endpoints.yaml"
    async with VllmPool(plan, log_dir=tmp_path / "logs", timeout_s=30, stop_grace_s=5) as pool:
        assert len(pool.servers) == 3 and not pool.exited()
        write_endpoints_file(plan, endpoints)
        records = recorded(standin_vllm)
    assert_all_gone(pool, records)

    # Each replica saw only its GPUs and got the exact command line.
    assert records[port_a]["cuda_visible_devices"] == "0"
    assert records[port_a + 1]["cuda_visible_devices"] == "1"
    assert records[port_b]["cuda_visible_devices"] == "2,3"
    assert records[port_b]["argv"] == [
        "serve", "/models/llama8b", "--host", "127.0.0.1", "--port", str(port_b),
        "--served-model-name", "llama8b", "--tensor-parallel-size", "2",
    ]  # fmt: skip
    assert "--max-model-len" in records[port_a]["argv"]
    assert (tmp_path / "logs" / "qwen7b-1.log").read_text().count(
        "stand-in vllm: loading Qwen/Qwen2.5-7B"
    ) == 1

    # The endpoints file is a valid pool file for `harness eval --models`.
    from harness.config import load_pool

    models = {m.name: m for m in load_pool(endpoints).models}
    assert models["qwen7b"].urls() == [f"http://127.0.0.1:{port_a}/v1", f"http://127.0.0.1:{port_a + 1}/v1"]
    assert models["qwen7b"].model_id == "Qwen/Qwen2.5-7B-Instruct"
    assert models["qwen7b"].max_concurrency == 32 and models["qwen7b"].launch is None
    assert models["llama8b"].urls() == [f"http://127.0.0.1:{port_b}/v1"]
    assert models["remote"].urls() == ["http://10.0.0.9:8000/v1"]


async def test_server_that_never_listens_times_out_and_all_are_stopped(
    standin_vllm: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pool_file, port_a, port_b = write_two_model_pool(tmp_path)
    monkeypatch.setenv("STANDIN_VLLM_HANG_PORTS", str(port_b))
    pool = VllmPool(load_launch_plan(pool_file), log_dir=tmp_path / "logs", timeout_s=3, stop_grace_s=5)
    with pytest.raises(ServerStartError) as info:
        await pool.start()
    message = str(info.value)
    assert "1 of 3 vLLM server(s) failed to start; all were stopped" in message
    assert f"vllm llama8b replica 0 (GPUs [2, 3], port {port_b}): not healthy after 3 s" in message
    assert f"stand-in vllm: loading /models/llama8b for port {port_b}" in message  # the log tail
    assert_all_gone(pool, recorded(standin_vllm))


async def test_server_that_dies_early_reports_its_log_tail(
    standin_vllm: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pool_file, port_a, port_b = write_two_model_pool(tmp_path)
    monkeypatch.setenv("STANDIN_VLLM_FAIL_PORTS", str(port_a + 1))
    monkeypatch.setenv("STANDIN_VLLM_HANG_PORTS", str(port_b))  # still "loading": must not be waited for
    pool = VllmPool(load_launch_plan(pool_file), log_dir=tmp_path / "logs", timeout_s=60, stop_grace_s=2)
    started = time.monotonic()
    with pytest.raises(ServerStartError) as info:
        await pool.start()
    assert time.monotonic() - started < 30  # noticed the exit instead of waiting for the timeout
    message = str(info.value)
    assert "1 of 3 vLLM server(s) failed to start; all were stopped" in message
    assert (
        f"vllm qwen7b replica 1 (GPUs [1], port {port_a + 1}): server process exited with code 3" in message
    )
    assert "ValueError: CUDA out of memory (stand-in failure)" in message
    assert str(tmp_path / "logs" / "qwen7b-1.log") in message
    # Its orphaned worker, the healthy replica and the one still loading were all stopped.
    assert_all_gone(pool, recorded(standin_vllm))


async def test_missing_vllm_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pool_file, _, _ = write_two_model_pool(tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    pool = VllmPool(load_launch_plan(pool_file), log_dir=tmp_path / "logs")
    with pytest.raises(
        ServerStartError, match=r'`vllm` was not found on PATH; install vLLM with pip install -e "\.\[vllm\]"'
    ):
        await pool.start()
    assert pool.servers == []


async def test_port_already_taken_is_refused_before_launch(standin_vllm: Path, tmp_path: Path) -> None:
    pool_file, port_a, _ = write_two_model_pool(tmp_path)
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", port_a + 1))
        squatter.listen()
        pool = VllmPool(load_launch_plan(pool_file), log_dir=tmp_path / "logs")
        with pytest.raises(
            ServerStartError, match=rf"port\(s\) already in use on this machine: {port_a + 1} \(qwen7b\)"
        ):
            await pool.start()
    assert recorded(standin_vllm) == {}


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_serve_pool_command_serves_until_stopped(
    standin_vllm: Path, tmp_path: Path, stop_signal: signal.Signals
) -> None:
    pool_file, port_a, port_b = write_two_model_pool(tmp_path)
    endpoints = tmp_path / "endpoints.yaml"
    proc = _start_serve_pool(pool_file, tmp_path)
    try:
        lines = []
        while not any(line.startswith("endpoints written to") for line in lines):
            line = proc.stdout.readline()
            assert line, f"serve-pool ended early: {''.join(lines)}{proc.stderr.read()}"
            lines.append(line)
        assert yaml.safe_load(endpoints.read_text())["models"][1]["base_urls"] == [
            f"http://127.0.0.1:{port_b}/v1"
        ]
        records = recorded(standin_vllm)
        assert set(records) == {port_a, port_a + 1, port_b}
        proc.send_signal(stop_signal)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    for record in records.values():
        assert not process_group_alive(record["pid"])
        assert not _pid_alive(record["worker_pid"])


def test_serve_pool_command_fails_when_a_server_dies_while_serving(
    standin_vllm: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pool_file, port_a, port_b = write_two_model_pool(tmp_path)
    monkeypatch.setenv("STANDIN_VLLM_CRASH_PORTS", str(port_b))
    proc = _start_serve_pool(pool_file, tmp_path)
    try:
        assert proc.wait(timeout=60) == 1
        stderr = proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
    assert f"vllm llama8b replica 0 (GPUs [2, 3], port {port_b}): exited with code 4" in stderr
    assert "RuntimeError: NCCL error (stand-in crash)" in stderr
    for record in recorded(standin_vllm).values():
        assert not process_group_alive(record["pid"])
        assert not _pid_alive(record["worker_pid"])


def test_serve_pool_removes_an_earlier_endpoints_file_before_its_servers_are_up(
    standin_vllm: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pool_file, port_a, _port_b = write_two_model_pool(tmp_path)
    endpoints = tmp_path / "endpoints.yaml"
    endpoints.write_text("models:\n- {name: qwen7b, base_urls: ['http://127.0.0.1:9/v1']}\n")  # a dead run's
    monkeypatch.setenv("STANDIN_VLLM_FAIL_PORTS", str(port_a))
    proc = _start_serve_pool(pool_file, tmp_path)
    try:
        assert proc.wait(timeout=60) == 1
    finally:
        if proc.poll() is None:
            proc.kill()
    # Before: the earlier file stayed, so a script waiting for it went on with servers that were never up.
    assert not endpoints.exists()
