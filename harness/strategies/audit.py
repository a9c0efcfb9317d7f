"""Every intermediate call of a strategy, in a sidecar table of the run's results.sqlite.

Additive to the results schema (its own table, created if missing). A row is keyed by the strategy,
the sample's seed (unique per task, item and sample index), the prompt, the step and the member, so
a resumed run reuses answers already received and the final answer of any sample can be audited:

    SELECT step, member, response, error, note FROM strategy_calls WHERE strategy = ? AND seed = ?
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

TABLE = "strategy_calls"
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    strategy TEXT NOT NULL,
    seed INTEGER NOT NULL,
    prompt_key TEXT NOT NULL,
    step TEXT NOT NULL,
    member TEXT NOT NULL,
    task TEXT,
    item_id TEXT,
    request TEXT NOT NULL,
    response TEXT,
    finish_reason TEXT,
    error TEXT,
    note TEXT,
    prompt_tokens INTEGER,
    completion_tokens INTEGER,
    latency_s REAL,
    created_at REAL NOT NULL,
    PRIMARY KEY (strategy, seed, prompt_key, step, member)
)
"""


def prompt_key(messages: list[dict]) -> str:
    return hashlib.sha256(json.dumps(messages, sort_keys=True).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class CallContext:
    strategy: str
    seed: int
    prompt_key: str
    task: str | None = None
    item_id: str | None = None


@dataclass
class CallRecord:
    step: str
    member: str
    request: list[dict]
    response: str | None = None
    finish_reason: str | None = None
    error: str | None = None
    note: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    latency_s: float | None = None
    reused: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None and self.response is not None


class StrategyLog:
    """Reads and writes ``strategy_calls``; one connection of its own, autocommit, same thread as the run."""

    def __init__(self, db_path: Path | str):
        self.path = Path(db_path)
        self._conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA busy_timeout = 30000")
        self._conn.execute(_SCHEMA)

    def close(self) -> None:
        self._conn.close()

    def find(self, ctx: CallContext, step: str, member: str) -> CallRecord | None:
        """A successful earlier answer to this call (failed calls are retried)."""
        row = self._conn.execute(
            f"SELECT request, response, finish_reason, note, prompt_tokens, completion_tokens, latency_s "
            f"FROM {TABLE} WHERE strategy=? AND seed=? AND prompt_key=? AND step=? AND member=? "
            "AND error IS NULL AND response IS NOT NULL",
            (ctx.strategy, ctx.seed, ctx.prompt_key, step, member),
        ).fetchone()
        if row is None:
            return None
        return CallRecord(
            step, member, json.loads(row[0]), row[1], row[2], None, row[3], row[4], row[5], row[6], True
        )

    def write(self, ctx: CallContext, record: CallRecord) -> None:
        self._conn.execute(
            f"INSERT OR REPLACE INTO {TABLE} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                ctx.strategy, ctx.seed, ctx.prompt_key, record.step, record.member, ctx.task, ctx.item_id,
                json.dumps(record.request), record.response, record.finish_reason, record.error, record.note,
                record.prompt_tokens, record.completion_tokens, record.latency_s, time.time(),
            ),
        )  # fmt: skip

    def note(self, ctx: CallContext, step: str, member: str, note: str) -> None:
        self._conn.execute(
            f"UPDATE {TABLE} SET note=? WHERE strategy=? AND seed=? AND prompt_key=? AND step=? AND member=?",
            (note, ctx.strategy, ctx.seed, ctx.prompt_key, step, member),
        )

    def calls(self, strategy: str, seed: int | None = None) -> list[dict]:
        """Rows of one strategy (one sample with ``seed``), in the order they were written."""
        sql = f"SELECT * FROM {TABLE} WHERE strategy=?" + (" AND seed=?" if seed is not None else "")
        cursor = self._conn.execute(
            sql + " ORDER BY created_at, rowid", (strategy, *([seed] if seed is not None else []))
        )
        names = [c[0] for c in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
