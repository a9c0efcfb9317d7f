"""Read-only SQLite access to a run's results store for the viewer.

The viewer never writes ``results.sqlite``: it opens it with ``mode=ro`` (a running eval keeps
writing through WAL and the viewer sees each committed transaction). Columns are looked up by
name so a store with extra columns (added by a newer harness) is read without change.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from results.store import DB_FILENAME, StoreError


def readonly_uri(path: Path) -> str:
    """``mode=ro``; in a folder we may not write, also ``immutable=1`` (SQLite could not create the WAL
    index file there, and nobody can be writing such a store)."""
    path = Path(path)
    suffix = "" if os.access(path.parent, os.W_OK) else "&immutable=1"
    return f"{path.resolve().as_uri()}?mode=ro{suffix}"


def connect_readonly(path: Path) -> sqlite3.Connection:
    if not path.is_file():
        raise StoreError(f"no results database at {path}")
    conn = sqlite3.connect(
        readonly_uri(path), uri=True, timeout=30.0, check_same_thread=False, isolation_level=None
    )
    conn.execute("PRAGMA busy_timeout = 30000")
    conn.execute("PRAGMA query_only = 1")
    # A bounded page cache keeps the server's memory flat whatever the store's size.
    conn.execute("PRAGMA cache_size = -16000")
    return conn


class RunDatabase:
    """One read-only connection to ``<run>/results.sqlite`` (plus the search index once attached).

    Calls are serialised by a lock; aiohttp handlers run them in a worker thread.
    """

    def __init__(self, run_dir: Path):
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / DB_FILENAME
        self._conn = connect_readonly(self.path)
        self._lock = threading.Lock()
        self.sample_columns = self._columns("samples")
        self.item_columns = self._columns("items")
        if not self.sample_columns:
            self._conn.close()
            raise StoreError(f"{self.path} has no samples table: is it a harness results database?")
        self.attached_index: Path | None = None

    def _columns(self, table: str) -> list[str]:
        return [row[1] for row in self._conn.execute(f"PRAGMA table_info({table})")]

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            cursor = self._conn.execute(sql, params)
            names = [d[0] for d in cursor.description or ()]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        with self._lock:
            row = self._conn.execute(sql, params).fetchone()
        return row[0] if row else None

    def attach_index(self, index_path: Path) -> None:
        """Attach the search index read-only as schema ``idx`` (once)."""
        with self._lock:
            if self.attached_index == index_path:
                return
            if self.attached_index is not None:
                self._conn.execute("DETACH DATABASE idx")
            self._conn.execute("ATTACH DATABASE ? AS idx", (readonly_uri(index_path),))
            self.attached_index = index_path

    def close(self) -> None:
        with self._lock:
            self._conn.close()
