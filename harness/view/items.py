"""One item across models: every model's samples for the same query, the votes and the difficulty.

Votes follow :mod:`router.voting` (the same rules as the report's SC@n): samples without an extracted
answer do not vote, answers are grouped with the task grader's equivalence, the largest group wins.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from typing import Any

from harness.view.db import RunDatabase
from harness.view.render import render_markdown
from harness.view.samples import OUTCOME_CASE
from results.records import TaskInfo
from router.voting import Sample, _groups, exact_match, majority

Equivalence = Callable[[str, str], bool]


def equivalence_for(info: TaskInfo | None) -> Equivalence:
    if info is None:
        return exact_match
    from graders import same_answer

    def same(a: str, b: str) -> bool:
        try:
            return same_answer(info.grader, a, b, info.grader_options)
        except Exception:  # an answer the grader cannot parse is only equal to itself
            return a == b

    return same


def _vote_table(samples: list[dict[str, Any]], same: Equivalence) -> list[dict[str, Any]]:
    """Answer groups, largest first: the answer, its score, and how many votes each model gave it."""
    votes = [Sample(s["extracted"], float(s["score"] or 0.0)) for s in samples]
    table = []
    for group in _groups(votes, same):
        head = samples[group[0]]
        per_model: dict[str, int] = {}
        for index in group:
            per_model[samples[index]["model"]] = per_model.get(samples[index]["model"], 0) + 1
        table.append(
            {"answer": head["extracted"], "score": head["score"], "votes": len(group), "by_model": per_model}
        )
    return sorted(table, key=lambda g: -g["votes"])


def item_view(db: RunDatabase, task: str, item_id: str, info: TaskInfo | None) -> dict[str, Any] | None:
    items = db.query("SELECT * FROM items WHERE task = ? AND item_id = ?", (task, item_id))
    samples = db.query(
        "SELECT s.model, s.sample_index, s.extracted, s.score, s.grade_reason, s.finish_reason,"
        f" s.completion_tokens, {OUTCOME_CASE} AS outcome FROM samples s"
        " WHERE s.task = ? AND s.item_id = ? ORDER BY s.model, s.sample_index",
        (task, item_id),
    )
    if not items and not samples:
        return None
    item = items[0] if items else {"task": task, "item_id": item_id}
    if item.get("gold") is not None:
        with contextlib.suppress(TypeError, ValueError):
            item["gold"] = json.loads(item["gold"])
    same = equivalence_for(info)
    models: dict[str, list[dict[str, Any]]] = {}
    for s in samples:
        models.setdefault(s["model"], []).append(s)
    per_model = []
    for model, rows in models.items():
        score, answer = majority([Sample(r["extracted"], float(r["score"] or 0.0)) for r in rows], same)
        graded = [r for r in rows if r["score"] is not None]
        per_model.append(
            {
                "model": model,
                "samples": rows,
                "majority_answer": answer,
                "majority_score": score,
                "mean_score": sum(r["score"] for r in graded) / len(graded) if graded else None,
            }
        )
    pooled_score, pooled_answer = majority(
        [Sample(s["extracted"], float(s["score"] or 0.0)) for s in samples], same
    )
    graded_all = [s for s in samples if s["score"] is not None]
    return {
        "item": item,
        "query_html": render_markdown(item.get("query")),
        "models": per_model,
        "max_samples": max((len(rows) for rows in models.values()), default=0),
        "votes": _vote_table(samples, same),
        "majority": {"answer": pooled_answer, "score": pooled_score},
        "difficulty": {
            "models_right": sum(1 for m in per_model if m["majority_score"] >= 1.0),
            "models": len(per_model),
            "share_models_right": (
                sum(1 for m in per_model if m["majority_score"] >= 1.0) / len(per_model)
                if per_model
                else None
            ),
            "share_samples_right": (
                sum(1 for s in graded_all if s["score"] >= 1.0) / len(graded_all) if graded_all else None
            ),
        },
    }
