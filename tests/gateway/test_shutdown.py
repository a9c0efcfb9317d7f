"""`harness serve-router` as a process: SIGTERM lets in-flight requests finish, then it exits 0."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

import aiohttp
import pytest

from router.embedders import OpenAIEmbedder
from tests.gateway.conftest import fit_toy_router, math_prompt, right_sum
from tests.gateway.helpers import EmbeddingServer, ScriptedMember


class SlowMember(ScriptedMember):
    async def _complete(self, request):
        await asyncio.sleep(1.5)
        return await super()._complete(request)


@pytest.mark.slow
async def test_sigterm_drains_in_flight_requests_then_exits_zero(tmp_path, toy_tasks):
    env = {
        **os.environ,
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
        "HARNESS_CACHE_DIR": str(tmp_path / "cache"),
    }
    async with (
        EmbeddingServer() as embeddings,
        SlowMember(right_sum) as slow,
        ScriptedMember(right_sum) as other,
    ):
        embedder = OpenAIEmbedder("bow", embeddings.base_url, cache=False)
        artifact = await asyncio.to_thread(lambda: fit_toy_router(embedder).save(tmp_path / "router.npz"))
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "harness", "serve-router", "--router", str(artifact), "--port", "0",
            "--samples", "2", "--tasks-dir", str(tmp_path / "tasks"),
            "--model", f"mather={slow.base_url}", "--model", f"picker={other.base_url}", "--model", f"backup={other.base_url}",
            env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        url = json.loads(await asyncio.wait_for(process.stdout.readline(), 120))["base_url"]
        async with aiohttp.ClientSession() as session:
            body = {"model": "avengers", "messages": [{"role": "user", "content": math_prompt(4, 5)}]}
            in_flight = asyncio.create_task(session.post(url + "/chat/completions", json=body))
            while slow.calls == 0:
                await asyncio.sleep(0.02)
            process.send_signal(signal.SIGTERM)
            response = await in_flight
            assert response.status == 200
            payload = await response.json()
            assert payload["choices"][0]["message"]["content"] == "4 plus 5 is \\boxed{9}."
            code = await asyncio.wait_for(process.wait(), 30)
            with pytest.raises(aiohttp.ClientConnectionError):
                await session.get(url.removesuffix("/v1") + "/health")
    assert code == 0, (await process.stderr.read()).decode()[-3000:]
