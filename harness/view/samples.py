"""Samples of a run, filtered and paged on the server: the browser only ever holds one page.

Outcome classes follow :func:`harness.metrics._classify` so the viewer counts exactly as the report:
a graded sample has its grader's reason (right / wrong / no_answer / truncated; an unknown reason
falls back to right or wrong by score), a failed request is ``error``, the rest is ``ungraded``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from harness.metrics import OUTCOMES
from harness.view.db import RunDatabase
from harness.view.render import render_markdown
from harness.view.search_index import SearchTerms

Outcome = Literal["right", "wrong", "no_answer", "truncated", "error", "ungraded"]
SearchScope = Literal["all", "prompt", "response"]
MAX_PAGE_SIZE = 200
_KNOWN = ", ".join(f"'{o}'" for o in OUTCOMES)

OUTCOME_SQL: dict[str, str] = {
    "error": "((s.score IS NULL AND s.error IS NOT NULL) OR (s.score IS NOT NULL AND s.grade_reason = 'error'))",
    "ungraded": "(s.score IS NULL AND s.error IS NULL)",
    "right": f"(s.score IS NOT NULL AND (s.grade_reason = 'right' OR "
    f"(COALESCE(s.grade_reason, '') NOT IN ({_KNOWN}) AND s.score >= 1.0)))",
    "wrong": f"(s.score IS NOT NULL AND (s.grade_reason = 'wrong' OR "
    f"(COALESCE(s.grade_reason, '') NOT IN ({_KNOWN}) AND s.score < 1.0)))",
    "no_answer": "(s.score IS NOT NULL AND s.grade_reason = 'no_answer')",
    "truncated": "(s.score IS NOT NULL AND s.grade_reason = 'truncated')",
}
OUTCOME_CASE = (
    "CASE "
    + " ".join(f"WHEN {sql} THEN '{name}'" for name, sql in OUTCOME_SQL.items())
    + " ELSE 'ungraded' END"
)
# What a list row shows; the full response is fetched per sample.
_LIST_COLUMNS = (
    "task",
    "item_id",
    "model",
    "sample_index",
    "extracted",
    "score",
    "grade_reason",
    "finish_reason",
    "completion_tokens",
    "latency_s",
    "error",
)
PREVIEW_CHARS = 240


class SampleFilter(BaseModel):
    task: str | None = None
    model: str | None = None
    outcome: Outcome | None = None
    item_id: str | None = None
    q: str | None = Field(default=None, description="full-text search words")
    scope: SearchScope = "all"
    page: int = Field(default=0, ge=0)
    page_size: int = Field(default=50, ge=1, le=MAX_PAGE_SIZE)

    def without_paging(self) -> dict[str, Any]:
        return self.model_dump(exclude={"page", "page_size"}, exclude_none=True)


class SearchUnavailable(RuntimeError):
    """A text search was asked for but the run's search index is not ready."""


# Up to this many estimated hits a search starts from the index's hits (then filters and sorts them);
# beyond, it walks the filtered samples in order and asks the index about each (fast while hits are dense).
HITS_PLAN_LIMIT = 100_000


def _term_docs(db: RunDatabase, vocab: str, terms: SearchTerms) -> int:
    """Upper bound on documents holding every term: the smallest document frequency of one term."""
    bound: int | None = None
    for word, prefix in terms.words:
        if prefix:
            n = db.scalar(
                f"SELECT COALESCE(SUM(doc), 0) FROM (SELECT doc FROM idx.{vocab} WHERE term >= ? AND term < ? LIMIT 10000)",
                (word, word + "\U0010ffff"),
            )
        else:
            n = db.scalar(f"SELECT COALESCE(SUM(doc), 0) FROM idx.{vocab} WHERE term = ?", (word,))
        bound = int(n) if bound is None else min(bound, int(n))
    return bound or 0


def estimated_hits(db: RunDatabase, terms: SearchTerms, scope: SearchScope) -> int:
    estimate = 0
    if scope in ("all", "response"):
        estimate += _term_docs(db, "response_vocab", terms)
    if scope in ("all", "prompt"):
        items = max(1, int(db.scalar("SELECT COUNT(*) FROM items") or 1))
        per_item = int(db.scalar("SELECT COUNT(*) FROM samples") or 0) / items
        estimate += int(_term_docs(db, "item_vocab", terms) * per_item)
    return estimate


def _hits_source(scope: SearchScope, match: str) -> tuple[str, list[Any]]:
    """FROM clause joining the index's hits (deduplicated sample rowids) to the samples."""
    hits: list[str] = []
    params: list[Any] = []
    if scope in ("all", "response"):
        hits.append(
            "SELECT d.sample_rowid AS rid, d.written_at AS w FROM idx.response_fts f"
            " JOIN idx.sample_docs d ON d.docid = f.rowid WHERE f.response_fts MATCH ?"
        )
        params.append(match)
    if scope in ("all", "prompt"):
        hits.append(
            "SELECT s2.rowid AS rid, NULL AS w FROM idx.item_fts f JOIN idx.item_docs d ON d.docid = f.rowid"
            " JOIN samples s2 ON s2.task = d.task AND s2.item_id = d.item_id WHERE f.item_fts MATCH ?"
        )
        params.append(match)
    source = (
        f"(SELECT rid, MAX(w) AS w FROM ({' UNION ALL '.join(hits)}) GROUP BY rid) h"
        " JOIN samples s ON s.rowid = h.rid AND (h.w IS NULL OR h.w = s.written_at)"
    )
    return source, params


def _match_condition(scope: SearchScope, match: str) -> tuple[str, list[Any]]:
    """WHERE condition asking the index whether one sample matches (used when hits are dense)."""
    parts: list[str] = []
    params: list[Any] = []
    if scope in ("all", "response"):
        parts.append(
            "EXISTS (SELECT 1 FROM idx.sample_docs d JOIN idx.response_fts f ON f.rowid = d.docid"
            " WHERE d.sample_rowid = s.rowid AND d.written_at = s.written_at AND f.response_fts MATCH ?)"
        )
        params.append(match)
    if scope in ("all", "prompt"):
        parts.append(
            "EXISTS (SELECT 1 FROM idx.item_docs d JOIN idx.item_fts f ON f.rowid = d.docid"
            " WHERE d.task = s.task AND d.item_id = s.item_id AND f.item_fts MATCH ?)"
        )
        params.append(match)
    return "(" + " OR ".join(parts) + ")", params


def _where(db: RunDatabase, f: SampleFilter, *, for_count: bool = False) -> tuple[str, list[Any], str]:
    """(WHERE clause, parameters, FROM clause) for a filter."""
    clauses: list[str] = []
    params: list[Any] = []
    for column in ("task", "model", "item_id"):
        value = getattr(f, column)
        if value:
            clauses.append(f"s.{column} = ?")
            params.append(value)
    if f.outcome:
        clauses.append(OUTCOME_SQL[f.outcome])
    source = "samples s"
    terms = SearchTerms.parse(f.q) if f.q else None
    match = terms.fts() if terms else None
    if f.q and match is None:
        clauses.append("0")  # only punctuation: nothing can match
    if terms is not None and match is not None:
        if db.attached_index is None:
            raise SearchUnavailable("the search index for this run is not built yet")
        if for_count or estimated_hits(db, terms, f.scope) <= HITS_PLAN_LIMIT:
            source, source_params = _hits_source(f.scope, match)
            params = source_params + params
        else:
            condition, condition_params = _match_condition(f.scope, match)
            clauses.append(condition)
            params += condition_params
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params, source


def sample_page(db: RunDatabase, f: SampleFilter) -> dict[str, Any]:
    """One page of samples (without full responses) and whether another page follows."""
    where, params, source = _where(db, f)
    columns = ", ".join(f"s.{c}" for c in _LIST_COLUMNS if c in db.sample_columns)
    sql = (
        f"SELECT {columns}, substr(s.response, 1, {PREVIEW_CHARS}) AS preview, {OUTCOME_CASE} AS outcome"
        f" FROM {source}{where} ORDER BY s.task, s.item_id, s.model, s.sample_index LIMIT ? OFFSET ?"
    )
    rows = db.query(sql, [*params, f.page_size + 1, f.page * f.page_size])
    return {
        "filter": f.model_dump(exclude_none=True),
        "rows": rows[: f.page_size],
        "has_next": len(rows) > f.page_size,
    }


def sample_count(db: RunDatabase, f: SampleFilter) -> int:
    where, params, source = _where(db, f, for_count=True)
    return int(db.scalar(f"SELECT COUNT(*) FROM {source}{where}", params))


def sample_detail(
    db: RunDatabase, task: str, item_id: str, model: str, sample_index: int
) -> dict[str, Any] | None:
    """Every stored column of one sample (extra columns of newer stores included), its item and HTML."""
    rows = db.query(
        f"SELECT s.*, {OUTCOME_CASE} AS outcome FROM samples s"
        " WHERE s.task = ? AND s.item_id = ? AND s.model = ? AND s.sample_index = ?",
        (task, item_id, model, sample_index),
    )
    if not rows:
        return None
    sample = rows[0]
    items = db.query("SELECT * FROM items WHERE task = ? AND item_id = ?", (task, item_id))
    item = items[0] if items else None
    return {
        "sample": sample,
        "item": item,
        "response_html": render_markdown(sample.get("response")),
        "query_html": render_markdown(item.get("query")) if item else "",
    }


def facets(db: RunDatabase) -> dict[str, list[str]]:
    """Values for the filter menus: tasks and models (read from the store's index, not by scanning)."""
    return {
        "tasks": [r["task"] for r in db.query("SELECT DISTINCT task FROM items ORDER BY task")]
        or [r["task"] for r in db.query("SELECT DISTINCT task FROM samples ORDER BY task")],
        "models": [r["model"] for r in db.query("SELECT DISTINCT model FROM samples ORDER BY model")],
        "outcomes": [*OUTCOMES, "ungraded"],
    }
