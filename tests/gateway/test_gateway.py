"""The gateway on loopback: real HTTP members, the openai SDK as client (sync, async, stream)."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import openai
import pytest

from harness.serving.gateway.request_log import read_log
from tests.gateway.conftest import answer_b, math_prompt, pick_prompt, right_sum
from tests.gateway.helpers import ScriptedMember


def _members(**overrides):
    members = {
        "mather": ScriptedMember(right_sum),
        "picker": ScriptedMember(answer_b),
        "backup": ScriptedMember(lambda body: ["I think \\boxed{0}. Answer: A"] * int(body.get("n", 1))),
    }
    members.update(overrides)
    return members


async def _started(members):
    for m in members.values():
        await m.start()
    return members


async def _stopped(members):
    for m in members.values():
        await m.stop()


async def test_sync_sdk_routes_each_query_to_its_clusters_best_model_and_votes(make_gateway, tmp_path):
    members = await _started(_members())
    log_path = tmp_path / "requests.jsonl"
    try:
        async with make_gateway(members, samples=5, request_log=log_path) as (url, _):
            client = openai.OpenAI(base_url=url, api_key="unused", max_retries=0)

            def ask(prompt):
                return client.chat.completions.create(
                    model="avengers", messages=[{"role": "user", "content": prompt}], seed=3, temperature=0.5
                )

            maths = await asyncio.to_thread(ask, math_prompt(20, 22))
            pick = await asyncio.to_thread(ask, pick_prompt(3))
    finally:
        await _stopped(members)

    assert maths.choices[0].message.content == "20 plus 22 is \\boxed{42}."
    info = maths.model_extra["avengers"]
    assert info["models_asked"] == ["mather"] and info["ranking"][0] == "mather"
    assert info["cluster_task"] == "toy_math"
    assert info["answer_format"]["source"] == "prompt:toy_math"
    assert info["query_source"] == "template:toy_math"
    assert info["choices"][0]["votes"] == {"42": 5}
    assert info["per_model"]["mather"]["calls"] == 1 and info["samples_used"] == 5
    assert members["mather"].bodies[0]["n"] == 5, "k samples in one n=k request"
    assert members["mather"].bodies[0]["seed"] == 3 and members["mather"].bodies[0]["temperature"] == 0.5
    # usage sums every sample: the member reported 6 words x 5 choices of completion
    assert maths.usage.completion_tokens == info["per_model"]["mather"]["completion_tokens"] == 25

    assert pick.choices[0].message.content.endswith("Answer: B")
    assert pick.model_extra["avengers"]["models_asked"] == ["picker"]
    assert pick.model_extra["avengers"]["choices"][0]["answer"] == "B"
    assert members["backup"].calls == 0

    lines = read_log(log_path)
    assert [line["status"] for line in lines] == [200, 200]
    assert lines[0]["query"] == "20 + 22" and lines[0]["cluster"] == info["cluster"]
    assert lines[1]["models_asked"] == ["picker"]


async def test_async_sdk_and_stream_give_the_same_voted_answer(make_gateway):
    members = await _started(_members())
    try:
        async with make_gateway(members, samples=3) as (url, _):
            client = openai.AsyncOpenAI(base_url=url, api_key="unused", max_retries=0)
            messages = [{"role": "user", "content": math_prompt(7, 8)}]
            whole = await client.chat.completions.create(model="avengers", messages=messages)
            stream = await client.chat.completions.create(
                model="avengers", messages=messages, stream=True, stream_options={"include_usage": True}
            )
            pieces, extras, usage = [], [], None
            async for chunk in stream:
                if chunk.choices and chunk.choices[0].delta.content:
                    pieces.append(chunk.choices[0].delta.content)
                if chunk.model_extra and "avengers" in chunk.model_extra:
                    extras.append(chunk.model_extra["avengers"])
                if chunk.usage is not None:
                    usage = chunk.usage
            legacy = await client.completions.create(model="avengers", prompt=math_prompt(7, 8))
    finally:
        await _stopped(members)
    assert "".join(pieces) == whole.choices[0].message.content == "7 plus 8 is \\boxed{15}."
    assert extras and extras[-1]["choices"][0]["votes"] == {"15": 3}
    assert usage is not None and usage.completion_tokens == whole.usage.completion_tokens
    assert legacy.choices[0].text == "7 plus 8 is \\boxed{15}."


async def test_the_message_is_the_full_text_of_the_first_sample_of_the_winning_answer(make_gateway):
    texts = [
        "So \\boxed{41}.",
        "Hence \\boxed{42}.",
        "\\boxed{41}",
        "Thus \\boxed{42.0}!",
        "\\boxed{42}",
        "no idea",
    ]
    members = await _started(_members(mather=ScriptedMember(lambda body: texts)))
    try:
        async with make_gateway(members, samples=6) as (url, _), aiohttp.ClientSession() as session:
            body = {"model": "avengers", "messages": [{"role": "user", "content": math_prompt(20, 22)}]}
            async with session.post(url + "/chat/completions", json=body) as response:
                payload = await response.json()
    finally:
        await _stopped(members)
    # 42 / 42.0 / 42 are one answer under the math grader's equivalence (3 votes) against 41 (2)
    assert payload["choices"][0]["message"]["content"] == "Hence \\boxed{42}."
    assert payload["avengers"]["choices"][0]["votes"] == {"41": 2, "42": 3}


def _disagreeing(body) -> list[str]:
    """Agrees with itself on '1 + 1', splits 2:1 on every other sum."""
    if "Compute 1 + 1." in body["messages"][-1]["content"]:
        return ["\\boxed{2}"] * int(body.get("n", 1))
    return ["\\boxed{5}", "\\boxed{6}", "\\boxed{5}"][: int(body.get("n", 1))]


async def test_model_switch_stops_after_a_model_that_agrees_with_itself(make_gateway):
    members = await _started(_members(mather=ScriptedMember(_disagreeing)))
    try:
        async with make_gateway(members, samples=6, top_n=2) as (url, _):
            client = openai.AsyncOpenAI(base_url=url, api_key="unused", max_retries=0)
            agreed = await client.chat.completions.create(
                model="avengers", messages=[{"role": "user", "content": math_prompt(1, 1)}]
            )
            calls_after_agreed = (members["mather"].samples, members["backup"].samples)
            split = await client.chat.completions.create(
                model="avengers", messages=[{"role": "user", "content": math_prompt(2, 3)}]
            )
    finally:
        await _stopped(members)
    assert calls_after_agreed == (3, 0), "the second model is never asked when the first agrees"
    first = agreed.model_extra["avengers"]["choices"][0]
    assert first["mode"] == "model-switch" and first["stopped_early"] and first["models_asked"] == ["mather"]
    info = split.model_extra["avengers"]
    # mather splits 5,6,5; backup (second in the math cluster's ranking) says 0 three times -> 0 wins 3:2
    assert info["models_asked"] == ["mather", "backup"] and info["samples_used"] == 6
    assert info["choices"][0]["votes"] == {"5": 2, "6": 1, "0": 3}
    assert split.choices[0].message.content.startswith("I think \\boxed{0}")


async def test_a_failing_model_falls_back_to_the_next_in_the_ranking_and_says_so(make_gateway):
    members = await _started(_members(mather=ScriptedMember(right_sum, fail_status=500)))
    try:
        async with make_gateway(members, samples=2, member_attempts=1) as (url, gateway):
            client = openai.AsyncOpenAI(base_url=url, api_key="unused", max_retries=0)
            result = await client.chat.completions.create(
                model="avengers", messages=[{"role": "user", "content": math_prompt(1, 2)}]
            )
            metrics = gateway.metrics.render()
    finally:
        await _stopped(members)
    info = result.model_extra["avengers"]
    assert info["models_asked"] == ["backup"]
    assert [f["model"] for f in info["fallbacks"]] == ["mather"] and "HTTP 500" in info["fallbacks"][0][
        "error"
    ]
    assert "avengers_fallbacks_total 1" in metrics
    assert 'avengers_model_calls_total{model="mather",outcome="error"} 1' in metrics


async def test_a_member_that_ignores_n_gets_one_request_per_sample(make_gateway):
    members = await _started(_members(mather=ScriptedMember(right_sum, supports_n=False)))
    try:
        async with make_gateway(members, samples=4) as (url, _):
            client = openai.AsyncOpenAI(base_url=url, api_key="unused", max_retries=0)
            result = await client.chat.completions.create(
                model="avengers", messages=[{"role": "user", "content": math_prompt(2, 2)}], seed=10
            )
    finally:
        await _stopped(members)
    assert members["mather"].calls == 4  # n=4 (1 choice back), then 3 single requests
    assert sorted(b["seed"] for b in members["mather"].bodies[1:]) == [11, 12, 13]
    assert result.model_extra["avengers"]["choices"][0]["votes"] == {"4": 4}


async def test_n_choices_are_independent_votes(make_gateway):
    members = await _started(_members())
    try:
        async with make_gateway(members, samples=2) as (url, _):
            client = openai.AsyncOpenAI(base_url=url, api_key="unused", max_retries=0)
            result = await client.chat.completions.create(
                model="avengers", messages=[{"role": "user", "content": math_prompt(2, 2)}], n=3, seed=1
            )
    finally:
        await _stopped(members)
    assert [c.index for c in result.choices] == [0, 1, 2]
    assert members["mather"].calls == 3 and len({b["seed"] for b in members["mather"].bodies}) == 3
    assert result.model_extra["avengers"]["samples_used"] == 6


async def test_the_request_can_name_the_answer_format_and_the_query(make_gateway):
    members = await _started(_members())
    try:
        async with make_gateway(members, samples=2) as (url, _):
            client = openai.AsyncOpenAI(base_url=url, api_key="unused", max_retries=0)
            # An unrecognised prompt: routed on the text as is, voted with the named grader.
            free = await client.chat.completions.create(
                model="avengers",
                messages=[{"role": "user", "content": "Which colour does fruit number 9 have? Tell me."}],
                extra_body={"avengers": {"answer_format": "choice", "answer_options": {"letters": "ABCD"}}},
            )
            named = await client.chat.completions.create(
                model="avengers",
                messages=[{"role": "user", "content": "Compute 1 + 2. In free form, please."}],
                extra_body={"avengers": {"query": "1 + 2", "answer_format": "none"}},
            )
    finally:
        await _stopped(members)
    info = free.model_extra["avengers"]
    assert info["query_source"] == "last_user_message" and info["models_asked"] == ["picker"]
    assert info["answer_format"] == {"grader": "choice", "options": {"letters": "ABCD"}, "source": "request"}
    named_info = named.model_extra["avengers"]
    assert named_info["query_source"] == "request" and named_info["models_asked"] == ["mather"]
    assert named_info["answer_format"] is None and named_info["choices"][0]["mode"] == "first-sample"
    assert named_info["samples_used"] == 1


@pytest.mark.parametrize(
    ("body", "status", "param"),
    [
        ({"model": "avengers"}, 400, "messages"),
        ({"model": "avengers", "messages": []}, 400, "messages"),
        ({"model": "avengers", "messages": [{"role": "system", "content": "x"}]}, 400, "messages"),
        ({"model": "other", "messages": [{"role": "user", "content": "x"}]}, 404, "model"),
        ({"model": "avengers", "messages": [{"role": "user", "content": "x"}], "n": 0}, 400, "n"),
        (
            {"model": "avengers", "messages": [{"role": "user", "content": "x"}], "temperature": 9},
            400,
            "temperature",
        ),
        ({"model": "avengers", "messages": [{"role": "user", "content": "x"}], "tools": [{}]}, 400, "tools"),
        (
            {
                "model": "avengers",
                "messages": [{"role": "user", "content": "x"}],
                "avengers": {"answer_format": "nope"},
            },
            400,
            "avengers.answer_format",
        ),
        (
            {"model": "avengers", "messages": [{"role": "user", "content": "x"}], "avengers": {"typo": 1}},
            400,
            "avengers.typo",
        ),
    ],
)
async def test_bad_requests_get_openai_style_errors(make_gateway, body, status, param):
    members = await _started(_members())
    try:
        async with make_gateway(members) as (url, _), aiohttp.ClientSession() as session:
            async with session.post(url + "/chat/completions", json=body) as response:
                assert response.status == status
                error = (await response.json())["error"]
            async with session.post(url + "/chat/completions", data=b"{not json") as response:
                assert response.status == 400 and "JSON" in (await response.json())["error"]["message"]
    finally:
        await _stopped(members)
    assert error["param"] == param and error["message"] and error["type"]


async def test_a_saturated_gateway_answers_429_with_retry_after(make_gateway):
    release = asyncio.Event()

    class Slow(ScriptedMember):
        async def _complete(self, request):
            await release.wait()
            return await super()._complete(request)

    members = await _started(_members(mather=Slow(right_sum)))
    try:
        async with make_gateway(members, max_in_flight=1, max_queue=1, retry_after_s=2) as (url, gateway):
            async with aiohttp.ClientSession() as session:
                body = {"model": "avengers", "messages": [{"role": "user", "content": math_prompt(1, 1)}]}
                first = asyncio.create_task(session.post(url + "/chat/completions", json=body))
                second = asyncio.create_task(session.post(url + "/chat/completions", json=body))
                while gateway._admission is None or gateway._admission.waiting < 1:  # noqa: SLF001
                    await asyncio.sleep(0.01)
                async with session.post(url + "/chat/completions", json=body) as third:
                    assert third.status == 429 and third.headers["Retry-After"] == "2"
                    assert (await third.json())["error"]["code"] == "rate_limit_exceeded"
                async with session.get(url.removesuffix("/v1") + "/health") as health:
                    assert (await health.json())["in_flight"] == 1
                release.set()
                for task in (first, second):
                    response = await task
                    assert response.status == 200
                    response.release()
            metrics = gateway.metrics.render()
    finally:
        await _stopped(members)
    assert "avengers_rejected_total 1" in metrics


async def test_models_health_and_metrics_endpoints(make_gateway):
    members = await _started(_members())
    try:
        async with make_gateway(members, samples=2) as (url, _), aiohttp.ClientSession() as session:
            client = openai.AsyncOpenAI(base_url=url, api_key="unused", max_retries=0)
            listed = await client.models.list()
            await client.chat.completions.create(
                model="avengers", messages=[{"role": "user", "content": math_prompt(1, 1)}]
            )
            await client.chat.completions.create(
                model="avengers", messages=[{"role": "user", "content": math_prompt(1, 1)}]
            )
            root = url.removesuffix("/v1")
            async with session.get(root + "/health") as response:
                health = await response.json()
            async with session.get(root + "/metrics") as response:
                assert response.headers["Content-Type"].startswith("text/plain")
                metrics = await response.text()
    finally:
        await _stopped(members)
    assert [m.id for m in listed.data] == ["avengers"]
    assert health["status"] == "ok" and health["models"] == ["mather", "picker", "backup"]
    assert 'avengers_requests_total{endpoint="chat",status="200"} 2' in metrics
    assert 'avengers_model_calls_total{model="mather",outcome="ok"} 2' in metrics
    assert 'avengers_samples_total{model="mather"} 4' in metrics
    assert 'avengers_votes_total{mode="self-consistency",stopped_early="false"} 2' in metrics
    assert 'avengers_embedding_cache_total{result="hit"} 1' in metrics
    assert 'avengers_request_seconds_count{endpoint="chat"} 2' in metrics
    assert 'avengers_model_seconds_bucket{model="mather",le="+Inf"} 2' in metrics


async def test_all_models_failing_is_a_502_naming_each_failure(make_gateway):
    failing = {name: ScriptedMember(right_sum, fail_status=400) for name in ("mather", "picker", "backup")}
    members = await _started(failing)
    try:
        async with make_gateway(members) as (url, _), aiohttp.ClientSession() as session:
            body = {"model": "avengers", "messages": [{"role": "user", "content": math_prompt(1, 1)}]}
            async with session.post(url + "/chat/completions", json=body) as response:
                status, error = response.status, (await response.json())["error"]
    finally:
        await _stopped(members)
    assert status == 502 and error["code"] == "all_models_failed"
    assert all(name in error["message"] for name in ("mather", "picker", "backup"))
    assert json.dumps(error)  # plain JSON


async def test_an_embedder_of_another_dimension_is_refused_at_start(make_gateway):
    from router.embedders import Embedder

    class Wrong(Embedder):
        spec = "test:wrong"

        def __init__(self):
            super().__init__(cache=False)

        def _embed_batch(self, texts):
            import numpy as np

            return np.ones((len(texts), 7), dtype=np.float32)

    members = await _started(_members())
    try:
        with pytest.raises(ValueError, match="7-dim vectors but the router was fitted on 64-dim"):
            async with make_gateway(members, embedder=Wrong()):
                pass
    finally:
        await _stopped(members)


async def test_an_embeddings_endpoint_embeds_each_distinct_query_once(make_gateway):
    from router.embedders import OpenAIEmbedder
    from tests.gateway.helpers import EmbeddingServer

    members = await _started(_members())
    try:
        async with EmbeddingServer() as embeddings:
            embedder = OpenAIEmbedder("bow", embeddings.base_url, cache=False)
            async with make_gateway(members, embedder=embedder, samples=1) as (url, _):
                warm = embeddings.texts
                client = openai.AsyncOpenAI(base_url=url, api_key="unused", max_retries=0)
                results = await asyncio.gather(
                    *(
                        client.chat.completions.create(
                            model="avengers",
                            messages=[{"role": "user", "content": math_prompt(1 + i % 2, 1)}],
                        )
                        for i in range(6)
                    )
                )
                again = await client.chat.completions.create(
                    model="avengers", messages=[{"role": "user", "content": math_prompt(1, 1)}]
                )
    finally:
        await _stopped(members)
    assert warm == 1, "the embedder is loaded and checked at start"
    assert embeddings.texts - warm == 2, "two distinct queries, six concurrent requests"
    assert {r.model_extra["avengers"]["models_asked"][0] for r in results} == {"mather"}
    assert again.model_extra["avengers"]["embedding"]["cached"]


async def test_an_unexpected_failure_is_a_500_in_openai_shape(make_gateway, monkeypatch):
    members = await _started(_members())
    try:
        async with make_gateway(members) as (url, gateway):

            def broken(*args, **kwargs):
                raise RuntimeError("boom")

            monkeypatch.setattr(gateway, "_answer_format", broken)  # a bug inside the gateway
            async with aiohttp.ClientSession() as session:
                body = {"model": "avengers", "messages": [{"role": "user", "content": math_prompt(1, 1)}]}
                async with session.post(url + "/chat/completions", json=body) as response:
                    status, error = response.status, (await response.json())["error"]
    finally:
        await _stopped(members)
    assert status == 500 and error["type"] == "internal_error" and "boom" in error["message"]


async def test_the_soft_routing_variant_ranks_by_the_nearest_clusters(make_gateway):
    members = await _started(_members())
    try:
        async with make_gateway(members, samples=1, routing="soft") as (url, gateway):
            assert gateway.routing.router.config.routing == "soft"
            client = openai.AsyncOpenAI(base_url=url, api_key="unused", max_retries=0)
            maths = await client.chat.completions.create(
                model="avengers", messages=[{"role": "user", "content": math_prompt(1, 1)}]
            )
            pick = await client.chat.completions.create(
                model="avengers", messages=[{"role": "user", "content": pick_prompt(1)}]
            )
    finally:
        await _stopped(members)
    # both clusters vote, the nearer one with more weight: each query still goes to its specialist
    assert maths.model_extra["avengers"]["ranking"][0] == "mather"
    assert pick.model_extra["avengers"]["ranking"][0] == "picker"
    assert maths.model_extra["avengers"]["cluster"] != pick.model_extra["avengers"]["cluster"]
