"""The embedding batcher: one forward pass per distinct query, however requests interleave."""

from __future__ import annotations

import asyncio
import threading

import numpy as np

from harness.serving.gateway.routing import EmbeddingBatcher, RoutingEngine
from router.embedders import Embedder, text_hash
from tests.gateway.conftest import fit_toy_router
from tests.gateway.helpers import BowEmbedder


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


async def test_a_repeated_query_reuses_its_decision_and_the_cache_is_bounded():
    embedder = BowEmbedder()
    router = fit_toy_router(embedder)
    engine = RoutingEngine(router, embedder, cache_size=2)
    before = embedder.texts_embedded  # the fit's
    try:
        first = await engine.route("3 + 4")
        again = await engine.route("3 + 4")
        assert embedder.texts_embedded == before + 1 and not first.embed_cached and again.embed_cached
        assert (again.cluster, again.ranking, again.cluster_task) == (
            first.cluster,
            first.ranking,
            first.cluster_task,
        )
        # The same as deciding from the vector afresh: the cache changes cost, never the route.
        fresh = engine.decide(embedder.embed(["3 + 4"])[0], cached=True)
        assert again == fresh
        colour = await engine.route("Which colour does fruit number 3 have?")
        assert colour.ranking[0] != first.ranking[0]
        await engine.route("5 + 6")
        assert (
            len(engine._decisions) == 2 and text_hash("3 + 4") not in engine._decisions
        )  # least recent went
    finally:
        await engine.close()


def test_the_disk_cache_a_new_query_is_written_to_does_not_fsync_each_write(tmp_path):
    """A new query's vector is written before its answer goes out: with SQLite's default
    synchronous=FULL that write cost ~4 ms (an fsync) on the bench machine."""
    from router.embedders import EmbeddingCache

    cache = EmbeddingCache("test:sync", tmp_path)
    cache.put_many({"key": np.ones(4, dtype=np.float32)})
    try:
        assert cache._conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
        assert cache._conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        cache.close()


class SlowCacheEmbedder(Embedder):
    """A real on-disk cache whose writes block until released."""

    spec = "test:slow-cache"

    def __init__(self, root):
        super().__init__(cache_root=root)
        self.writing = threading.Event()
        self.release = threading.Event()

    def _embed_batch(self, texts):
        return np.ones((len(texts), 4), dtype=np.float32)

    def remember(self, computed):
        self.writing.set()
        self.release.wait(10)
        super().remember(computed)


async def test_a_new_query_gets_its_vector_before_the_disk_cache_is_written(tmp_path):
    embedder = SlowCacheEmbedder(tmp_path)
    batcher = EmbeddingBatcher(embedder)
    try:
        vector, cached = await asyncio.wait_for(batcher.embed("what is 2 + 2"), 5)
        assert not cached and vector.shape == (4,)
        assert await asyncio.to_thread(embedder.writing.wait, 5)  # the write is queued, still blocked
        assert not embedder.release.is_set()
        embedder.release.set()
    finally:
        await batcher.close()  # waits for the queued write
    later = SlowCacheEmbedder(tmp_path)
    later.release.set()
    assert later._cache.get_many([text_hash("what is 2 + 2")])  # noqa: SLF001 - the row is on disk


def test_embed_unsaved_leaves_the_disk_cache_to_remember(tmp_path):
    embedder = SlowCacheEmbedder(tmp_path)
    embedder.release.set()
    vectors, computed = embedder.embed_unsaved(["a", "b", "a"])
    assert vectors.shape == (3, 4) and sorted(computed) == sorted({text_hash("a"), text_hash("b")})
    assert not embedder._cache.get_many(list(computed))  # noqa: SLF001
    embedder.remember(computed)
    again, fresh = embedder.embed_unsaved(["a", "b"])
    assert not fresh and np.array_equal(again, vectors[:2])
