"""Full-text search over a run's prompts and responses: an SQLite FTS5 index in a sidecar file.

Why a sidecar: ``LIKE '%word%'`` over a million responses reads every row (seconds per query),
and the results store must stay untouched, so the index lives in its own database,
``<run>/view-index.sqlite`` (or under the cache directory when the run folder is read-only), built
once by the viewer and brought up to date by appending what was written since.

Layout: ``response_fts`` indexes each sample's response, ``item_fts`` each item's question (the
prompt text the store keeps). Both are contentless (the text stays in results.sqlite only), so the
index is a fraction of the store's size. ``sample_docs`` maps an FTS document to the sample's rowid
and ``written_at``; a sample rewritten later (resume, retry) is indexed again under a new document
and the old document no longer joins, because its ``written_at`` no longer matches.
"""

from __future__ import annotations

import hashlib
import os
import re
import sqlite3
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from harness import settings
from harness.view.db import connect_readonly, readonly_uri

INDEX_FILENAME = "view-index.sqlite"
INDEX_VERSION = "2"
_BATCH = 5000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS index_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE VIRTUAL TABLE IF NOT EXISTS response_fts USING fts5(response, content='', tokenize='unicode61');
CREATE VIRTUAL TABLE IF NOT EXISTS item_fts USING fts5(query, content='', tokenize='unicode61');
CREATE TABLE IF NOT EXISTS sample_docs (docid INTEGER PRIMARY KEY, sample_rowid INTEGER NOT NULL,
                                        written_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS item_docs (docid INTEGER PRIMARY KEY, task TEXT NOT NULL, item_id TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS sample_docs_by_sample ON sample_docs (sample_rowid);
CREATE INDEX IF NOT EXISTS item_docs_by_item ON item_docs (task, item_id);
CREATE VIRTUAL TABLE IF NOT EXISTS response_vocab USING fts5vocab(response_fts, 'row');
CREATE VIRTUAL TABLE IF NOT EXISTS item_vocab USING fts5vocab(item_fts, 'row');
"""

_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class SearchTerms:
    """Words a search asks for (all must occur); a word ending in ``*`` is a prefix."""

    words: tuple[tuple[str, bool], ...]

    @classmethod
    def parse(cls, text: str) -> SearchTerms:
        """Punctuation is dropped (the unicode61 tokenizer indexes words only): ``x^2`` finds ``x`` and ``2``."""
        words: list[tuple[str, bool]] = []
        for raw in text.split():
            found = _WORD.findall(raw)
            words.extend((w.lower(), False) for w in found)
            if raw.endswith("*") and found:
                words[-1] = (words[-1][0], True)
        return cls(tuple(words))

    def fts(self) -> str | None:
        """An FTS5 MATCH expression that is always valid (each word quoted)."""
        return " AND ".join(f'"{w}"' + ("*" if prefix else "") for w, prefix in self.words) or None


def fts_query(text: str) -> str | None:
    return SearchTerms.parse(text).fts()


def index_path_for(run_dir: Path) -> Path:
    run_dir = Path(run_dir)
    if os.access(run_dir, os.W_OK):
        return run_dir / INDEX_FILENAME
    digest = hashlib.sha256(str(run_dir.resolve()).encode()).hexdigest()[:16]
    folder = settings.cache_dir() / "view-index"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{run_dir.name}-{digest}.sqlite"


@dataclass
class IndexState:
    ready: bool
    indexed: int
    total: int
    error: str | None = None


class SearchIndex:
    """Builds and updates one run's index; :meth:`ensure_current` is safe to call from any thread."""

    def __init__(self, run_dir: Path, path: Path | None = None):
        self.run_dir = Path(run_dir)
        self.path = path or index_path_for(self.run_dir)
        self._lock = threading.Lock()
        self._state = IndexState(ready=False, indexed=0, total=0)

    @property
    def state(self) -> IndexState:
        return self._state

    def _open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path.resolve().as_uri(), uri=True, isolation_level=None, check_same_thread=False
        )
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.executescript(_SCHEMA)
        conn.execute("ATTACH DATABASE ? AS store", (readonly_uri(self.run_dir / "results.sqlite"),))
        return conn

    @staticmethod
    def _meta(conn: sqlite3.Connection, key: str, default: str = "") -> str:
        row = conn.execute("SELECT value FROM index_meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def ensure_current(self, *, progress: bool = False, stop: threading.Event | None = None) -> IndexState:
        """Index every sample and item written since the last call; returns the state afterwards.

        Setting ``stop`` ends the work after the current batch (what is committed stays usable).
        """
        with self._lock:
            try:
                return self._update(progress, stop or threading.Event())
            except sqlite3.Error as exc:
                self._state = IndexState(False, self._state.indexed, self._state.total, f"{self.path}: {exc}")
                return self._state

    def _update(self, progress: bool, stop: threading.Event) -> IndexState:
        store = connect_readonly(self.run_dir / "results.sqlite")
        try:
            total = store.execute("SELECT COUNT(*) FROM samples").fetchone()[0]
            max_sample = store.execute("SELECT COALESCE(MAX(rowid), 0) FROM samples").fetchone()[0]
            max_item = store.execute("SELECT COALESCE(MAX(rowid), 0) FROM items").fetchone()[0]
            last = store.execute("SELECT written_at FROM samples WHERE rowid = ?", (max_sample,)).fetchone()
        finally:
            store.close()
        conn = self._open()
        try:
            if self._meta(conn, "version") not in ("", INDEX_VERSION):
                raise sqlite3.DatabaseError(
                    f"index version {self._meta(conn, 'version')} is not {INDEX_VERSION}"
                )
            done_sample = int(self._meta(conn, "sample_rowid", "0"))
            done_item = int(self._meta(conn, "item_rowid", "0"))
            # The newest row may have been rewritten in place of itself (same rowid): index it again.
            if (
                last is not None
                and done_sample == max_sample
                and self._meta(conn, "last_written_at") != repr(last[0])
            ):
                done_sample -= 1
            indexed = int(self._meta(conn, "indexed", "0"))
            self._state = IndexState(done_sample >= max_sample and done_item >= max_item, indexed, total)
            while done_item < max_item and not stop.is_set():
                done_item = self._index_items(conn, done_item)
            while done_sample < max_sample and not stop.is_set():
                done_sample, added = self._index_samples(conn, done_sample)
                indexed += added
                conn.execute("INSERT OR REPLACE INTO index_meta VALUES ('indexed', ?)", (str(indexed),))
                self._state = IndexState(False, indexed, total)
                if progress:
                    print(
                        f"\rsearch index {self.run_dir.name}: {indexed:,}/{total:,}", end="", file=sys.stderr
                    )
            if progress and indexed:
                print(file=sys.stderr)
            if stop.is_set():
                return self._state
            with conn:
                conn.execute("BEGIN")
                for key, value in (
                    ("version", INDEX_VERSION),
                    ("sample_rowid", str(done_sample)),
                    ("item_rowid", str(done_item)),
                    ("indexed", str(indexed)),
                    ("last_written_at", repr(last[0]) if last else ""),
                ):
                    conn.execute("INSERT OR REPLACE INTO index_meta VALUES (?, ?)", (key, value))
        finally:
            conn.close()
        self._state = IndexState(True, indexed, total)
        return self._state

    def _index_samples(self, conn: sqlite3.Connection, after: int) -> tuple[int, int]:
        rows = conn.execute(
            "SELECT rowid, written_at, response FROM store.samples WHERE rowid > ? ORDER BY rowid LIMIT ?",
            (after, _BATCH),
        ).fetchall()
        if not rows:
            return after, 0
        conn.execute("BEGIN")
        for rowid, written_at, response in rows:
            docid = conn.execute(
                "INSERT INTO sample_docs (sample_rowid, written_at) VALUES (?, ?)", (rowid, written_at)
            ).lastrowid
            conn.execute("INSERT INTO response_fts (rowid, response) VALUES (?, ?)", (docid, response or ""))
        conn.execute("INSERT OR REPLACE INTO index_meta VALUES ('sample_rowid', ?)", (str(rows[-1][0]),))
        conn.execute("COMMIT")
        return rows[-1][0], len(rows)

    def _index_items(self, conn: sqlite3.Connection, after: int) -> int:
        rows = conn.execute(
            "SELECT rowid, task, item_id, query FROM store.items WHERE rowid > ? ORDER BY rowid LIMIT ?",
            (after, _BATCH),
        ).fetchall()
        if not rows:
            return after
        conn.execute("BEGIN")
        for rowid, task, item_id, query in rows:
            del rowid
            docid = conn.execute(
                "INSERT INTO item_docs (task, item_id) VALUES (?, ?)", (task, item_id)
            ).lastrowid
            conn.execute("INSERT INTO item_fts (rowid, query) VALUES (?, ?)", (docid, query or ""))
        conn.execute("INSERT OR REPLACE INTO index_meta VALUES ('item_rowid', ?)", (str(rows[-1][0]),))
        conn.execute("COMMIT")
        return rows[-1][0]
