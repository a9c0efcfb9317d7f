"""Fault round 3: answers no earlier round sent (a gzip bomb, Retry-After: nan, JSON nested past the parser,
duplicate choice indices, redirects) from real TCP servers, and a store that refuses writes (RLIMIT_FSIZE on a
real `harness eval` subprocess), each checked for its result, its message, the store and what resume does."""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import resource
import signal
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path

import aiohttp
import pytest

from harness.client import Completion, EndpointClient, RequestFailure, RetryPolicy
from harness.config import ModelSpec
from harness.serving.loopback_server import LoopbackServer
from harness.taskset import ChatMessage
from results.records import SamplingParams
from tests.harness.conftest import toy_answer

REPO = Path(__file__).resolve().parents[2]
MESSAGES = [ChatMessage(role="user", content="What is 6*7?")]
PARAMS = SamplingParams(max_tokens=16)
FAST_RETRY = RetryPolicy(max_attempts=2, initial_backoff_s=0.01, max_backoff_s=0.02)
HANG_GUARD_S = 20  # a client that never gives up fails the test instead of hanging it
OK_BODY = json.dumps(
    {"choices": [{"index": 0, "finish_reason": "stop", "message": {"content": "42"}}]}
).encode()


def http_response(body: bytes, status: int = 200, **headers: str) -> bytes:
    fields = {"Content-Type": "application/json", "Content-Length": str(len(body)), "Connection": "close"}
    fields.update({name.replace("_", "-"): value for name, value in headers.items()})
    head = f"HTTP/1.1 {status} X\r\n" + "".join(f"{k}: {v}\r\n" for k, v in fields.items()) + "\r\n"
    return head.encode() + body


class RawServer:
    """A real TCP server on loopback that answers every request with the bytes `answer()` gives: what no
    framework would send (a lying header, a bomb). Counts the requests it saw."""

    def __init__(self, answer: Callable[[], bytes]):
        self.answer = answer
        self.requests = 0
        self._server: asyncio.Server | None = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            self.requests += 1
            writer.write(self.answer())
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}/v1"

    async def __aenter__(self) -> RawServer:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()


async def _complete(
    base_url: str, retry: RetryPolicy = FAST_RETRY, **spec_fields
) -> Completion | RequestFailure:
    spec = ModelSpec(name="m", base_urls=[base_url], **spec_fields)
    async with aiohttp.ClientSession() as session:
        client = EndpointClient(session, spec, spec.urls()[0], retry)
        return await asyncio.wait_for(client.complete(MESSAGES, PARAMS), HANG_GUARD_S)


# ----- answers of the wrong kind -------------------------------------------------------------------------


async def test_a_gzip_bomb_is_bounded_by_its_inflated_size_and_not_retried():
    # 32 MB of spaces in 32 KB of gzip: the Content-Length (32 KB) is far under the 1 MB limit.
    bomb = gzip.compress(b" " * (32 * 1024 * 1024), compresslevel=9)
    async with RawServer(lambda: http_response(bomb, Content_Encoding="gzip")) as server:
        result = await _complete(server.base_url, max_response_bytes=1024 * 1024)
    assert isinstance(result, RequestFailure) and result.kind == "malformed", result
    assert "exceeds max_response_bytes (1048576)" in result.message
    assert server.requests == 1, "an oversized answer comes back oversized: it is not asked again"


async def test_a_compressed_answer_within_the_limit_is_read():
    async with RawServer(lambda: http_response(gzip.compress(OK_BODY), Content_Encoding="gzip")) as server:
        result = await _complete(server.base_url)
    assert isinstance(result, Completion) and result.choices[0].text == "42"


async def test_retry_after_nan_falls_back_to_backoff_instead_of_sleeping_forever():
    answers = iter(
        [http_response(b'{"error": "busy"}', status=429, Retry_After="nan"), http_response(OK_BODY)]
    )
    async with RawServer(lambda: next(answers)) as server:
        result = await _complete(server.base_url, max_retry_after_s=30)
    assert isinstance(result, Completion) and server.requests == 2


async def test_json_nested_past_the_parser_is_a_malformed_answer_not_a_crash():
    body = (
        b'{"choices": [{"index": 0, "message": {"content": "42"}}], "x": '
        + b"[" * 100_000
        + b"]" * 100_000
        + b"}"
    )
    async with RawServer(lambda: http_response(body)) as server:
        result = await _complete(server.base_url)
    assert isinstance(result, RequestFailure) and result.kind == "malformed"
    assert "nested too deeply" in result.message and server.requests == 1


async def test_a_token_count_past_what_sqlite_holds_is_malformed_not_a_failed_write():
    body = {"choices": [{"index": 0, "message": {"content": "42"}}], "usage": {"completion_tokens": 2**70}}
    async with RawServer(lambda: http_response(json.dumps(body).encode())) as server:
        result = await _complete(server.base_url)
    assert isinstance(result, RequestFailure) and result.kind == "malformed"
    assert f"usage.completion_tokens is {2**70}, not a token count" in result.message


async def test_two_choices_with_one_index_are_malformed_not_two_samples():
    choices = [{"index": 0, "message": {"content": text}} for text in ("41", "42")]
    async with RawServer(lambda: http_response(json.dumps({"choices": choices}).encode())) as server:
        result = await _complete(server.base_url)
    assert isinstance(result, RequestFailure) and result.kind == "malformed"
    assert "same index more than once ([0, 0])" in result.message


@pytest.mark.parametrize("status", [301, 302, 307, 308])
async def test_a_redirect_is_a_clear_client_error_and_the_prompt_goes_nowhere_else(status):
    async with LoopbackServer() as elsewhere:
        target = f"{elsewhere.base_url}/chat/completions"
        async with RawServer(lambda: http_response(b"", status=status, Location=target)) as server:
            result = await _complete(server.base_url)
    assert isinstance(result, RequestFailure) and result.kind == "client" and result.status == status
    assert f"redirects to {target}" in result.message and "base URL" in result.message
    assert elsewhere.request_count == 0, "neither the prompt nor the key was sent where the Location points"
    assert server.requests == 1, "a redirect is not retried"


# ----- a store that refuses writes: a real eval process under RLIMIT_FSIZE -------------------------------


def _eval_command(base_url: str, runs: Path, samples: int) -> list[str]:
    return [
        sys.executable, "-m", "harness", "eval", "--tasks", "toy_math", "--model", f"toy={base_url}",
        "--samples", str(samples), "--concurrency", "2", "--run", "r", "--output", str(runs),
        "--no-progress", "--grading-workers", "1",
    ]  # fmt: skip


async def _start(
    command: list[str], file_size_limit: int | None = None, ignore_hangup: bool = False
) -> asyncio.subprocess.Process:
    def prepare() -> None:
        if file_size_limit is not None:  # Python ignores SIGXFSZ: a write past the limit fails with EFBIG
            resource.setrlimit(resource.RLIMIT_FSIZE, (file_size_limit, file_size_limit))
        if ignore_hangup:  # as nohup starts it
            signal.signal(signal.SIGHUP, signal.SIG_IGN)

    return await asyncio.create_subprocess_exec(
        *command,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        preexec_fn=prepare,
    )


async def _run(command: list[str], file_size_limit: int | None = None) -> tuple[int, str]:
    process = await _start(command, file_size_limit)
    out, err = await asyncio.wait_for(process.communicate(), timeout=300)
    assert process.returncode is not None
    return process.returncode, (out + err).decode()


def _stored(db_path: Path) -> dict[tuple[str, int], tuple[int, str]]:
    with sqlite3.connect(db_path, timeout=5) as db:
        rows = db.execute("SELECT item_id, sample_index, seed, response FROM samples").fetchall()
    return {(item, index): (seed, response) for item, index, seed, response in rows}


async def test_a_full_disk_stops_the_run_at_once_with_a_clear_error_and_resume_finishes_it(toy_env):
    n, samples = toy_env["n"], 3
    db_path = toy_env["runs"] / "r" / "results.sqlite"
    # 20 KB answers: the database outgrows the 400 KB file size limit after a few requests.
    padded = lambda body: toy_answer(body) + " pad" * 5000  # noqa: E731
    async with LoopbackServer(answer=padded, delay_s=0.05) as server:
        code, output = await _run(_eval_command(server.base_url, toy_env["runs"], samples), 400_000)
        first_requests = server.request_count
        assert code == 2, output
        assert f"cannot write to {db_path}" in output and "Traceback" not in output
        assert "run the same command to resume" in output
        assert first_requests < n, "the run stopped requesting when the store refused to write"
        before = _stored(db_path)
        assert 0 < len(before) < n * samples

        code, output = await _run(_eval_command(server.base_url, toy_env["runs"], samples))
        assert code == 0, output
    after = _stored(db_path)
    assert len(after) == n * samples and {k: after[k] for k in before} == before, "stored rows are untouched"
    second = server.requests[first_requests:]
    done_seeds = {seed for seed, _ in before.values()}
    assert not {body["seed"] for body in second} & done_seeds, "no stored sample was asked for again"


# ----- a damaged database; a hangup ----------------------------------------------------------------------


async def test_a_damaged_database_is_a_clear_error_naming_the_file_for_eval_and_report(toy_env, capsys):
    from harness.cli import main

    db_path = toy_env["runs"] / "r" / "results.sqlite"
    async with LoopbackServer(answer=toy_answer) as server:
        code, output = await _run(_eval_command(server.base_url, toy_env["runs"], 1))
        assert code == 0, output
        data = bytearray(db_path.read_bytes())
        data[4096:] = os.urandom(len(data) - 4096)  # every page but the first (the schema) is garbage
        db_path.write_bytes(bytes(data))
        requests = server.request_count
        code, output = await _run(_eval_command(server.base_url, toy_env["runs"], 1))
        assert server.request_count == requests, "nothing is requested for a run whose store cannot be read"
    assert code == 2 and "Traceback" not in output, output
    assert f"{db_path}: " in output and "the file is damaged" in output and ".recover" in output
    assert main(["report", str(db_path.parent)]) == 2
    assert "the file is damaged" in capsys.readouterr().err


async def _stored_count(db_path: Path, at_least: int, process: asyncio.subprocess.Process) -> None:
    for _ in range(1200):
        if db_path.is_file():
            with sqlite3.connect(db_path, timeout=5) as db:
                try:
                    if db.execute("SELECT COUNT(*) FROM samples").fetchone()[0] >= at_least:
                        return
                except sqlite3.OperationalError:  # tables not created yet
                    pass
        assert process.returncode is None, "the run ended before the signal could be sent"
        await asyncio.sleep(0.05)
    raise AssertionError("the run stored nothing")


@pytest.mark.slow
async def test_a_hangup_stops_the_run_like_ctrl_c_and_resume_redoes_nothing(toy_env):
    n = toy_env["n"]
    db_path = toy_env["runs"] / "r" / "results.sqlite"
    async with LoopbackServer(answer=toy_answer, delay_s=0.2) as server:
        process = await _start(_eval_command(server.base_url, toy_env["runs"], 1))
        await _stored_count(db_path, 2, process)
        process.send_signal(signal.SIGHUP)
        out, err = await asyncio.wait_for(process.communicate(), timeout=60)
        assert process.returncode == 130, err.decode()
        assert "Interrupted." in err.decode() and "--run r" in err.decode()
        before = _stored(db_path)
        first_requests = server.request_count
        code, output = await _run(_eval_command(server.base_url, toy_env["runs"], 1))
        assert code == 0, output
    after = _stored(db_path)
    assert len(after) == n and {k: after[k] for k in before} == before
    assert server.request_count - first_requests == n - len(before), "only the missing samples were asked for"


@pytest.mark.slow
async def test_a_run_started_under_nohup_keeps_going_after_a_hangup(toy_env):
    db_path = toy_env["runs"] / "r" / "results.sqlite"
    async with LoopbackServer(answer=toy_answer, delay_s=0.1) as server:
        process = await _start(_eval_command(server.base_url, toy_env["runs"], 1), ignore_hangup=True)
        await _stored_count(db_path, 2, process)
        process.send_signal(signal.SIGHUP)
        out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode == 0, err.decode()
    assert len(_stored(db_path)) == toy_env["n"]


# ----- an endpoint that refuses every request ------------------------------------------------------------


@pytest.mark.parametrize(
    "status,retry_failed",
    [(401, True), (403, True), (404, True), (503, False)],
    ids=["401", "403", "404", "503"],
)
async def test_an_endpoint_that_fails_every_request_is_stopped_with_a_clear_error(
    toy_env, status, retry_failed
):
    from harness.evaluate import run_eval
    from harness.scheduler import STOP_AFTER_FAILURES
    from harness.serving.loopback_server import FaultRule
    from tests.harness.conftest import stored_rows, toy_request

    n, samples = toy_env["n"], 3  # one request per sample: 36, more than it takes to stop
    failing = FaultRule("status", times=10**6, status=status, message="invalid API key or overloaded")
    spec = {"max_attempts": 1, "supports_n": False}
    async with LoopbackServer(answer=toy_answer, faults=[failing]) as server:
        request = toy_request(toy_env, server.base_url, samples=samples, seed=1, concurrency=1, spec=spec)
        outcome = await run_eval(request)
    assert server.request_count == STOP_AFTER_FAILURES, "the failures stopped the requests"
    [line] = outcome.stopped_models
    assert (
        f"stopped after {STOP_AFTER_FAILURES} requests in a row failed" in line and f"HTTP {status}" in line
    )
    assert f"{n * samples - STOP_AFTER_FAILURES} remaining samples were not requested" in line
    report = (outcome.run_dir / "report.md").read_text()
    assert f"error ({STOP_AFTER_FAILURES}/{STOP_AFTER_FAILURES} failed)" in report and "| 0.0" not in report

    async with LoopbackServer(
        answer=toy_answer
    ) as fixed:  # fixed: resume (client errors need --retry-failed)
        request = toy_request(
            toy_env, fixed.base_url, samples=samples, seed=1, spec=spec, retry_failed=retry_failed
        )
        outcome = await run_eval(request)
    assert fixed.request_count == n * samples and outcome.stopped_models == []
    assert all(r.error is None and r.score is not None for r in stored_rows(outcome.run_dir))


async def test_a_client_error_of_one_prompt_does_not_stop_the_model(toy_env):
    from harness.evaluate import run_eval
    from harness.scheduler import STOP_AFTER_FAILURES
    from harness.serving.loopback_server import FaultRule
    from tests.harness.conftest import toy_request

    too_long = FaultRule("status", times=10**6, status=400, message="prompt too long")
    spec = {"max_attempts": 1, "supports_n": False}
    async with LoopbackServer(answer=toy_answer, faults=[too_long]) as server:
        request = toy_request(toy_env, server.base_url, samples=3, seed=1, concurrency=1, spec=spec)
        outcome = await run_eval(request)
    assert server.request_count == toy_env["n"] * 3 > STOP_AFTER_FAILURES and outcome.stopped_models == []


# ----- a run resumed after its task file or data changed -------------------------------------------------


async def test_a_changed_gold_answer_or_grader_regrades_the_stored_responses_without_mixing(toy_env, capsys):
    from harness.evaluate import run_eval
    from tests.harness.conftest import stored_rows, toy_request

    async with LoopbackServer(answer=toy_answer) as server:
        first = await run_eval(toy_request(toy_env, server.base_url, samples=1, seed=1))
        before = {r.item_id: r for r in stored_rows(first.run_dir)}
        assert before["q0"].score == 1.0, "q0 asks 0 + 0 and gets 0"
        data = toy_env["data_dir"] / "toy" / "toy.jsonl"
        data.write_text(
            data.read_text().replace('"answer": "0"}', '"answer": "5"}')
        )  # the gold of q0 is fixed
        capsys.readouterr()
        second = await run_eval(toy_request(toy_env, server.base_url, samples=1, seed=1))
        after = {r.item_id: r for r in stored_rows(second.run_dir)}
        assert server.request_count == toy_env["n"], "the prompts did not change: no response is asked again"
        assert after["q0"].score == 0.0, "graded again against the new gold, not kept from the old one"
        assert after["q0"].response == before["q0"].response
        assert {i: r.score for i, r in after.items() if i != "q0"} == {
            i: r.score for i, r in before.items() if i != "q0"
        }
        assert (
            "gold answers changed in the task data: 1 stored samples are graded again"
            in capsys.readouterr().err
        )

        task_file = toy_env["tasks_dir"] / "toy_math.yaml"
        task_file.write_text(
            task_file.read_text().replace("{name: math}", "{name: math, options: {integer_answer: true}}")
        )
        third = await run_eval(toy_request(toy_env, server.base_url, samples=1, seed=1))
    assert third.graded == toy_env["n"], "every stored response is graded by the new grader settings"
    assert "grader of toy_math changed" in capsys.readouterr().err
    assert server.request_count == toy_env["n"]


@pytest.mark.parametrize("finish_reason", ["abort", "error"])
async def test_a_generation_the_server_stopped_itself_is_retried_not_graded(finish_reason):
    stopped = {
        "choices": [{"index": 0, "finish_reason": finish_reason, "message": {"content": "The answer is"}}]
    }
    answers = iter([http_response(json.dumps(stopped).encode()), http_response(OK_BODY)])
    async with RawServer(lambda: next(answers)) as server:
        result = await _complete(server.base_url)
    assert isinstance(result, Completion) and result.choices[0].text == "42", "the partial text was not kept"
    assert server.requests == 2
    async with RawServer(lambda: http_response(json.dumps(stopped).encode())) as server:
        result = await _complete(server.base_url)
    assert isinstance(result, RequestFailure) and result.kind == "transient"
    assert f"finish_reason {finish_reason!r}" in result.message and "The answer is" in result.message


@pytest.mark.parametrize("finish_reason", ["length", "content_filter", None, "tool_calls"])
async def test_other_finish_reasons_are_the_models_answer_and_kept(finish_reason):
    choice = {"index": 0, "finish_reason": finish_reason, "message": {"content": None, "tool_calls": []}}
    async with RawServer(lambda: http_response(json.dumps({"choices": [choice]}).encode())) as server:
        result = await _complete(server.base_url)
    assert isinstance(result, Completion) and result.choices[0].finish_reason == finish_reason


@pytest.mark.parametrize(
    "answered,warned", [("impostor-7b", True), ("toy-2024-08-06", False), ("toy", False)]
)
async def test_responses_that_name_another_model_are_reported(toy_env, capsys, answered, warned):
    from harness.evaluate import run_eval
    from harness.serving.loopback_server import FaultRule
    from tests.harness.conftest import toy_request

    choice = {"index": 0, "finish_reason": "stop", "message": {"content": "\\\\boxed{0}"}}
    rule = FaultRule("payload", times=10**6, payload={"model": answered, "choices": [choice]})
    async with LoopbackServer(faults=[rule]) as server:
        outcome = await run_eval(toy_request(toy_env, server.base_url, samples=1, seed=1))
    n = toy_env["n"]
    expected = [
        f"model toy: {n} responses say they came from model {answered!r}, not the 'toy' that was asked for"
    ]
    assert [line.split(" (check")[0] for line in outcome.foreign_models] == (expected if warned else [])
    assert (expected[0] in capsys.readouterr().err) == warned


# ----- the report cannot be written; the database is locked by another process ---------------------------


async def test_a_report_that_cannot_be_written_is_a_clear_error_and_leaves_no_stale_report(toy_env):
    from harness.evaluate import run_eval
    from results.store import StoreError
    from tests.harness.conftest import toy_request

    async with LoopbackServer(answer=toy_answer) as server:
        first = await run_eval(toy_request(toy_env, server.base_url, samples=1, seed=1))
        assert (first.run_dir / "report.md").is_file()
        blocked = first.run_dir / "results.json"
        blocked.unlink()
        (blocked / "in-the-way").mkdir(
            parents=True
        )  # the rename onto it fails, as on a full or read-only disk
        with pytest.raises(StoreError) as failed:
            await run_eval(toy_request(toy_env, server.base_url, samples=1, seed=1))
    assert f"cannot write {blocked}" in str(failed.value)
    assert f"`harness report {first.run_dir}` writes the report" in str(failed.value)
    assert not (first.run_dir / "report.md").exists(), (
        "no report of an earlier state is left to be read as final"
    )


async def test_a_database_locked_by_another_process_is_a_clear_error_before_any_request(toy_env, monkeypatch):
    from harness.evaluate import run_eval
    from results.store import StoreError
    from tests.harness.conftest import toy_request

    async with LoopbackServer(answer=toy_answer) as server:
        first = await run_eval(toy_request(toy_env, server.base_url, samples=1, seed=1))
        holder = sqlite3.connect(first.run_dir / "results.sqlite", isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")  # as a sqlite3 shell in a transaction holds it
        monkeypatch.setattr("results.store.BUSY_TIMEOUT_S", 0.2)  # the store waits 30 s; the test need not
        try:
            with pytest.raises(StoreError) as failed:
                await run_eval(toy_request(toy_env, server.base_url, samples=2, seed=1))
        finally:
            holder.close()
        assert server.request_count == toy_env["n"], (
            "nothing was requested while the store could not be written"
        )
    assert "database is locked" in str(failed.value) and "holds a write lock" in str(failed.value)


async def test_a_streamed_answer_nobody_asked_for_is_malformed_and_not_retried():
    stream = b'data: {"choices": [{"index": 0, "delta": {"content": "42"}}]}\n\ndata: [DONE]\n\n'
    async with RawServer(lambda: http_response(stream, Content_Type="text/event-stream")) as server:
        result = await _complete(server.base_url)
    assert isinstance(result, RequestFailure) and result.kind == "malformed"
    assert "text/event-stream" in result.message and "data: [DONE]" in result.message
    assert server.requests == 1


@pytest.mark.parametrize(
    "change", [{"served_model_id": "other-model"}, {"mode": "completions"}, {"extra_body": {"top_k": 5}}]
)
async def test_a_resume_under_the_same_model_name_but_another_model_is_refused(toy_env, change):
    from harness.evaluate import run_eval
    from results.manifest import ManifestError
    from tests.harness.conftest import stored_rows, toy_request

    async with LoopbackServer(answer=toy_answer) as server:
        first = await run_eval(toy_request(toy_env, server.base_url, samples=1, seed=1))
        before = stored_rows(first.run_dir)
        with pytest.raises(ManifestError) as refused:
            await run_eval(toy_request(toy_env, server.base_url, samples=2, seed=1, spec=change))
        assert server.request_count == toy_env["n"], "nothing was requested for the refused resume"
    field = {"served_model_id": "model id"}.get(next(iter(change)), next(iter(change)))
    assert f"model toy: {field} " in str(refused.value) and "mix two models' samples" in str(refused.value)
    assert stored_rows(first.run_dir) == before


async def test_a_lone_surrogate_in_an_answer_is_stored_as_a_replacement_character_and_the_run_goes_on(
    toy_env,
):
    from harness.evaluate import run_eval
    from harness.serving.loopback_server import FaultRule
    from tests.harness.conftest import stored_rows, toy_request

    # Valid JSON ("\ud800" escapes half a UTF-16 pair) that no UTF-8 text can hold: it used to fail its
    # whole write batch and end the run, after requesting everything, with the batch's answers lost.
    half_emoji = '{"choices": [{"index": 0, "finish_reason": "stop", "message": {"content": "x \\ud800 \\\\boxed{8}"}}]}'
    rule = FaultRule("payload", times=1, match="Compute 2 + 6.", payload=half_emoji)
    async with LoopbackServer(answer=toy_answer, faults=[rule]) as server:
        outcome = await run_eval(toy_request(toy_env, server.base_url, samples=1, seed=1))
    rows = {r.item_id: r for r in stored_rows(outcome.run_dir)}
    assert len(rows) == toy_env["n"] and all(r.score is not None for r in rows.values())
    assert rows["q2"].response == "x \ufffd \\boxed{8}" and rows["q2"].score == 1.0


async def test_a_resume_naming_the_same_model_id_explicitly_is_not_refused(toy_env):
    from harness.evaluate import run_eval
    from tests.harness.conftest import toy_request

    async with LoopbackServer(answer=toy_answer) as server:
        await run_eval(toy_request(toy_env, server.base_url, samples=1, seed=1))
        outcome = await run_eval(
            toy_request(toy_env, server.base_url, samples=2, seed=1, spec={"served_model_id": "toy"})
        )
    assert outcome.samples_written == toy_env["n"], "the second sample of every item was added"
