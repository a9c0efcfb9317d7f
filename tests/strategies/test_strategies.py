"""Online strategies against real loopback members whose answers are scripted, so the right aggregate is known."""

from __future__ import annotations

import contextlib
import re
from collections import Counter

import aiohttp
import pytest

from harness.client import RequestFailure
from harness.config import ModelSpec
from harness.evaluate import EvalRequest, run_eval
from harness.scheduler import SamplingOverrides
from harness.serving.loopback_server import FaultRule, LoopbackServer
from harness.strategies.audit import StrategyLog
from harness.strategies.endpoint import strategy_client
from harness.taskset import ChatMessage
from harness.yaml_model import ConfigFileError
from results.records import SamplingParams
from results.store import ResultsStore
from tests.harness.conftest import toy_answer

PARAMS = SamplingParams(temperature=0.7, top_p=1.0, max_tokens=64, stop=[])
QUESTION = [ChatMessage(role="user", content="What is 2 + 2? Put the answer in \\boxed{}.")]
CANDIDATE = re.compile(r"\[answer \d+\]\n(.*?)(?=\n\n\[answer|\Z)", re.S)


def fixed(text: str):
    return lambda body: text


def majority_of_candidates(body: dict) -> str:
    """A scripted aggregator: the most common candidate answer listed in its prompt."""
    found = CANDIDATE.findall(body["messages"][-1]["content"])
    return Counter(a.strip() for a in found).most_common(1)[0][0] if found else "no candidates"


@contextlib.asynccontextmanager
async def members(**answers):
    """name -> answer function (or LoopbackServer): running loopback servers and their ModelSpecs."""
    async with contextlib.AsyncExitStack() as stack:
        servers = {}
        for name, answer in answers.items():
            server = answer if isinstance(answer, LoopbackServer) else LoopbackServer(answer=answer)
            servers[name] = await stack.enter_async_context(server)
        specs = [ModelSpec(name=n, base_urls=[s.base_url], max_attempts=1) for n, s in servers.items()]
        session = await stack.enter_async_context(aiohttp.ClientSession())
        yield servers, specs, session


def client_for(session, specs, strategy: dict, db, index=None):
    spec = ModelSpec(name="mix", strategy=strategy)
    return strategy_client(session, spec, [*specs, spec], db, index)


MOA = {"kind": "moa", "proposers": ["p1", "p2", "p3"], "aggregator": "agg"}


async def test_moa_aggregator_sees_every_proposer_answer_and_its_answer_is_final(tmp_path):
    db = tmp_path / "r.sqlite"
    async with members(
        p1=fixed("\\boxed{4}"), p2=fixed("\\boxed{4}"), p3=fixed("\\boxed{5}"), agg=majority_of_candidates
    ) as (servers, specs, session):
        result = await client_for(session, specs, MOA, db).complete(QUESTION, PARAMS, seed=7)
    assert result.choices[0].text == "\\boxed{4}"
    prompt = servers["agg"].requests[0]["messages"]
    assert prompt[0]["role"] == "system" and "What is 2 + 2?" in prompt[-1]["content"]
    assert sorted(CANDIDATE.findall(prompt[-1]["content"])) == ["\\boxed{4}", "\\boxed{4}", "\\boxed{5}"]
    rows = StrategyLog(db).calls("mix", seed=7)
    assert [(r["step"], r["member"]) for r in rows][-1] == ("aggregate", "agg")
    assert sorted(r["member"] for r in rows if r["step"] == "propose.1") == ["p1", "p2", "p3"]
    assert all(r["error"] is None for r in rows)


async def test_moa_survives_one_failing_proposer_and_records_the_failure(tmp_path):
    db = tmp_path / "r.sqlite"
    broken = LoopbackServer(answer=fixed("\\boxed{4}"), faults=[FaultRule("status", times=10, status=400)])
    async with members(
        p1=fixed("\\boxed{5}"), p2=fixed("\\boxed{5}"), p3=broken, agg=majority_of_candidates
    ) as (servers, specs, session):
        result = await client_for(session, specs, MOA, db).complete(QUESTION, PARAMS, seed=7)
    assert result.choices[0].text == "\\boxed{5}"
    assert CANDIDATE.findall(servers["agg"].requests[0]["messages"][-1]["content"]) == ["\\boxed{5}"] * 2
    failed = [r for r in StrategyLog(db).calls("mix") if r["error"]]
    assert [(r["member"], r["step"]) for r in failed] == [("p3", "propose.1")]
    assert "HTTP 400" in failed[0]["error"]


async def test_moa_fails_the_sample_when_every_proposer_fails(tmp_path):
    faults = [FaultRule("status", times=10, status=400)]
    async with members(
        p1=LoopbackServer(faults=list(faults)),
        p2=LoopbackServer(faults=[FaultRule("status", times=10, status=400)]),
        p3=LoopbackServer(faults=[FaultRule("status", times=10, status=400)]),
        agg=majority_of_candidates,
    ) as (servers, specs, session):
        result = await client_for(session, specs, MOA, tmp_path / "r.sqlite").complete(
            QUESTION, PARAMS, seed=1
        )
    assert isinstance(result, RequestFailure) and "every proposer failed" in result.message
    assert servers["agg"].request_count == 0


async def test_resume_reuses_stored_calls_and_retries_only_what_failed(tmp_path):
    db = tmp_path / "r.sqlite"
    agg = LoopbackServer(answer=majority_of_candidates, faults=[FaultRule("status", times=1, status=400)])
    async with members(p1=fixed("A"), p2=fixed("A"), p3=fixed("B"), agg=agg) as (servers, specs, session):
        first = await client_for(session, specs, MOA, db).complete(QUESTION, PARAMS, seed=3)
        assert isinstance(first, RequestFailure)
        again = await client_for(session, specs, MOA, db).complete(QUESTION, PARAMS, seed=3)
        third = await client_for(session, specs, MOA, db).complete(QUESTION, PARAMS, seed=3)
    assert again.choices[0].text == third.choices[0].text == "A"
    assert [servers[p].request_count for p in ("p1", "p2", "p3")] == [1, 1, 1]
    assert servers["agg"].request_count == 2, "one failed attempt, one retry on resume, none after"


async def test_moa_oracle_uses_the_task_s_own_proposers_and_layers_pass_answers_on(tmp_path):
    oracle = {**MOA, "layers": 2, "proposers_by_task": {"math": ["p2", "p3"]}}
    key_index = {}
    from harness.strategies.audit import prompt_key

    key_index[prompt_key([m.model_dump() for m in QUESTION])] = ("math", "q1")
    async with members(p1=fixed("wrong"), p2=fixed("4"), p3=fixed("4"), agg=majority_of_candidates) as (
        servers,
        specs,
        session,
    ):
        result = await client_for(session, specs, oracle, tmp_path / "r.sqlite", key_index).complete(
            QUESTION, PARAMS, seed=5
        )
    assert result.choices[0].text == "4"
    assert servers["p1"].request_count == 0
    assert servers["p2"].request_count == 2, "one call per layer"
    second_layer = servers["p2"].requests[1]["messages"][-1]["content"]
    assert CANDIDATE.findall(second_layer) == ["4", "4"]
    rows = StrategyLog(tmp_path / "r.sqlite").calls("mix")
    assert {(r["task"], r["item_id"]) for r in rows} == {("math", "q1")}


SYMBOLIC = {
    "kind": "symbolic_moe",
    "annotator": "tagger",
    "aggregator": "agg",
    "recruit": 2,
    "profiles": {"e1": {"algebra": 1.0}, "e2": {"geometry": 0.5}, "e3": {"biology": 2.0}},
}


async def test_symbolic_moe_recruits_the_experts_whose_skills_match(tmp_path):
    db = tmp_path / "r.sqlite"
    async with members(
        tagger=fixed("Algebra, geometry"),
        e1=fixed("x"),
        e2=fixed("x"),
        e3=fixed("y"),
        agg=majority_of_candidates,
    ) as (servers, specs, session):
        result = await client_for(session, specs, SYMBOLIC, db).complete(QUESTION, PARAMS, seed=2)
    assert result.choices[0].text == "x"
    assert [servers[e].request_count for e in ("e1", "e2", "e3")] == [1, 1, 0]
    note = next(r["note"] for r in StrategyLog(db).calls("mix") if r["step"] == "skills")
    assert note.startswith("recruited e1, e2")


ROUTER = {
    "kind": "llm_router",
    "router": "judge",
    "descriptions": {"coder": "good at code", "mathematician": "good at maths"},
    "fallback": "coder",
}


@pytest.mark.parametrize(
    ("pick", "answered_by", "note"),
    [
        ("I would send it to mathematician.", "mathematician", "picked mathematician"),
        ("no idea", "coder", "fell back"),
    ],
)
async def test_llm_router_answers_with_the_model_it_names(tmp_path, pick, answered_by, note):
    db = tmp_path / "r.sqlite"
    async with members(judge=fixed(pick), coder=fixed("from coder"), mathematician=fixed("from maths")) as (
        servers,
        specs,
        session,
    ):
        result = await client_for(session, specs, ROUTER, db).complete(QUESTION, PARAMS, seed=2)
    expected = {"coder": "from coder", "mathematician": "from maths"}[answered_by]
    assert result.choices[0].text == expected
    assert "coder: good at code" in servers["judge"].requests[0]["messages"][0]["content"]
    route = next(r for r in StrategyLog(db).calls("mix") if r["step"] == "route")
    assert note in route["note"]


def test_strategy_naming_an_unknown_member_is_an_error_naming_the_entry():
    spec = ModelSpec(name="mix", strategy=MOA)
    with pytest.raises(
        ConfigFileError, match=r"model mix: strategy moa names models the pool lacks: agg, p1"
    ):
        strategy_client(
            None,
            spec,
            [
                ModelSpec(name="p2", base_urls=["http://x/v1"]),
                ModelSpec(name="p3", base_urls=["http://x/v1"]),
                spec,
            ],
            ":memory:",
        )


async def test_harness_eval_grades_a_strategy_like_a_model_and_audits_every_call(toy_env):
    async with LoopbackServer(answer=toy_answer) as toy, LoopbackServer(answer=majority_of_candidates) as agg:
        pool = [
            ModelSpec(name="toy", base_urls=[toy.base_url]),
            ModelSpec(name="agg", base_urls=[agg.base_url]),
            ModelSpec(name="moa-toy", strategy={"kind": "moa", "proposers": ["toy"], "aggregator": "agg"}),
        ]
        request = EvalRequest(
            tasks="toy_math", models=pool, sampling=SamplingOverrides(samples=1, seed=11), run="r",
            output=toy_env["runs"], grading_workers=1, show_progress=False,
        )  # fmt: skip
        outcome = await run_eval(request)
    with ResultsStore(outcome.run_dir) as store:
        rows = {(r.model, r.item_id): r for r in store.iter_samples()}
    n = toy_env["n"]
    for i in range(n):
        single, mixed = rows[("toy", f"q{i}")], rows[("moa-toy", f"q{i}")]
        assert mixed.response == single.response and mixed.score == single.score is not None
    calls = StrategyLog(outcome.run_dir / "results.sqlite").calls("moa-toy")
    assert len(calls) == 2 * n
    assert {r["item_id"] for r in calls} == {f"q{i}" for i in range(n)} and {r["task"] for r in calls} == {
        "toy_math"
    }
