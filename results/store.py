"""The results store: one SQLite database per run directory.

One writer process (the scheduler) appends samples while other processes (a
`harness report`, a notebook) read. WAL mode gives readers a consistent snapshot
without blocking the writer. With ``synchronous=NORMAL`` a committed transaction
survives the death of the writing process (SIGKILL, OOM kill, crash) because the
WAL pages are already in the OS page cache; only a power loss / kernel crash can
lose the last transactions (pass ``fsync_every_commit=True`` for FULL sync).
"""

from __future__ import annotations

import csv
import json
import sqlite3
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, Literal, NamedTuple

from graders.base import GradeResult
from results.records import ItemRecord, SampleKey, SampleOutcome, SampleRecord, SamplingParams

SCHEMA_VERSION = 1
DB_FILENAME = "results.sqlite"
_PAGE_SIZE = 2000
BUSY_TIMEOUT_S = 30.0  # how long a statement waits for another process's lock before it fails

KeyTuple = tuple[str, str, str, int]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS items (
    task        TEXT NOT NULL,
    item_id     TEXT NOT NULL,
    category    TEXT NOT NULL,
    ood         INTEGER NOT NULL DEFAULT 0,
    query       TEXT NOT NULL,
    prompt_hash TEXT NOT NULL,
    gold        TEXT,
    PRIMARY KEY (task, item_id)
);
CREATE TABLE IF NOT EXISTS samples (
    task              TEXT NOT NULL,
    item_id           TEXT NOT NULL,
    model             TEXT NOT NULL,
    sample_index      INTEGER NOT NULL,
    seed              INTEGER,
    prompt_hash       TEXT NOT NULL,
    params            TEXT NOT NULL,
    response          TEXT,
    finish_reason     TEXT,
    prompt_tokens     INTEGER,
    completion_tokens INTEGER,
    latency_s         REAL,
    extracted         TEXT,
    score             REAL,
    grade_reason      TEXT,
    grade_detail      TEXT,
    error             TEXT,
    error_kind        TEXT,
    written_at        REAL NOT NULL,
    PRIMARY KEY (task, item_id, model, sample_index)
);
CREATE INDEX IF NOT EXISTS samples_by_model ON samples (model, task);
"""

_SAMPLE_COLUMNS = (
    "task",
    "item_id",
    "model",
    "sample_index",
    "seed",
    "prompt_hash",
    "params",
    "response",
    "finish_reason",
    "prompt_tokens",
    "completion_tokens",
    "latency_s",
    "extracted",
    "score",
    "grade_reason",
    "grade_detail",
    "error",
    "error_kind",
)
_OUTCOME_COLUMNS = SampleOutcome._fields
_ITEM_COLUMNS = ("task", "item_id", "category", "ood", "query", "prompt_hash", "gold")
_KEY_COLUMNS = ("task", "item_id", "model", "sample_index")

ExportFormat = Literal["jsonl", "csv", "parquet"]


class FailureSummary(NamedTuple):
    """A model's failed samples: how many of how many, and per error kind a count and one example message."""

    samples: int
    failed: int
    kinds: list[tuple[str, int, str]]


class StoreError(RuntimeError):
    """The results database is missing, from a newer harness, damaged, cannot be written (disk full,
    locked), or holds values that cannot be stored."""


_ABSENT = object()
_DAMAGED = ("malformed", "not a database", "corrupt")


def _from_environment(exc: sqlite3.Error) -> bool:
    """A failure of the file or the machine (disk full, I/O, locked, damaged), not of the statement: a
    constraint violation (IntegrityError) is a bug and keeps its own type."""
    return isinstance(exc, sqlite3.OperationalError) or type(exc) is sqlite3.DatabaseError


def _store_error(path: Path, exc: sqlite3.Error) -> StoreError:
    """An SQLite failure as one message naming the database, with what to do when the file is damaged."""
    message = f"{path}: {exc}"
    if any(word in str(exc).lower() for word in _DAMAGED):
        message += (
            f"; the file is damaged. `sqlite3 {path} .recover | sqlite3 recovered.sqlite` saves what is "
            "readable into a new database (put it in the run directory as results.sqlite to resume from it); "
            "or move the file aside and run again to start this run afresh"
        )
    elif "locked" in str(exc).lower():
        message += (
            "; another process (a sqlite3 shell, a notebook) holds a write lock on it: close it and run again"
        )
    return StoreError(message)


def _insert_items(conn: sqlite3.Connection, items: Sequence[ItemRecord]) -> None:
    conn.executemany(
        f"INSERT OR REPLACE INTO items ({', '.join(_ITEM_COLUMNS)}) VALUES ({', '.join('?' * len(_ITEM_COLUMNS))})",
        [(i.task, i.item_id, i.category, int(i.ood), i.query, i.prompt_hash, _gold_to_json(i)) for i in items],
    )


def _gold_to_json(item: ItemRecord) -> str:
    try:
        return json.dumps(item.gold, ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        raise StoreError(
            f"item {item.task}/{item.item_id}: gold answer is not JSON-serialisable ({exc})"
        ) from exc


class ResultsStore:
    """Typed access to ``<run_dir>/results.sqlite``. Use as a context manager or call :meth:`close`.

    Methods may be called from several threads of one process (e.g. via ``asyncio.to_thread``);
    they are serialised by a lock. Only one process should write at a time.
    """

    def __init__(self, run_dir: Path | str, *, readonly: bool = False, fsync_every_commit: bool = False):
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / DB_FILENAME
        self.readonly = readonly
        self._lock = threading.RLock()
        if readonly:
            if not self.path.is_file():
                raise StoreError(f"no results database at {self.path}")
            conn = sqlite3.connect(
                f"file:{self.path}?mode=ro",
                uri=True,
                timeout=BUSY_TIMEOUT_S,
                check_same_thread=False,
                isolation_level=None,
            )
        else:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, check_same_thread=False, isolation_level=None)
        self._conn = conn
        try:
            self._configure(fsync_every_commit)
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise _store_error(self.path, exc) from exc
        except BaseException:
            conn.close()
            raise

    @classmethod
    def open(cls, run_dir: Path | str, **kwargs: Any) -> ResultsStore:
        return cls(run_dir, **kwargs)

    def _configure(self, fsync_every_commit: bool) -> None:
        conn = self._conn
        conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        if not self.readonly:
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise StoreError(f"{self.path}: could not switch SQLite to WAL mode (got {mode!r})")
        conn.execute(f"PRAGMA synchronous = {'FULL' if fsync_every_commit else 'NORMAL'}")
        if self.readonly:
            self._check_version(self._read_version())
            return
        with self._transaction():
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            version = self._read_version()
            if version is None:
                conn.execute(
                    "INSERT INTO meta (key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
                )
            else:
                self._check_version(version)

    def _read_version(self) -> int | None:
        try:
            row = self._conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        except sqlite3.OperationalError as exc:
            if self.readonly:
                raise StoreError(f"{self.path} is not a harness results database ({exc})") from exc
            raise
        return int(row[0]) if row else None

    def _check_version(self, version: int | None) -> None:
        if version is None:
            raise StoreError(f"{self.path} has no schema_version; it is not a harness results database")
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path} has schema version {version}, newer than this harness understands "
                f"({SCHEMA_VERSION}); upgrade the harness to read it"
            )

    # -- plumbing ---------------------------------------------------------------------------------

    @contextmanager
    def _environment_errors(self) -> Iterator[None]:
        """An SQLite failure of the file or the machine (see _from_environment) as a StoreError naming the file."""
        try:
            yield
        except sqlite3.Error as exc:
            if not _from_environment(exc):
                raise
            raise _store_error(self.path, exc) from exc

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; BEGIN IMMEDIATE takes the write lock up front so it cannot deadlock later."""
        if self.readonly:
            raise StoreError(f"{self.path} was opened read-only")
        with self._lock, self._environment_errors():
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
                self._conn.execute("COMMIT")
            except BaseException:
                # A failed statement or COMMIT (disk full, I/O error) can leave the transaction open: end
                # it, so the connection stays usable and half a batch is never committed by a later one.
                if self._conn.in_transaction:
                    with suppress(sqlite3.Error):
                        self._conn.execute("ROLLBACK")
                raise

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        with self._lock, self._environment_errors():
            return self._conn.execute(sql, params).fetchall()

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> ResultsStore:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close()

    # -- writing ----------------------------------------------------------------------------------

    def upsert_items(self, items: Iterable[ItemRecord]) -> None:
        records = list(items)
        if records:
            with self._transaction() as conn:
                _insert_items(conn, records)

    def upsert_items_for_resume(self, items: Iterable[ItemRecord]) -> int:
        """Store the run's items like :meth:`upsert_items`, and forget the grades of every sample whose
        item's gold answer changed since they were graded (an edited data file: same prompt, so the
        responses stand, but their grades were given against the old answer and are given again), in
        one transaction. Returns how many samples lost their grade."""
        records = list(items)
        if not records:
            return 0
        cleared = 0
        with self._transaction() as conn:
            stored = dict(
                ((task, item_id), gold)
                for task, item_id, gold in conn.execute("SELECT task, item_id, gold FROM items")
            )
            for record in records:
                before = stored.get((record.task, record.item_id), _ABSENT)
                if before is not _ABSENT and before != _gold_to_json(record):
                    cleared += conn.execute(
                        "UPDATE samples SET extracted = NULL, score = NULL, grade_reason = NULL, "
                        "grade_detail = NULL WHERE task = ? AND item_id = ?",
                        (record.task, record.item_id),
                    ).rowcount
            _insert_items(conn, records)
        return cleared

    def write_samples(self, records: Sequence[SampleRecord]) -> None:
        """Insert or replace the records in one transaction; committed (crash-safe) when this returns."""
        if not records:
            return
        now = time.time()
        rows = [
            (
                r.task,
                r.item_id,
                r.model,
                r.sample_index,
                r.seed,
                r.prompt_hash,
                r.params.model_dump_json(),
                r.response,
                r.finish_reason,
                r.prompt_tokens,
                r.completion_tokens,
                r.latency_s,
                r.extracted,
                r.score,
                r.grade_reason,
                r.grade_detail,
                r.error,
                r.error_kind,
                now,
            )
            for r in records
        ]
        columns = (*_SAMPLE_COLUMNS, "written_at")
        with self._transaction() as conn:
            conn.executemany(
                f"INSERT OR REPLACE INTO samples ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                rows,
            )

    def update_grades(
        self,
        updates: Sequence[tuple[SampleKey, GradeResult]],
        *,
        graded_responses: Sequence[str | None] | None = None,
    ) -> int:
        """Store grader output for existing samples; returns how many grades were stored.

        Without ``graded_responses``, keys without a stored sample raise StoreError. With them (one per
        update: the response text that was graded), a grade is stored only on the row that still holds
        exactly that response; others are skipped, not raised: the row was rewritten with another
        response since (another writer, a redone sample), and that response gets its own grade. The
        text itself is compared, not a hash of it: exact, and nothing to compute per sample.
        """
        if not updates:
            return 0
        rows = [
            (g.extracted, g.score, g.reason, g.detail, k.task, k.item_id, k.model, k.sample_index)
            for k, g in updates
        ]
        sql = (
            "UPDATE samples SET extracted = ?, score = ?, grade_reason = ?, grade_detail = ? "
            "WHERE task = ? AND item_id = ? AND model = ? AND sample_index = ?"
        )
        with self._transaction() as conn:
            if graded_responses is not None:
                if len(graded_responses) != len(rows):
                    raise ValueError("update_grades: one graded response per update")
                sql += " AND response IS ?"
                return sum(
                    conn.execute(sql, (*row, response)).rowcount
                    for row, response in zip(rows, graded_responses, strict=True)
                )
            missing: list[tuple] = []
            for row in rows:
                if conn.execute(sql, row).rowcount == 0:
                    missing.append(row[4:])
            if missing:
                raise StoreError(
                    f"update_grades: {len(missing)} key(s) have no stored sample, e.g. {missing[0]}; nothing was written"
                )
            return len(rows)

    def clear_grades(self, *, task: str | None = None, model: str | None = None) -> int:
        """Forget grades (e.g. before regrading with a fixed grader); returns the number of rows cleared."""
        where, params = _filters(task=task, model=model)
        with self._transaction() as conn:
            cursor = conn.execute(
                "UPDATE samples SET extracted = NULL, score = NULL, grade_reason = NULL, grade_detail = NULL"
                + _where(where),
                params,
            )
            return cursor.rowcount

    def delete_samples(self, keys: Iterable[KeyTuple]) -> int:
        """Delete samples by key (e.g. the :meth:`stale_keys` before a resume re-generates them)."""
        rows = [tuple(k) for k in keys]
        if not rows:
            return 0
        with self._transaction() as conn:
            deleted = 0
            for row in rows:
                deleted += conn.execute(
                    "DELETE FROM samples WHERE task = ? AND item_id = ? AND model = ? AND sample_index = ?",
                    row,
                ).rowcount
            return deleted

    def set_meta(self, key: str, value: str) -> None:
        with self._transaction() as conn:
            conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def get_meta(self, key: str) -> str | None:
        rows = self._query("SELECT value FROM meta WHERE key = ?", (key,))
        return rows[0][0] if rows else None

    # -- resume -----------------------------------------------------------------------------------

    def completed_keys(
        self, *, retry_transient_errors: bool = True, retry_all_errors: bool = False
    ) -> set[KeyTuple]:
        """Keys a resumed run must skip.

        A row is complete when the request succeeded (no error; normally a response, possibly an
        empty one the server chose to send) or failed with a client error (4xx, retrying would
        fail again). Rows that failed otherwise (timeouts, 5xx, connection errors, malformed answers,
        or an error of unknown kind) count as complete only when ``retry_transient_errors`` is False.
        ``retry_all_errors`` (``--retry-failed``) makes every failed row incomplete, client errors too
        (a 401 after the key was fixed).
        """
        sql = f"SELECT {', '.join(_KEY_COLUMNS)} FROM samples"
        if retry_all_errors:
            sql += " WHERE response IS NOT NULL OR error IS NULL"
        elif retry_transient_errors:
            sql += " WHERE response IS NOT NULL OR error IS NULL OR error_kind = 'client'"
        return {(t, i, m, int(s)) for t, i, m, s in self._query(sql)}

    def stale_keys(self, current_prompt_hashes: Mapping[tuple[str, str], str]) -> set[KeyTuple]:
        """Sample keys whose stored prompt hash differs from the current one for the same (task, item).

        Items absent from ``current_prompt_hashes`` are not judged (they may simply not be selected).
        """
        stale: set[KeyTuple] = set()
        for task, item_id, model, index, prompt_hash in self._query(
            f"SELECT {', '.join(_KEY_COLUMNS)}, prompt_hash FROM samples"
        ):
            current = current_prompt_hashes.get((task, item_id))
            if current is not None and current != prompt_hash:
                stale.add((task, item_id, model, int(index)))
        return stale

    # -- reading ----------------------------------------------------------------------------------

    def _paged(
        self, columns: Sequence[str], table: str, key_columns: Sequence[str], where: list[str], params: list
    ) -> Iterator[tuple]:
        """Yield rows ordered by key, one page per query, so writers are never blocked by a slow consumer."""
        select = f"SELECT {', '.join(columns)} FROM {table}"
        order = f" ORDER BY {', '.join(key_columns)} LIMIT {_PAGE_SIZE}"
        key_positions = [columns.index(c) for c in key_columns]
        last: tuple | None = None
        while True:
            clauses = list(where)
            page_params = list(params)
            if last is not None:
                clauses.append(f"({', '.join(key_columns)}) > ({', '.join('?' * len(key_columns))})")
                page_params.extend(last)
            sql = select + _where(clauses) + order
            rows = self._query(sql, page_params)
            yield from rows
            if len(rows) < _PAGE_SIZE:
                return
            last = tuple(rows[-1][p] for p in key_positions)

    def iter_samples(
        self,
        *,
        task: str | None = None,
        model: str | None = None,
        graded_only: bool = False,
        ungraded_only: bool = False,
        needs_grading: bool = False,
    ) -> Iterator[SampleRecord]:
        """``needs_grading``: rows with a response that are ungraded or whose grading failed (reason "error")."""
        if graded_only and ungraded_only:
            raise ValueError("iter_samples: graded_only and ungraded_only are mutually exclusive")
        where, params = _filters(task=task, model=model, graded_only=graded_only, ungraded_only=ungraded_only)
        if needs_grading:
            where.append("response IS NOT NULL AND error IS NULL AND (score IS NULL OR grade_reason = 'error')")
        for row in self._paged(_SAMPLE_COLUMNS, "samples", _KEY_COLUMNS, where, params):
            values = dict(zip(_SAMPLE_COLUMNS, row, strict=True))
            values["params"] = SamplingParams.model_validate_json(values["params"])
            yield SampleRecord.model_validate(values)

    def iter_outcomes(self, *, task: str | None = None, model: str | None = None) -> Iterator[SampleOutcome]:
        """Like :meth:`iter_samples` without the response text and request details: cheap input for metrics."""
        where, params = _filters(task=task, model=model)
        for row in self._paged(_OUTCOME_COLUMNS, "samples", _KEY_COLUMNS, where, params):
            yield SampleOutcome._make(row)

    def iter_items(self, *, task: str | None = None) -> Iterator[ItemRecord]:
        where, params = _filters(task=task)
        for row in self._paged(_ITEM_COLUMNS, "items", ("task", "item_id"), where, params):
            yield _item_from_row(row)

    def get_item(self, task: str, item_id: str) -> ItemRecord | None:
        rows = self._query(
            f"SELECT {', '.join(_ITEM_COLUMNS)} FROM items WHERE task = ? AND item_id = ?", (task, item_id)
        )
        return _item_from_row(rows[0]) if rows else None

    def item_counts(self) -> dict[str, int]:
        """Items per task in the items table: what a run set out to evaluate (its --limit applied)."""
        return {task: int(n) for task, n in self._query("SELECT task, COUNT(*) FROM items GROUP BY task")}

    def models(self) -> list[str]:
        return [r[0] for r in self._query("SELECT DISTINCT model FROM samples ORDER BY model")]

    def tasks(self) -> list[str]:
        return [
            r[0] for r in self._query("SELECT task FROM items UNION SELECT task FROM samples ORDER BY task")
        ]

    def counts(self) -> dict[str, Any]:
        """Progress numbers.

        ``{"items": int, "samples": int, "responses": int, "graded": int,
        "errors": {error_kind: int}, "reasons": {grade_reason: int},
        "by_task_model": {task: {model: {"samples", "responses", "graded", "errors", "right"}}}}``
        where ``errors`` counts rows without a response that carry an error ("unknown" kind when unset)
        and ``right`` counts graded rows with score 1.
        """
        items = self._query("SELECT COUNT(*) FROM items")[0][0]
        per_group = self._query(
            "SELECT task, model, COUNT(*),"
            " SUM(response IS NOT NULL),"
            " SUM(score IS NOT NULL),"
            " SUM(response IS NULL AND error IS NOT NULL),"
            " SUM(score >= 1.0)"
            " FROM samples GROUP BY task, model ORDER BY task, model"
        )
        errors = self._query(
            "SELECT COALESCE(error_kind, 'unknown'), COUNT(*) FROM samples"
            " WHERE response IS NULL AND error IS NOT NULL GROUP BY 1 ORDER BY 1"
        )
        reasons = self._query(
            "SELECT grade_reason, COUNT(*) FROM samples WHERE grade_reason IS NOT NULL GROUP BY 1 ORDER BY 1"
        )
        by_task_model: dict[str, dict[str, dict[str, int]]] = defaultdict(dict)
        totals: Counter[str] = Counter()
        for task, model, n, responses, graded, errs, right in per_group:
            entry = {
                "samples": n,
                "responses": responses or 0,
                "graded": graded or 0,
                "errors": errs or 0,
                "right": right or 0,
            }
            by_task_model[task][model] = entry
            totals.update(entry)
        return {
            "items": items,
            "samples": totals["samples"],
            "responses": totals["responses"],
            "graded": totals["graded"],
            "errors": dict(errors),
            "reasons": dict(reasons),
            "by_task_model": dict(by_task_model),
        }

    def failure_summary(self, tasks: Sequence[str] | None = None, example_chars: int = 160) -> dict[str, FailureSummary]:
        """Per model (over ``tasks``, default all): samples, failed samples (no response), and what failed."""
        where = f" WHERE task IN ({', '.join('?' * len(tasks))})" if tasks is not None else ""
        params = list(tasks or ())
        totals = self._query(
            f"SELECT model, COUNT(*), SUM(response IS NULL AND error IS NOT NULL) FROM samples{where} GROUP BY model",
            params,
        )
        kinds: dict[str, list[tuple[str, int, str]]] = defaultdict(list)
        failed_where = (where + " AND" if where else " WHERE") + " response IS NULL AND error IS NOT NULL"
        for model, kind, count, example in self._query(
            "SELECT model, COALESCE(error_kind, 'unknown'), COUNT(*), MIN(error) FROM samples"
            f"{failed_where} GROUP BY 1, 2 ORDER BY 1, 3 DESC",
            params,
        ):
            text = " ".join(str(example).split())
            text = text if len(text) <= example_chars else text[: example_chars - 1] + "…"
            kinds[model].append((kind, int(count), text))
        return {
            model: FailureSummary(int(n), int(failed or 0), kinds.get(model, []))
            for model, n, failed in totals
        }

    # -- export -----------------------------------------------------------------------------------

    def _iter_export_rows(self) -> Iterator[dict[str, Any]]:
        items = {(i.task, i.item_id): i for i in self.iter_items()}
        for record in self.iter_samples():
            item = items.get((record.task, record.item_id))
            row = record.model_dump(mode="json")
            row["category"] = item.category if item else None
            row["ood"] = item.ood if item else None
            row["query"] = item.query if item else None
            row["gold"] = item.gold if item else None
            yield row

    def export(self, path: Path | str, fmt: ExportFormat) -> int:
        """Write one row per sample, joined with its item's category, ood flag, query and gold.

        ``params`` stays nested in jsonl; csv gets it (and ``gold``) as JSON text; parquet gets a struct
        for params and JSON text for gold (its type varies by task). Returns the number of rows written.
        """
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        if fmt == "jsonl":
            return _export_jsonl(self._iter_export_rows(), path)
        if fmt == "csv":
            return _export_csv(self._iter_export_rows(), path)
        if fmt == "parquet":
            return _export_parquet(self._iter_export_rows(), path)
        raise ValueError(f"export format must be one of jsonl, csv, parquet (got {fmt!r})")


def _item_from_row(row: Sequence[Any]) -> ItemRecord:
    values = dict(zip(_ITEM_COLUMNS, row, strict=True))
    values["ood"] = bool(values["ood"])
    values["gold"] = json.loads(values["gold"]) if values["gold"] is not None else None
    return ItemRecord.model_validate(values)


def _filters(
    *,
    task: str | None = None,
    model: str | None = None,
    graded_only: bool = False,
    ungraded_only: bool = False,
) -> tuple[list[str], list[Any]]:
    """SQL conditions (to be joined with AND) and their parameters."""
    clauses: list[str] = []
    params: list[Any] = []
    if task is not None:
        clauses.append("task = ?")
        params.append(task)
    if model is not None:
        clauses.append("model = ?")
        params.append(model)
    if graded_only:
        clauses.append("score IS NOT NULL")
    if ungraded_only:
        clauses.append("score IS NULL")
    return clauses, params


def _where(clauses: Sequence[str]) -> str:
    return " WHERE " + " AND ".join(clauses) if clauses else ""


EXPORT_COLUMNS = (*_SAMPLE_COLUMNS, "category", "ood", "query", "gold")


def _export_jsonl(rows: Iterable[dict[str, Any]], path: Path) -> int:
    n = 0
    with path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
            n += 1
    return n


def _flat(value: Any) -> Any:
    return json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else value


def _export_csv(rows: Iterable[dict[str, Any]], path: Path) -> int:
    n = 0
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=EXPORT_COLUMNS)
        writer.writeheader()
        for row in rows:
            row["gold"] = json.dumps(row["gold"], ensure_ascii=False)
            writer.writerow({k: _flat(row[k]) for k in EXPORT_COLUMNS})
            n += 1
    return n


def _export_parquet(rows: Iterable[dict[str, Any]], path: Path, batch_rows: int = 10_000) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    params_type = pa.struct(
        [
            ("temperature", pa.float64()),
            ("top_p", pa.float64()),
            ("max_tokens", pa.int64()),
            ("stop", pa.list_(pa.string())),
        ]
    )
    types = {
        "sample_index": pa.int64(),
        "seed": pa.int64(),
        "prompt_tokens": pa.int64(),
        "completion_tokens": pa.int64(),
        "latency_s": pa.float64(),
        "score": pa.float64(),
        "ood": pa.bool_(),
        "params": params_type,
    }
    schema = pa.schema([(c, types.get(c, pa.string())) for c in EXPORT_COLUMNS])
    n = 0
    batch: list[dict[str, Any]] = []
    with pq.ParquetWriter(path, schema) as writer:
        for row in rows:
            row["gold"] = json.dumps(row["gold"], ensure_ascii=False)
            batch.append({k: row[k] for k in EXPORT_COLUMNS})
            if len(batch) >= batch_rows:
                writer.write_table(pa.Table.from_pylist(batch, schema=schema))
                n += len(batch)
                batch = []
        if batch or n == 0:
            writer.write_table(pa.Table.from_pylist(batch, schema=schema))
            n += len(batch)
    return n
