"""Real parts for gateway tests: a bag-of-words embedder (in-process and behind /v1/embeddings) and
scripted pool members that answer each choice of a request with a text the test decides."""

from __future__ import annotations

import hashlib
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from aiohttp import web

from harness.serving.loopback_server import FaultRule, LoopbackServer
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


Answers = Callable[[dict[str, Any]], list[str]]


@dataclass
class ScriptedMember(LoopbackServer):
    """An OpenAI-compatible loopback server whose i-th choice is ``answer(body)[i]``.

    ``supports_n=False`` answers one choice whatever n is (as llama.cpp); ``fail_status`` fails every
    completion request with that status. Counts calls and the samples it handed out.
    """

    fail_status: int | None = None
    samples: int = 0

    def __post_init__(self) -> None:
        if self.fail_status is not None:
            self.faults.append(FaultRule("status", times=sys.maxsize, status=self.fail_status))

    @property
    def calls(self) -> int:
        return self.request_count

    @property
    def bodies(self) -> list[dict[str, Any]]:
        return self.requests

    def _payload(self, body: dict[str, Any], *, chat: bool) -> dict[str, Any]:
        payload = super()._payload(body, chat=chat)
        self.samples += len(payload["choices"])
        return payload


@dataclass
class EmbeddingServer(LoopbackServer):
    """``POST /v1/embeddings`` answering :func:`bow_vectors`; counts the texts it embedded."""

    texts: int = 0

    async def _embeddings(self, request: web.Request) -> web.Response:
        body = await request.json()
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        self.texts += len(inputs)
        vectors = bow_vectors(inputs)
        data = [{"object": "embedding", "index": i, "embedding": v.tolist()} for i, v in enumerate(vectors)]
        return web.json_response({"object": "list", "data": data, "model": body.get("model")})

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/embeddings", self._embeddings)
        return app
