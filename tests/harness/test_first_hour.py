"""What a new user meets first, through real processes: `eval > out.txt`, a wrong endpoint, `tasks`."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from harness.cli import main
from results.files import umask_mode
from results.manifest import read_manifest

REPO_ROOT = Path(__file__).resolve().parents[2]


def _env(toy_env: dict) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(REPO_ROOT),
        "HARNESS_TASKS_DIR": str(toy_env["tasks_dir"]),
        "HARNESS_DATA_DIR": str(toy_env["data_dir"]),
    }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def loopback_url():
    """A real OpenAI-compatible loopback server in its own process."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness.serving.loopback_server", "--answer", "So \\boxed{4}."],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )
    try:
        yield json.loads(proc.stdout.readline())["base_url"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _eval(toy_env: dict, url: str, out: Path, err: Path) -> int:
    command = [
        sys.executable, "-m", "harness", "eval", "--tasks", "toy_math", "--model", f"toy={url}",
        "--samples", "2", "--run", "first", "--output", str(toy_env["runs"]), "--no-progress",
    ]  # fmt: skip
    with out.open("w") as stdout, err.open("w") as stderr:
        return subprocess.run(command, stdout=stdout, stderr=stderr, env=_env(toy_env), timeout=300).returncode


def test_eval_prints_the_table_and_the_run_directory_on_stdout(toy_env, loopback_url, tmp_path):
    out, err = tmp_path / "out.txt", tmp_path / "err.txt"
    assert _eval(toy_env, loopback_url, out, err) == 0, err.read_text()
    stdout = out.read_text()
    run_dir = toy_env["runs"] / "first"
    assert "| math | toy_math | 12 | 2 |" in stdout  # items, then samples per item
    assert f"Run directory: {run_dir} (results.sqlite, report.md, results.json, manifest.json)" in stdout
    assert stdout.startswith((run_dir / "report.md").read_text())
    assert "toy_math" not in err.read_text(), "the table goes to stdout only"

    # Files of a run directory: one mode for all, the umask's; no -wal/-shm after a clean run.
    names = ["results.sqlite", "report.md", "results.json", "manifest.json"]
    assert {name: (run_dir / name).stat().st_mode & 0o777 for name in names} == dict.fromkeys(names, umask_mode())
    assert sorted(p.name for p in run_dir.iterdir() if p.name.startswith("results.sqlite")) == ["results.sqlite"]
    first = read_manifest(run_dir)
    assert first.updated_at > first.created_at  # stamped when the run finished

    # The same command again: nothing left to request, and the output says the samples were stored before.
    assert _eval(toy_env, loopback_url, out, err) == 0, err.read_text()
    stdout = out.read_text()
    assert "Resumed run: 24 samples were already stored before this command; 0 new samples" in stdout
    second = read_manifest(run_dir)
    assert second.created_at == first.created_at and second.updated_at > first.updated_at


def test_a_plain_web_server_is_an_error_before_anything_is_stored(toy_env, tmp_path):
    # Python's own http.server: 404 on GET /v1/models, 501 on POST, like a web server left on the port.
    port = _free_port()
    web = subprocess.Popen(
        [sys.executable, "-u", "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert "Serving HTTP" in web.stdout.readline()  # printed once it listens
        out, err = tmp_path / "out.txt", tmp_path / "err.txt"
        code = _eval(toy_env, f"http://127.0.0.1:{port}/v1", out, err)
    finally:
        web.terminate()
        web.wait(timeout=10)
    stderr = err.read_text()
    assert code == 2, stderr
    assert "/v1/models answered HTTP 404" in stderr
    assert f"http://127.0.0.1:{port}/v1/chat/completions answered HTTP 501 to a one-token test request" in stderr
    assert "OpenAI base URL" in stderr
    assert out.read_text() == ""
    assert not (toy_env["runs"] / "first").exists(), "nothing is stored for an endpoint that is not a model"


def test_tasks_lists_a_custom_folder_that_has_no_ood_task(toy_env, capsys):
    assert main(["tasks"]) == 0
    assert "toy_math" in capsys.readouterr().out


async def test_a_server_without_a_model_list_passes_when_its_completion_route_answers():
    from aiohttp import web

    from harness.config import ModelSpec
    from harness.evaluate import EndpointMismatch, check_endpoint
    from harness.serving.loopback_server import LoopbackServer

    loopback = LoopbackServer()
    app = web.Application()  # the loopback server's completion routes, and no /v1/models
    app.router.add_post("/v1/chat/completions", loopback._complete)
    runner = web.AppRunner(app)
    await runner.setup()
    port = _free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        import aiohttp

        url = f"http://127.0.0.1:{port}/v1"
        async with aiohttp.ClientSession() as session:
            warnings = await check_endpoint(ModelSpec(name="m", base_urls=[url]), url, session)
            assert warnings == [f"model m: {url}/models answered HTTP 404, but its completion route answers"]
            assert loopback.requests[0]["max_tokens"] == 1
            completions = ModelSpec(name="m", base_urls=[url], mode="completions")
            try:
                await check_endpoint(completions, url, session)
            except EndpointMismatch as exc:
                assert f"{url}/completions answered HTTP 404" in str(exc)
            else:
                raise AssertionError("a missing /completions route must stop the run")
    finally:
        await runner.cleanup()
