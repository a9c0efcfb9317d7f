"""Strategies served live by `serve-router`'s gateway, next to the Avengers: real loopback members whose
answers are scripted (so the right aggregate is known), the openai SDK against the real gateway server."""

from __future__ import annotations

import contextlib
import re
from collections import Counter

import aiohttp
import openai
import pytest

from harness.config import ModelSpec
from harness.serving.gateway.request_log import read_log
from tests.gateway.conftest import answer_b, make_gateway, math_prompt, right_sum, toy_tasks  # noqa: F401
from tests.gateway.helpers import ScriptedMember

CANDIDATE = re.compile(r"\[answer \d+\]\n(.*?)(?=\n\n\[answer|\Z)", re.S)
QUESTION = [{"role": "user", "content": "What is 2 + 2? Put the answer in \\boxed{}."}]


def says(text: str) -> ScriptedMember:
    return ScriptedMember(lambda body: [text] * int(body.get("n", 1)))


def majority_of_candidates(body) -> list[str]:
    """A scripted aggregator: the most common candidate listed in its prompt (so the aggregate is known)."""
    found = CANDIDATE.findall(body["messages"][-1]["content"])
    return [Counter(a.strip() for a in found).most_common(1)[0][0] if found else "no candidates"]


MOA = {"kind": "moa", "proposers": ["p1", "p2", "p3"], "aggregator": "agg"}


@contextlib.asynccontextmanager
async def served(make_gateway, strategies: dict[str, dict], request_log=None, **members: ScriptedMember):  # noqa: F811
    """The toy router's three models plus ``members`` on loopback, ``strategies`` as pool entries."""
    everyone = {
        "mather": ScriptedMember(right_sum),
        "picker": ScriptedMember(answer_b),
        "backup": says("\\boxed{0}"),
        **members,
    }
    for member in everyone.values():
        await member.start()
    pool = {name: ModelSpec(name=name, base_urls=[m.base_url]) for name, m in everyone.items()}
    pool |= {name: ModelSpec(name=name, strategy=s) for name, s in strategies.items()}
    try:
        async with make_gateway(pool, request_log=request_log) as (url, gateway):
            yield openai.AsyncOpenAI(base_url=url, api_key="unused", max_retries=0), everyone, gateway
    finally:
        for member in everyone.values():
            await member.stop()


async def test_moa_is_served_under_its_own_name_with_every_call_in_the_audit(make_gateway, tmp_path):  # noqa: F811
    log_path = tmp_path / "requests.jsonl"
    async with served(
        make_gateway,
        {"moa": MOA},
        request_log=log_path,
        p1=says("\\boxed{4}"),
        p2=says("\\boxed{4}"),
        p3=ScriptedMember(lambda body: ["never sent"], fail_status=400),
        agg=ScriptedMember(majority_of_candidates),
    ) as (client, members, gateway):
        listed = [m.id for m in (await client.models.list()).data]
        reply = await client.chat.completions.create(model="moa", messages=QUESTION, seed=11)
        avengers = await client.chat.completions.create(
            model="avengers", messages=[{"role": "user", "content": math_prompt(2, 3)}]
        )
        metrics_url = str(client.base_url).rstrip("/").removesuffix("/v1") + "/metrics"
        async with aiohttp.ClientSession() as session, session.get(metrics_url) as r:
            metrics = await r.text()

    assert listed == ["avengers", "moa"]
    assert reply.model == "moa" and reply.object == "chat.completion"
    assert reply.choices[0].message.content == "\\boxed{4}"
    assert avengers.choices[0].message.content == "2 plus 3 is \\boxed{5}.", "the router is still served"
    prompt = members["agg"].bodies[0]["messages"][-1]["content"]
    assert CANDIDATE.findall(prompt) == ["\\boxed{4}", "\\boxed{4}"], "the failed proposer is skipped"
    assert members["p1"].bodies[0]["seed"] == 11

    audit = reply.model_extra["avengers"]
    assert audit["strategy"] == "moa" and audit["kind"] == "moa"
    calls = audit["choices"][0]["calls"]
    assert sorted((c["step"], c["member"], c["ok"]) for c in calls) == [
        ("aggregate", "agg", True),
        ("propose.1", "p1", True),
        ("propose.1", "p2", True),
        ("propose.1", "p3", False),
    ]
    failed = next(c for c in calls if not c["ok"])
    assert "HTTP 400" in failed["error"] and failed["response"] is None
    assert calls[-1]["member"] == "agg" and calls[-1]["response"] == "\\boxed{4}"
    assert reply.usage.completion_tokens == sum(c["completion_tokens"] or 0 for c in calls)

    logged = read_log(log_path)[0]
    assert logged["status"] == 200 and logged["strategy"] == "moa"
    assert [c["member"] for c in logged["choices"][0]["calls"]] == [c["member"] for c in calls]
    assert 'avengers_strategy_requests_total{outcome="ok",strategy="moa"} 1' in metrics
    assert 'avengers_model_calls_total{model="p3",outcome="error"}' in metrics


def moa_all_saying_one(make_gateway):  # noqa: F811
    return served(make_gateway, {"moa": MOA}, p1=says("1"), p2=says("1"), p3=says("1"), agg=says("1"))


async def test_unknown_model_is_an_openai_404_naming_what_is_served(make_gateway):  # noqa: F811
    async with moa_all_saying_one(make_gateway) as (client, members, _):
        with pytest.raises(openai.NotFoundError) as caught:
            await client.chat.completions.create(model="mixture", messages=QUESTION)
    error = caught.value.body
    assert error["code"] == "model_not_found" and error["param"] == "model"
    assert "'avengers', 'moa'" in error["message"]
    assert all(m.calls == 0 for m in members.values())


async def test_every_proposer_failing_is_a_502_and_the_aggregator_is_not_asked(make_gateway):  # noqa: F811
    broken = {f"p{i}": ScriptedMember(lambda body: ["x"], fail_status=400) for i in (1, 2, 3)}
    async with served(make_gateway, {"moa": MOA}, agg=ScriptedMember(majority_of_candidates), **broken) as (
        client,
        members,
        _,
    ):
        with pytest.raises(openai.APIStatusError) as caught:
            await client.chat.completions.create(model="moa", messages=QUESTION)
    assert caught.value.status_code == 502
    assert caught.value.body["code"] == "strategy_failed"
    assert "every proposer failed" in caught.value.body["message"]
    assert members["agg"].calls == 0


async def test_moa_oracle_uses_the_recognised_task_s_proposers_and_streams(make_gateway):  # noqa: F811
    oracle = {**MOA, "proposers_by_task": {"toy_math": ["p2", "p3"]}}
    async with served(
        make_gateway,
        {"moa-oracle": oracle},
        p1=says("wrong"),
        p2=says("\\boxed{5}"),
        p3=says("\\boxed{5}"),
        agg=ScriptedMember(majority_of_candidates),
    ) as (client, members, _):
        messages = [{"role": "user", "content": math_prompt(2, 3)}]
        stream = await client.chat.completions.create(model="moa-oracle", messages=messages, stream=True)
        pieces, extras = [], []
        async for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                pieces.append(chunk.choices[0].delta.content)
            if chunk.model_extra and "avengers" in chunk.model_extra:
                extras.append(chunk.model_extra["avengers"])
        legacy = await client.completions.create(model="moa-oracle", prompt=math_prompt(2, 3))
    assert "".join(pieces) == legacy.choices[0].text == "\\boxed{5}"
    assert extras[-1]["task"] == "toy_math", "the prompt was recognised as the toy_math task"
    assert members["p1"].calls == 0, "the oracle's proposers for toy_math are p2 and p3"


async def test_symbolic_moe_recruits_by_the_named_skills_and_llm_router_answers_with_its_pick(make_gateway):  # noqa: F811
    strategies = {
        "symbolic-moe": {
            "kind": "symbolic_moe",
            "annotator": "annotator",
            "aggregator": "agg",
            "recruit": 2,
            "profiles": {"p1": {"biology": 0.9}, "p2": {"algebra": 0.8}, "p3": {"algebra": 0.6}},
        },
        "llm-router": {
            "kind": "llm_router",
            "router": "annotator",
            "descriptions": {"p1": "biology", "p2": "maths"},
        },
    }
    annotator = ScriptedMember(
        lambda body: ["algebra, arithmetic" if "skills" in body["messages"][-1]["content"] else "p2"]
    )
    async with served(
        make_gateway,
        strategies,
        annotator=annotator,
        p1=says("\\boxed{5}"),
        p2=says("\\boxed{4}"),
        p3=says("\\boxed{4}"),
        agg=ScriptedMember(majority_of_candidates),
    ) as (client, members, _):
        listed = [m.id for m in (await client.models.list()).data]
        moe = await client.chat.completions.create(model="symbolic-moe", messages=QUESTION, n=2, seed=1)
        routed = await client.chat.completions.create(model="llm-router", messages=QUESTION)
    assert listed == ["avengers", "symbolic-moe", "llm-router"]
    assert [c.message.content for c in moe.choices] == ["\\boxed{4}", "\\boxed{4}"]
    assert members["p1"].calls == 0, "p1's profile has no algebra"
    audit = moe.model_extra["avengers"]["choices"]
    assert len(audit) == 2 and audit[0]["calls"][0]["note"].startswith("recruited p2, p3")
    seeds = {body["seed"] for body in members["p2"].bodies[:2]}  # the llm-router's call comes after
    assert seeds == {1, 1 + 7919}, "each choice samples with its own seed"
    assert "seed" not in members["p2"].bodies[2], "an unseeded request stays unseeded"

    assert routed.choices[0].message.content == "\\boxed{4}"
    calls = routed.model_extra["avengers"]["choices"][0]["calls"]
    assert [(c["step"], c["member"]) for c in calls] == [("route", "annotator"), ("answer", "p2")]
    assert calls[0]["note"] == "picked p2"


async def test_avengers_options_are_refused_for_a_strategy(make_gateway):  # noqa: F811
    async with moa_all_saying_one(make_gateway) as (client, _, _gateway):
        with pytest.raises(openai.BadRequestError) as caught:
            await client.chat.completions.create(
                model="moa", messages=QUESTION, extra_body={"avengers": {"samples": 3}}
            )
    assert caught.value.body["param"] == "avengers"


def test_a_strategy_may_not_take_the_gateway_s_name(toy_tasks):  # noqa: F811
    from harness.serving.gateway.server import Gateway, GatewaySettings
    from tests.gateway.conftest import fit_toy_router
    from tests.gateway.helpers import BowEmbedder

    pool = [ModelSpec(name=n, base_urls=["http://127.0.0.1:9/v1"]) for n in ("mather", "picker", "backup")]
    pool.append(ModelSpec(name="avengers", strategy={**MOA, "proposers": ["mather"], "aggregator": "picker"}))
    with pytest.raises(ValueError, match="gateway's own model name"):
        Gateway(fit_toy_router(BowEmbedder()), pool, GatewaySettings(), embedder=BowEmbedder())


def test_serve_router_reads_the_strategies_from_the_pool_file(tmp_path, toy_tasks):  # noqa: F811
    from harness.cli import build_parser
    from harness.serving.gateway.cli import build_gateway
    from tests.gateway.conftest import fit_toy_router
    from tests.gateway.helpers import BowEmbedder

    class EndpointSpec(BowEmbedder):  # the artifact names an endpoint; building the gateway embeds nothing
        spec = "openai:bow@http://127.0.0.1:9/v1"

    artifact = fit_toy_router(EndpointSpec()).save(tmp_path / "router.npz")
    pool = tmp_path / "pool.yaml"
    pool.write_text(
        "models:\n"
        + "".join(
            f"  - {{name: {n}, base_url: http://127.0.0.1:9/v1}}\n" for n in ("mather", "picker", "backup")
        )
        + "  - {name: p1, base_url: http://127.0.0.1:9/v1}\n"
        + "  - name: moa\n    strategy: {kind: moa, proposers: [p1, mather], aggregator: picker}\n"
    )
    args = build_parser().parse_args(
        [
            "serve-router",
            "--router",
            str(artifact),
            "--models",
            str(pool),
            "--tasks-dir",
            str(tmp_path / "tasks"),
        ]
    )
    gateway = build_gateway(args)
    assert gateway.strategies.names == ["moa"]
    assert set(gateway.strategies.member_specs) == {"p1", "mather", "picker"}
    assert [s.name for s in gateway.specs] == ["mather", "picker", "backup"], "the router's models unchanged"
