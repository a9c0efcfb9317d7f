"""The embedded default model: llama.cpp's real C++ server (xllamacpp) running SmolLM2-135M-Instruct on CPU."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import aiohttp
import pytest

from harness.serving import embedded
from harness.serving.embedded import (
    EMBEDDED_MODEL_NAME,
    EmbeddedServer,
    LocalExtraMissing,
    ServerStartError,
    embedded_model_config,
    process_group_alive,
)

REPO_ROOT = Path(__file__).resolve().parents[2]


def _local_extra_or_skip() -> Path:
    try:
        return embedded.require_local_extra()
    except LocalExtraMissing as exc:
        pytest.skip(f"embedded model not installed: {exc}")


@pytest.fixture
def gguf() -> Path:
    return _local_extra_or_skip()


async def _chat(session: aiohttp.ClientSession, server: EmbeddedServer, **body: object) -> dict:
    payload = {
        "model": server.model_id,
        "messages": [{"role": "user", "content": "Name one colour of the rainbow."}],
        "max_tokens": 24,
        "temperature": 0.7,
        "seed": 7,
        **body,
    }
    async with session.post(f"{server.base_url}/chat/completions", json=payload) as response:
        assert response.status == 200, await response.text()
        return await response.json()


@pytest.mark.slow
async def test_real_server_answers_chat_and_stops_its_process_group(gguf: Path, tmp_path: Path) -> None:
    async with EmbeddedServer(log_dir=tmp_path) as server:
        pgid = server.process.pid
        assert server.base_url.startswith("http://127.0.0.1:") and server.base_url.endswith("/v1")
        assert server.log_path == tmp_path / "embedded-server.log"
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{server.base_url}/models") as response:
                ids = [m["id"] for m in (await response.json())["data"]]
            assert ids == [server.model_id]

            body = await _chat(session, server)
            (choice,) = body["choices"]
            assert choice["message"]["content"].strip()
            assert choice["finish_reason"] in ("stop", "length")
            usage = body["usage"]
            assert usage["prompt_tokens"] > 0 and usage["completion_tokens"] > 0
            assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
            assert usage["completion_tokens"] <= 24

            # The completions route answers too (pool entries with mode: completions).
            payload = {"model": server.model_id, "prompt": "1, 2, 3,", "max_tokens": 6}
            async with session.post(f"{server.base_url}/completions", json=payload) as response:
                assert response.status == 200, await response.text()
                assert (await response.json())["choices"][0]["text"]
        assert process_group_alive(pgid)
    assert server.process.returncode is not None
    assert not process_group_alive(pgid)


@pytest.mark.slow
def test_temp_log_dir_is_removed_after_a_clean_run(gguf: Path) -> None:
    with EmbeddedServer() as server:
        log_path = server.log_path
        assert f"listening on {server.base_url.removesuffix('/v1')}" in log_path.read_text()
    assert not log_path.parent.exists()


def test_temp_log_dir_is_kept_when_start_fails(tmp_path: Path) -> None:
    if embedded.missing_local_modules():
        pytest.skip("xllamacpp (the local extra) not installed")
    bogus = tmp_path / "bogus.gguf"
    bogus.write_bytes(b"GGUF?")
    server = EmbeddedServer(model_path=bogus)
    with pytest.raises(ServerStartError):
        server.start()
    try:
        assert "failed to load model" in server.log_path.read_text()
    finally:
        shutil.rmtree(server.log_path.parent)


@pytest.mark.slow
def test_sync_start_stop_and_pool_entry(gguf: Path, tmp_path: Path) -> None:
    server = EmbeddedServer(log_dir=tmp_path).start()
    try:
        pgid = server.process.pid
        config = embedded_model_config(server)
        assert config["name"] == EMBEDDED_MODEL_NAME
        assert config["base_urls"] == [server.base_url]
        assert config["served_model_id"] == server.model_id
        assert config["supports_n"] is False
        assert config["max_concurrency"] == server.parallel == embedded.EMBEDDED_PARALLEL
        spec = server.model_spec()  # validates against harness.config.ModelSpec
        assert spec.urls() == [server.base_url] and spec.supports_n is False
    finally:
        server.stop()
    assert not process_group_alive(pgid)


def test_server_that_exits_at_once_raises_with_log_tail(tmp_path: Path) -> None:
    if embedded.missing_local_modules():
        pytest.skip("xllamacpp (the local extra) not installed")
    bogus = tmp_path / "not-a-model.gguf"
    bogus.write_bytes(b"this is not a GGUF file")
    server = EmbeddedServer(model_path=bogus, log_dir=tmp_path, startup_timeout=60)
    started = time.monotonic()
    with pytest.raises(ServerStartError) as info:
        server.start()
    message = str(info.value)
    assert "exited with code" in message
    assert str(tmp_path / "embedded-server.log") in message
    # The tail of the real server log is in the message: llama.cpp names the file it failed to load.
    log_tail = (tmp_path / "embedded-server.log").read_text().strip().splitlines()[-1]
    assert log_tail in message
    assert f"failed to load model from {bogus}" in message
    assert time.monotonic() - started < 60  # noticed the exit, did not wait for the timeout
    assert not process_group_alive(server.process.pid)


async def test_health_timeout_names_the_problem_and_kills_the_group(tmp_path: Path) -> None:
    # A real child that stays alive but never listens: the wait must give up and clean up.
    server = embedded.ManagedServer(
        [sys.executable, "-c", "import time; print('loading weights...', flush=True); time.sleep(60)"],
        base_url=f"http://127.0.0.1:{embedded.find_free_port()}/v1",
        log_path=tmp_path / "sleeper.log",
        label="sleeper",
    )
    server.launch()
    try:
        with pytest.raises(ServerStartError, match=r"sleeper: not healthy after 1 s") as info:
            await server.wait_healthy(timeout_seconds=1.0)
        assert "loading weights..." in str(info.value)
    finally:
        server.stop(grace_seconds=2.0)
    assert not process_group_alive(server.pgid)


def test_stop_kills_children_that_ignore_sigterm(tmp_path: Path) -> None:
    # The leader spawns a grandchild that ignores SIGTERM; stop() must SIGKILL the whole group.
    script = textwrap.dedent(
        """
        import signal, subprocess, sys, time
        subprocess.Popen([sys.executable, "-c",
            "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('child up', flush=True); time.sleep(60)"])
        time.sleep(60)
        """
    )
    server = embedded.ManagedServer(
        [sys.executable, "-c", script],
        base_url="http://127.0.0.1:9/v1",
        log_path=tmp_path / "tree.log",
        label="tree",
    )
    server.launch()
    deadline = time.monotonic() + 10
    while "child up" not in (tmp_path / "tree.log").read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    server.stop(grace_seconds=0.5)
    assert not process_group_alive(server.pgid)


def test_missing_local_extra_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    real_find_spec = embedded.importlib.util.find_spec
    monkeypatch.setattr(
        embedded.importlib.util,
        "find_spec",
        lambda name, *a: None if name == "xllamacpp" else real_find_spec(name, *a),
    )
    with pytest.raises(LocalExtraMissing, match=r'pip install -e "\.\[local\]"') as info:
        EmbeddedServer().start()
    assert "xllamacpp" in str(info.value)


@pytest.mark.slow
@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_serve_default_runs_until_stopped(gguf: Path, stop_signal: signal.Signals) -> None:
    port = embedded.find_free_port()
    proc = _start_serve_default(port)
    try:
        banner = proc.stdout.readline()
        assert f"http://127.0.0.1:{port}/v1" in banner, banner + proc.stderr.read()
        server_pids = _child_pids(proc.pid)
        assert len(server_pids) == 1  # the llama.cpp server, leader of its own process group
        proc.send_signal(stop_signal)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    for pid in server_pids:
        assert not process_group_alive(pid)


@pytest.mark.slow
def test_serve_default_reports_a_server_that_dies(gguf: Path) -> None:
    proc = _start_serve_default(embedded.find_free_port())
    try:
        banner = [proc.stdout.readline() for _ in range(3)]
        assert banner[-1] == "Ctrl-C to stop.\n", banner
        (server_pid,) = _child_pids(proc.pid)
        os.kill(server_pid, signal.SIGKILL)
        assert proc.wait(timeout=30) == 1
        assert "the server exited on its own with code -9" in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()


def _start_serve_default(port: int) -> subprocess.Popen[str]:
    code = f"import sys; from harness.serving.embedded import serve_default_main; sys.exit(serve_default_main('127.0.0.1', {port}))"
    return subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )


def _child_pids(parent: int) -> list[int]:
    return [int(pid) for pid in Path(f"/proc/{parent}/task/{parent}/children").read_text().split()]


async def test_foreign_server_on_the_port_is_not_mistaken_for_ours(tmp_path: Path) -> None:
    from aiohttp import web

    async def models(_request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [{"id": "someone-elses-model"}]})

    app = web.Application()
    app.router.add_get("/v1/models", models)
    runner = web.AppRunner(app)
    await runner.setup()
    port = embedded.find_free_port()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    server = embedded.ManagedServer(
        [sys.executable, "-c", "import time; time.sleep(60)"],
        base_url=f"http://127.0.0.1:{port}/v1",
        log_path=tmp_path / "ours.log",
        label="ours",
        expected_model_id="our-model",
    )
    server.launch()
    try:
        with pytest.raises(ServerStartError, match=r"serves \['someone-elses-model'\], not 'our-model'"):
            await server.wait_healthy(timeout_seconds=10)
    finally:
        server.stop(grace_seconds=2)
        await runner.cleanup()


async def test_sync_helper_works_inside_a_running_event_loop() -> None:
    async def answer() -> int:
        await asyncio.sleep(0.01)
        return 42

    assert embedded.run_coroutine_blocking(answer()) == 42


def test_decode_threads_default_to_every_cpu_and_follow_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    from harness.serving.llama_server import THREADS_ENV, default_threads

    monkeypatch.delenv(THREADS_ENV, raising=False)
    assert default_threads() == len(os.sched_getaffinity(0))
    monkeypatch.setenv(THREADS_ENV, "1")
    assert default_threads() == 1
    for bad in ("two", "0"):
        monkeypatch.setenv(THREADS_ENV, bad)
        with pytest.raises(SystemExit, match=THREADS_ENV):
            default_threads()
