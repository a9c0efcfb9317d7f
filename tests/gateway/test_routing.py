"""The embedding batcher: one forward pass per distinct query, however requests interleave."""

from __future__ import annotations

import asyncio
import threading

import numpy as np

from harness.serving.gateway.routing import EmbeddingBatcher
from router.embedders import Embedder


class GatedEmbedder(Embedder):
    """Blocks inside each batch until released, and records every batch it embedded."""

    spec = "test:gated"

    def __init__(self):
        super().__init__(cache=False)
        self.release = threading.Event()
        self.started = threading.Event()
        self.batches: list[list[str]] = []

    def _embed_batch(self, texts):
        self.batches.append(list(texts))
        self.started.set()
        self.release.wait(10)
        return np.ones((len(texts), 4), dtype=np.float32)


async def test_a_query_asked_again_while_it_is_being_embedded_is_not_embedded_twice():
    embedder = GatedEmbedder()
    batcher = EmbeddingBatcher(embedder)
    try:
        first = asyncio.create_task(batcher.embed("what is 2 + 2"))
        await asyncio.to_thread(embedder.started.wait, 10)  # the first batch is inside the embedder now
        again = asyncio.create_task(batcher.embed("what is 2 + 2"))
        other = asyncio.create_task(batcher.embed("name a colour"))
        await asyncio.sleep(0.05)
        embedder.release.set()
        (v1, hit1), (v2, hit2), (_, hit3) = await asyncio.gather(first, again, other)
    finally:
        await batcher.close()
    assert embedder.batches == [["what is 2 + 2"], ["name a colour"]]
    assert np.array_equal(v1, v2) and not hit1 and not hit2 and not hit3
    vector, cached = await _cached(batcher)
    assert cached and vector.shape == (4,)


async def _cached(batcher):
    return await batcher.embed("what is 2 + 2")
