"""Real parts for gateway tests: a bag-of-words embedder (in-process and behind /v1/embeddings) and
scripted pool members that answer each choice of a request with a text the test decides."""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from aiohttp import web

from router.embedders import Embedder

DIM = 64
_WORD = re.compile(r"[a-z]+")


def bow_vectors(texts: list[str]) -> np.ndarray:
    """Hashed bag of words (digits ignored): queries of one task land near each other."""
    out = np.zeros((len(texts), DIM), dtype=np.float32)
    for row, text in enumerate(texts):
        out[row, 0] = 0.1  # never all-zero
        for word in _WORD.findall(text.lower()):
            out[row, int(hashlib.md5(word.encode()).hexdigest(), 16) % DIM] += 1.0
    return out


class BowEmbedder(Embedder):
    spec = "test:bow"

    def __init__(self) -> None:
        super().__init__(cache=False)
        self.texts_embedded = 0

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        self.texts_embedded += len(texts)
        return bow_vectors(texts)


def prompt_text(body: dict[str, Any]) -> str:
    if "messages" in body:
        return "\n".join(str(m.get("content", "")) for m in body["messages"])
    return str(body.get("prompt", ""))


Answers = Callable[[dict[str, Any]], list[str]]


@dataclass
class ScriptedMember:
    """An OpenAI-compatible loopback server whose i-th choice is ``answers(body)[i]``.

    ``supports_n=False`` answers one choice whatever n is (as llama.cpp); ``fail_status`` fails every
    completion request with that status. Counts calls and the samples it handed out.
    """

    answers: Answers
    supports_n: bool = True
    fail_status: int | None = None
    finish_reason: str = "stop"
    calls: int = 0
    samples: int = 0
    bodies: list[dict[str, Any]] = field(default_factory=list)
    port: int = 0
    _runner: web.AppRunner | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    async def _complete(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.calls += 1
        self.bodies.append(body)
        if self.fail_status is not None:
            return web.json_response({"error": {"message": "scripted failure"}}, status=self.fail_status)
        n = int(body.get("n", 1)) if self.supports_n else 1
        texts = self.answers(body)[:n]
        self.samples += len(texts)
        chat = request.path.endswith("/chat/completions")
        choices = [
            {
                "index": i,
                "finish_reason": self.finish_reason,
                **({"message": {"role": "assistant", "content": t}} if chat else {"text": t}),
            }
            for i, t in enumerate(texts)
        ]
        words = len(prompt_text(body).split())
        completion = sum(len(t.split()) for t in texts)
        return web.json_response(
            {
                "id": f"scripted-{self.calls}",
                "object": "chat.completion" if chat else "text_completion",
                "created": int(time.time()),
                "model": body.get("model"),
                "choices": choices,
                "usage": {
                    "prompt_tokens": words,
                    "completion_tokens": completion,
                    "total_tokens": words + completion,
                },
            }
        )

    async def _models(self, request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [{"id": "scripted", "object": "model"}]})

    async def start(self) -> ScriptedMember:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._complete)
        app.router.add_post("/v1/completions", self._complete)
        app.router.add_get("/v1/models", self._models)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # noqa: SLF001
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> ScriptedMember:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


@dataclass
class EmbeddingServer:
    """``POST /v1/embeddings`` answering :func:`bow_vectors`; counts the texts it embedded."""

    port: int = 0
    texts: int = 0
    _runner: web.AppRunner | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    async def _embeddings(self, request: web.Request) -> web.Response:
        body = await request.json()
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        self.texts += len(inputs)
        vectors = bow_vectors(inputs)
        data = [{"object": "embedding", "index": i, "embedding": v.tolist()} for i, v in enumerate(vectors)]
        return web.json_response({"object": "list", "data": data, "model": body.get("model")})

    async def start(self) -> EmbeddingServer:
        app = web.Application()
        app.router.add_post("/v1/embeddings", self._embeddings)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # noqa: SLF001
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> EmbeddingServer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
