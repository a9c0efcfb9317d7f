"""Issue 9, items 3 and 4: every response-shape fault is a failure value with the server's text; a response is
bounded in size and in total time; Retry-After waits are capped and reported. All against a real loopback server."""

from __future__ import annotations

import asyncio
import io

import aiohttp
import pytest
from rich.console import Console

from harness.client import Completion, EndpointClient, RequestFailure, RetryPolicy
from harness.config import ModelSpec
from harness.evaluate import preflight
from harness.progress import RunProgress
from harness.request_deadline import DeadlineWatch
from harness.serving.loopback_server import FaultRule, LoopbackServer
from harness.taskset import ChatMessage
from results.records import SamplingParams

MESSAGES = [ChatMessage(role="user", content="What is 6*7?")]
PARAMS = SamplingParams(max_tokens=16)
FAST_RETRY = RetryPolicy(max_attempts=3, initial_backoff_s=0.01, max_backoff_s=0.02)
HANG_GUARD_S = 60  # a client that never gives up fails the test instead of hanging it


def _ok_choice(**overrides):
    return {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "42"}, **overrides}


async def _complete(server: LoopbackServer, *, retry=FAST_RETRY, hook=None, **spec_fields):
    spec = ModelSpec(name="m", base_urls=[server.base_url], **spec_fields)
    async with aiohttp.ClientSession() as session:
        client = EndpointClient(session, spec, spec.urls()[0], retry, on_retry_after=hook)
        return await asyncio.wait_for(client.complete(MESSAGES, PARAMS), HANG_GUARD_S)


SHAPE_FAULTS = {
    "usage token count not an integer": (
        {"choices": [_ok_choice()], "usage": {"prompt_tokens": "twelve", "completion_tokens": 3}},
        "usage.prompt_tokens",
    ),
    "usage as a list": ({"choices": [_ok_choice()], "usage": [1, 2]}, "usage is a list"),
    "usage count a float": ({"choices": [_ok_choice()], "usage": {"completion_tokens": 2.5}}, "usage.completion"),
    "empty choices": ({"choices": [], "usage": {}}, "choices is []"),
    "missing choices": ({"object": "chat.completion"}, "choices is None"),
    "choice not an object": ({"choices": ["42"]}, "choices[0] is a str"),
    "message not an object": ({"choices": [_ok_choice(message="42")]}, "choices[0].message is a str"),
    "content of the wrong type": (
        {"choices": [_ok_choice(message={"content": ["4", "2"]})]},
        "not a string",
    ),
    "finish_reason of the wrong type": ({"choices": [_ok_choice(finish_reason=7)]}, "not a string"),
    "index not an integer": ({"choices": [_ok_choice(index="0")]}, "index is '0'"),
    "body a JSON list": ([1, 2, 3], "JSON list"),
}


@pytest.mark.parametrize("payload,what", SHAPE_FAULTS.values(), ids=list(SHAPE_FAULTS))
async def test_a_response_of_the_wrong_shape_is_a_failure_with_the_servers_text(payload, what):
    async with LoopbackServer(faults=[FaultRule("payload", times=99, payload=payload)]) as server:
        result = await _complete(server)
    assert isinstance(result, RequestFailure)
    assert result.kind == "malformed" and what in result.message
    assert "body: " in result.message, "the server's own text is kept for the operator"
    assert server.request_count == 1, "a well-formed JSON body of the wrong shape is not retried"


async def test_a_body_that_is_not_json_is_retried_then_fails_with_the_servers_text():
    rule = FaultRule("payload", times=99, payload="<html>502 Bad Gateway from the proxy</html>")
    async with LoopbackServer(faults=[rule]) as server:
        result = await _complete(server)
    assert isinstance(result, RequestFailure) and result.kind == "transient"
    assert "not JSON" in result.message and "Bad Gateway from the proxy" in result.message
    assert server.request_count == FAST_RETRY.max_attempts


async def test_missing_usage_and_missing_message_are_not_faults():
    payload = {"choices": [{"index": 0, "finish_reason": "length", "message": None}]}
    async with LoopbackServer(faults=[FaultRule("payload", payload=payload)]) as server:
        result = await _complete(server)
    assert isinstance(result, Completion)
    assert result.choices[0].text is None and result.prompt_tokens is None


@pytest.mark.parametrize("sized", [True, False], ids=["content-length", "chunked"])
async def test_a_body_over_max_response_bytes_is_refused_while_reading(sized):
    rule = FaultRule("huge", times=99, size_bytes=64 * 1024 * 1024, sized=sized)
    async with LoopbackServer(faults=[rule]) as server:
        result = await _complete(server, max_response_bytes=1024 * 1024)
    assert isinstance(result, RequestFailure) and result.kind == "malformed"
    assert "exceeds max_response_bytes (1048576)" in result.message
    assert server.request_count == 1


async def test_a_trickling_server_cannot_hold_a_request_past_its_deadline():
    # One byte every 0.2 s never trips the 3 s idle timeout; only the total deadline ends it.
    rule = FaultRule("trickle", times=99, interval_s=0.2)
    async with LoopbackServer(faults=[rule]) as server:
        result = await _complete(
            server, retry=RetryPolicy(max_attempts=1), request_timeout_s=3, request_deadline_s=1.5
        )
    assert isinstance(result, RequestFailure) and result.kind == "transient"
    assert "no complete answer within request_deadline_s (1.5 s)" in result.message


async def test_a_server_that_never_answers_hits_the_idle_timeout():
    async with LoopbackServer(faults=[FaultRule("never", times=99)]) as server:
        result = await _complete(server, retry=RetryPolicy(max_attempts=1), request_timeout_s=0.5)
    assert isinstance(result, RequestFailure) and result.kind == "transient"


async def test_retry_after_is_capped_at_max_retry_after_s_and_reported():
    waits: list[tuple[float, float]] = []
    rule = FaultRule("status", times=1, status=429, retry_after="3600")
    async with LoopbackServer(faults=[rule]) as server:
        result = await _complete(server, hook=lambda wait, asked: waits.append((wait, asked)), max_retry_after_s=0.2)
    assert isinstance(result, Completion)
    [(wait, asked)] = waits
    assert asked == 3600 and wait < 1.0, "the hour the server asked for is cut to the model's cap"


async def test_credentials_in_a_url_never_reach_an_error_message():
    async with LoopbackServer() as server:
        dead_url = server.base_url.replace("http://", "http://alice:s3cret@")
    spec = ModelSpec(name="m", base_urls=[dead_url])  # the server is gone: nothing listens there now
    async with aiohttp.ClientSession() as session:
        failure = await EndpointClient(session, spec, spec.urls()[0], RetryPolicy(max_attempts=1)).complete(
            MESSAGES, PARAMS
        )
    with pytest.raises(ConnectionError) as unreachable:
        await preflight([spec])
    assert isinstance(failure, RequestFailure)
    for message in (failure.message, str(unreachable.value)):
        assert "s3cret" not in message and "alice" not in message
    assert "<redacted>@127.0.0.1" in str(unreachable.value)


def test_a_capped_retry_after_is_said_once_and_shown_in_the_progress_line():
    console = Console(file=io.StringIO(), width=300, force_terminal=False)
    progress = RunProgress("r", console=console)
    progress.start(10)
    progress.note_retry_after("m", 300.0, 3600.0)
    progress.note_retry_after("m", 300.0, 3600.0)
    progress.finish()
    text = console.file.getvalue()
    assert text.count("the server asked to wait 3600 s (Retry-After); waiting 300 s") == 1
    assert "m: Retry-After 3600s, waiting 300s (capped)" in text


async def test_the_deadline_watch_leaves_other_cancellations_alone():
    watch = DeadlineWatch(deadline_s=30)

    async def request() -> None:
        task = watch.start()
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            assert watch.claim(task) is None
            raise
        finally:
            watch.stop(task)

    job = asyncio.ensure_future(request())
    await asyncio.sleep(0.01)
    job.cancel()  # as Ctrl-C does: it must stay a cancellation, not become a timeout
    with pytest.raises(asyncio.CancelledError):
        await job
