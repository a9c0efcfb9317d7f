"""The endpoint client against a real aiohttp server on loopback: retries, timeouts, failures as values."""

from __future__ import annotations

import time

import aiohttp
import pytest

from harness.client import Completion, EndpointClient, RequestFailure, RetryPolicy
from harness.config import ModelSpec
from harness.serving.loopback_server import FaultRule, LoopbackServer
from harness.taskset import ChatMessage
from results.records import SamplingParams

MESSAGES = [ChatMessage(role="user", content="What is 6*7?")]
PARAMS = SamplingParams(temperature=0.7, top_p=0.95, max_tokens=64, stop=["</s>", "\n\nQ:", "Question:", "x", "y"])
FAST_RETRY = RetryPolicy(max_attempts=4, initial_backoff_s=0.01, max_backoff_s=0.05)


async def _complete(server: LoopbackServer, *, retry=FAST_RETRY, n=1, seed=None, **spec_fields):
    spec = ModelSpec(name="m", base_urls=[server.base_url], **spec_fields)
    async with aiohttp.ClientSession() as session:
        client = EndpointClient(session, spec, spec.urls()[0], retry)
        return await client.complete(MESSAGES, PARAMS, n=n, seed=seed)


async def test_success_parses_text_finish_reason_usage_and_sends_full_request():
    async with LoopbackServer(answer=lambda body: "The answer is 42.") as server:
        result = await _complete(server, seed=7, extra_body={"top_k": 20})
    assert isinstance(result, Completion)
    assert [c.text for c in result.choices] == ["The answer is 42."]
    assert result.choices[0].finish_reason == "stop"
    assert result.prompt_tokens == 3 and result.completion_tokens == 4  # the server counts words
    body = server.requests[0]
    assert body["stop"] == PARAMS.stop  # the stop list is never truncated
    assert body["seed"] == 7 and body["top_k"] == 20 and body["max_tokens"] == 64
    assert "n" not in body


async def test_429_with_retry_after_is_honoured_then_succeeds():
    rule = FaultRule("status", times=2, status=429, retry_after="1")
    async with LoopbackServer(faults=[rule]) as server:
        started = time.perf_counter()
        result = await _complete(server)
        elapsed = time.perf_counter() - started
    assert isinstance(result, Completion)
    assert len(server.requests) == 3
    assert elapsed >= 2.0, "two Retry-After: 1 answers must cost at least two seconds"


@pytest.mark.parametrize("fault", ["drop", "malformed"])
async def test_dropped_connections_and_malformed_json_are_retried(fault):
    async with LoopbackServer(faults=[FaultRule(fault, times=2)]) as server:
        result = await _complete(server)
    assert isinstance(result, Completion)
    assert server.request_count == 3


async def test_500_until_attempts_run_out_becomes_a_failure_value():
    async with LoopbackServer(faults=[FaultRule("status", times=99, status=503, message="overloaded")]) as server:
        result = await _complete(server)
    assert isinstance(result, RequestFailure)
    assert result.kind == "transient" and result.status == 503 and result.attempts == 4
    assert "overloaded" in result.message
    assert server.request_count == 4


async def test_400_is_not_retried_and_keeps_the_server_message():
    rule = FaultRule("status", times=99, status=400, message="max_tokens is too large for this model")
    async with LoopbackServer(faults=[rule]) as server:
        result = await _complete(server)
    assert isinstance(result, RequestFailure)
    assert result.kind == "client" and result.status == 400 and result.attempts == 1
    assert "max_tokens is too large" in result.message
    assert server.request_count == 1


async def test_idle_read_timeout_is_transient_and_retried():
    async with LoopbackServer(faults=[FaultRule("stall", times=1)]) as server:
        started = time.perf_counter()
        result = await _complete(server, request_timeout_s=0.5)
        elapsed = time.perf_counter() - started
    assert isinstance(result, Completion), "the second attempt is not stalled and must succeed"
    assert server.request_count == 2
    assert 0.5 <= elapsed < 5


async def test_slow_answer_within_the_idle_timeout_is_not_killed():
    async with LoopbackServer(delay_s=1.2) as server:
        result = await _complete(server, request_timeout_s=3)
    assert isinstance(result, Completion) and server.request_count == 1


async def test_n_choices_and_a_server_that_ignores_n():
    async with LoopbackServer(answer=lambda b: "A") as server:
        many = await _complete(server, n=3)
    async with LoopbackServer(answer=lambda b: "A", supports_n=False) as server:
        one = await _complete(server, n=3)
    assert isinstance(many, Completion) and len(many.choices) == 3
    assert isinstance(one, Completion) and len(one.choices) == 1


async def test_completions_mode_sends_a_prompt_and_reads_text():
    async with LoopbackServer(answer=lambda body: "Paris") as server:
        result = await _complete(server, mode="completions")
    assert isinstance(result, Completion) and result.choices[0].text == "Paris"
    assert "prompt" in server.requests[0] and "messages" not in server.requests[0]
    assert "What is 6*7?" in server.requests[0]["prompt"]


async def test_api_key_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("TEST_HARNESS_KEY", "sk-test")
    async with LoopbackServer() as server:
        result = await _complete(server, api_key_env="TEST_HARNESS_KEY")
    assert isinstance(result, Completion)
    assert server.authorizations == ["Bearer sk-test"]
