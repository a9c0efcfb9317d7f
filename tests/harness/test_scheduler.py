"""The scheduler end to end against a real loopback server: every sample once, graded, bounded, resumable."""

from __future__ import annotations

import sqlite3

import pytest

from harness.config import ModelSpec
from harness.evaluate import EvalRequest, run_eval
from harness.scheduler import SamplingOverrides, sample_seed
from harness.serving.loopback_server import FaultRule, LoopbackServer
from tests.harness.conftest import expected_score, stored_rows, toy_answer, toy_request


def _request(toy_env, server: LoopbackServer, *, samples=3, concurrency=None, **spec) -> EvalRequest:
    return toy_request(toy_env, server.base_url, samples=samples, seed=11, concurrency=concurrency, spec=spec)


async def test_every_sample_is_stored_once_and_graded(toy_env):
    async with LoopbackServer(answer=toy_answer) as server:
        outcome = await run_eval(_request(toy_env, server, samples=3, supports_n=True))
    rows = stored_rows(outcome.run_dir)
    n = toy_env["n"]
    assert len(rows) == n * 3
    assert {(r.item_id, r.sample_index) for r in rows} == {(f"q{i}", s) for i in range(n) for s in range(3)}
    assert server.request_count == n, "with n supported, one request carries all 3 samples"
    assert all(body["n"] == 3 for body in server.requests)
    for row in rows:
        index = int(row.item_id[1:])
        assert row.score == expected_score(index), row
        assert row.grade_reason == ("right" if expected_score(index) else "wrong")
        assert row.finish_reason == "stop" and row.error is None
        assert row.params.max_tokens == 32 and row.params.stop == ["</s>", "Q:"]
    assert (outcome.run_dir / "manifest.json").is_file()
    assert (outcome.run_dir / "report.md").is_file()


async def test_server_ignoring_n_is_detected_and_each_sample_gets_its_own_seed(toy_env):
    async with LoopbackServer(answer=toy_answer, supports_n=False) as server:
        outcome = await run_eval(_request(toy_env, server, samples=4, concurrency=1))
    rows = stored_rows(outcome.run_dir)
    n = toy_env["n"]
    assert len(rows) == n * 4
    # The first request asks for n=4 and gets one choice; everything after goes one sample per request.
    assert server.request_count == n * 4
    assert sum(1 for b in server.requests if b.get("n", 1) > 1) == 1
    seeds = [b["seed"] for b in server.requests]
    assert len(set(seeds)) == len(seeds), "repeated samples of an item must not share a seed"
    for row in rows:
        assert row.seed == sample_seed(11, "toy_math", row.item_id, row.sample_index)


async def test_concurrency_is_bounded_and_saturated(toy_env):
    async with LoopbackServer(answer=toy_answer, delay_s=0.2, supports_n=False) as server:
        await run_eval(_request(toy_env, server, samples=2, concurrency=4))
    assert server.peak_in_flight == 4


async def test_replicas_share_the_load(toy_env):
    async with LoopbackServer(answer=toy_answer, delay_s=0.05, supports_n=False) as a, LoopbackServer(
        answer=toy_answer, delay_s=0.05, supports_n=False
    ) as b:
        request = _request(toy_env, a, samples=2, concurrency=3)
        request.models[0] = ModelSpec(name="toy", base_urls=[a.base_url, b.base_url])
        outcome = await run_eval(request)
    assert len(stored_rows(outcome.run_dir)) == toy_env["n"] * 2
    assert a.request_count > 0 and b.request_count > 0
    assert a.request_count + b.request_count == toy_env["n"] * 2


async def test_failures_are_rows_and_resume_retries_only_transient_ones(toy_env):
    faults = [
        FaultRule("status", times=99, status=400, match="Compute 3 + 9.", message="prompt too long"),
        FaultRule("status", times=99, status=503, match="Compute 5 + 15."),
    ]
    async with LoopbackServer(answer=toy_answer, supports_n=False, faults=faults) as server:
        outcome = await run_eval(_request(toy_env, server, samples=1, max_attempts=2))
    rows = {r.item_id: r for r in stored_rows(outcome.run_dir)}
    assert len(rows) == toy_env["n"]
    assert rows["q3"].error_kind == "client" and "prompt too long" in rows["q3"].error
    assert rows["q5"].error_kind == "transient" and "503" in rows["q5"].error
    assert rows["q3"].score is None and rows["q5"].score is None
    assert outcome.request_errors == 2

    async with LoopbackServer(answer=toy_answer, supports_n=False) as healthy:
        await run_eval(_request(toy_env, healthy, samples=1, max_attempts=2))
    assert healthy.request_count == 1, "only the transiently failed sample is asked again"
    rows = {r.item_id: r for r in stored_rows(outcome.run_dir)}
    assert rows["q5"].error is None and rows["q5"].score == 0.0
    assert rows["q3"].error_kind == "client"


async def test_resume_with_other_sampling_settings_is_refused(toy_env):
    async with LoopbackServer(answer=toy_answer) as server:
        request = _request(toy_env, server, samples=1)
        await run_eval(request)
        changed = request.model_copy(update={"sampling": SamplingOverrides(samples=1, seed=11, temperature=0.1)})
        with pytest.raises(ValueError, match="different settings"):
            await run_eval(changed)


async def test_a_changed_prompt_redoes_its_samples(toy_env):
    async with LoopbackServer(answer=toy_answer) as server:
        outcome = await run_eval(_request(toy_env, server, samples=1))
        first = server.request_count
        task_file = toy_env["tasks_dir"] / "toy_math.yaml"
        task_file.write_text(task_file.read_text().replace("Put the final answer", "Give the final answer"))
        await run_eval(_request(toy_env, server, samples=1))
    assert first == toy_env["n"] and server.request_count == 2 * toy_env["n"]
    with sqlite3.connect(outcome.run_dir / "results.sqlite") as db:
        assert db.execute("SELECT COUNT(*) FROM samples").fetchone()[0] == toy_env["n"]
