"""Per-request routing: embed the query (cached, micro-batched off the event loop), pick the cluster
and the model ranking with the router artifact's public interface."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from collections import Counter, OrderedDict
from dataclasses import dataclass, replace

import numpy as np

from router.embedders import Embedder, make_embedder, text_hash
from router.model import Router

log = logging.getLogger(__name__)

MAX_BATCH = 64


@dataclass(frozen=True)
class RouteDecision:
    cluster: int
    ranking: tuple[str, ...]  # every model of the router, best first
    cluster_task: str | None  # the most frequent task among the cluster's calibration items
    embed_cached: bool


class EmbeddingBatcher:
    """Embeds query texts in one worker thread, batching whatever arrived while the last batch ran.

    An in-memory LRU in front of the embedder's own on-disk cache makes a repeated query cost a dict
    lookup; concurrent new queries share one forward pass.
    """

    def __init__(self, embedder: Embedder, *, cache_size: int = 20_000):
        self.embedder = embedder
        self.cache_size = cache_size
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._pending: dict[str, tuple[str, list[asyncio.Future]]] = {}  # waiting for the next batch
        self._running: dict[str, tuple[str, list[asyncio.Future]]] = {}  # in the batch being embedded
        self._executor = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="gateway-embed")
        self._wakeup: asyncio.Event | None = None
        self._worker: asyncio.Task | None = None
        self.hits = 0
        self.misses = 0
        self.batches = 0

    def lookup(self, key: str) -> np.ndarray | None:
        vector = self._cache.get(key)
        if vector is not None:
            self._cache.move_to_end(key)
        return vector

    async def embed(self, text: str) -> tuple[np.ndarray, bool]:
        key = text_hash(text)
        vector = self.lookup(key)
        if vector is not None:
            self.hits += 1
            return vector, True
        self.misses += 1
        future = asyncio.get_running_loop().create_future()
        if key in self._running:
            self._running[key][1].append(future)
        elif key in self._pending:
            self._pending[key][1].append(future)
        else:
            self._pending[key] = (text, [future])
        self._ensure_worker()
        assert self._wakeup is not None
        self._wakeup.set()
        return await future, False

    def _ensure_worker(self) -> None:
        if self._worker is None or self._worker.done():
            self._wakeup = asyncio.Event()
            self._worker = asyncio.create_task(self._run(), name="gateway-embedder")

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        assert self._wakeup is not None
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._pending:
                keys = list(self._pending)[:MAX_BATCH]
                self._running = {key: self._pending.pop(key) for key in keys}
                self.batches += 1
                try:
                    vectors, computed = await loop.run_in_executor(
                        self._executor,
                        self.embedder.embed_unsaved,
                        [text for text, _ in self._running.values()],
                    )
                except Exception as exc:
                    for _, futures in self._running.values():
                        for future in futures:
                            if not future.done():
                                future.set_exception(exc)
                    self._running = {}
                    continue
                batch, self._running = self._running, {}
                for key, vector, (_, futures) in zip(keys, vectors, batch.values(), strict=True):
                    self._store(key, vector)
                    for future in futures:
                        if not future.done():
                            future.set_result(vector)
                if computed:
                    # Written to the disk cache after the requests have their vectors (a SQLite commit
                    # took 1.3 ms here), on the same thread, so before the next batch is embedded.
                    loop.run_in_executor(self._executor, self.embedder.remember, computed).add_done_callback(
                        _log_failed_write
                    )

    def _store(self, key: str, vector: np.ndarray) -> None:
        self._cache[key] = vector
        if len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)

    async def close(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)
        # Waits for the disk-cache writes already queued; a batch being embedded ends first too.
        await asyncio.get_running_loop().run_in_executor(None, self._executor.shutdown)


class RoutingEngine:
    """The artifact plus its embedder: text -> cluster and model ranking."""

    def __init__(self, router: Router, embedder: Embedder | None = None, *, cache_size: int = 20_000):
        self.router = router
        self.embedder = embedder or make_embedder(router.config.embedder)
        self.batcher = EmbeddingBatcher(self.embedder, cache_size=cache_size)
        self.cluster_task = _cluster_majority_tasks(router)
        self._nearest_rankings: dict[int, tuple[str, ...]] = {}
        # A decision is a function of the query text alone: a repeated query skips the centroid distances.
        self._decisions: OrderedDict[str, RouteDecision] = OrderedDict()
        self._decisions_size = cache_size

    @property
    def models(self) -> list[str]:
        return self.router.models

    def decide(self, embedding: np.ndarray, cached: bool) -> RouteDecision:
        row = np.asarray(embedding, dtype=np.float64)[None, :]
        cluster = int(self.router.assign(row)[0])
        ranking = self._nearest_rankings.get(cluster) if self.router.config.routing == "nearest" else None
        if ranking is None:
            ranking = tuple(self.router.route_embeddings(row, top_n=len(self.router.models))[0])
            if self.router.config.routing == "nearest":  # the ranking is the cluster's: compute it once
                self._nearest_rankings[cluster] = ranking
        return RouteDecision(cluster, ranking, self.cluster_task.get(cluster), cached)

    async def warm_up(self) -> None:
        """Load the embedder now (not on the first request) and check it gives the artifact's dimension."""
        vector, _ = await self.batcher.embed("warm-up query for the router gateway")
        if vector.shape[-1] != self.router.meta.dim:
            raise ValueError(
                f"embedder {self.embedder.spec} gives {vector.shape[-1]}-dim vectors but the router was fitted on "
                f"{self.router.meta.dim}-dim ones ({self.router.config.embedder}); use the artifact's embedder"
            )

    async def route(self, query: str) -> RouteDecision:
        key = text_hash(query)
        decision = self._decisions.get(key)
        if decision is not None:
            self._decisions.move_to_end(key)
            self.batcher.hits += 1
            return decision
        embedding, cached = await self.batcher.embed(query)
        decision = self.decide(embedding, cached)
        if self._decisions_size:
            self._decisions[key] = replace(decision, embed_cached=True)  # as the next request sees it
            if len(self._decisions) > self._decisions_size:
                self._decisions.popitem(last=False)
        return decision

    async def close(self) -> None:
        await self.batcher.close()


def _log_failed_write(future: asyncio.Future) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.warning("query vectors not written to the embedding cache: %s", future.exception())


def _cluster_majority_tasks(router: Router) -> dict[int, str]:
    counts: dict[int, Counter[str]] = {}
    for (task, _), label in zip(router.calibration_keys, router.calibration_labels.tolist(), strict=True):
        if task:
            counts.setdefault(int(label), Counter())[task] += 1
    # Ties go to the alphabetically first task, so the choice never depends on item order.
    return {c: min(counter.items(), key=lambda kv: (-kv[1], kv[0]))[0] for c, counter in counts.items()}
