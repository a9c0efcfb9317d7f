"""The Router page: what a fitted artifact learned and where it sends a query.

Depends only on :meth:`router.model.Router.load`, its routing methods and the artifact's documented
fields (meta, centroids, profiles, calibration keys and labels). Plots and tables that `route sweep`
and `route eval` leave in the router folder (``*.png``, ``report.json`` with ``routing_share``) are
listed when present.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from harness.view.db import RunDatabase
from harness.view.items import equivalence_for
from results.records import TaskInfo
from router.model import Router
from router.profiles import model_order
from router.voting import Sample, model_switch

EXAMPLES_PER_CLUSTER = 3
NEAREST_CLUSTERS = 5


def router_folder(run_dir: Path) -> Path:
    return Path(run_dir) / "router"


def list_artifacts(run_dir: Path) -> dict[str, Any]:
    folder = router_folder(run_dir)
    if not folder.is_dir():
        return {"artifacts": [], "plots": []}
    return {
        "artifacts": [str(p.relative_to(folder)) for p in sorted(folder.rglob("*.npz"))],
        "plots": [str(p.relative_to(folder)) for p in sorted(folder.rglob("*.png"))],
        "tables": [str(p.relative_to(folder)) for p in sorted(folder.rglob("*.csv"))],
    }


def artifact_path(run_dir: Path, name: str) -> Path:
    folder = router_folder(run_dir).resolve()
    path = (folder / name).resolve()
    if folder not in path.parents or path.suffix not in {".npz", ".png", ".csv"}:
        raise FileNotFoundError(f"no router file {name!r} in {folder}")
    if not path.is_file():
        raise FileNotFoundError(f"no router file {name!r} in {folder}")
    return path


def _stored_routing_shares(run_dir: Path) -> list[dict[str, Any]]:
    """``routing_share`` tables of `route eval` reports in the router folder (test queries)."""
    shares = []
    for path in sorted(router_folder(run_dir).rglob("report.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and isinstance(data.get("routing_share"), dict):
            shares.append(
                {"source": str(path.relative_to(router_folder(run_dir))), "share": data["routing_share"]}
            )
    return shares


def router_summary(router: Router, db: RunDatabase, run_dir: Path) -> dict[str, Any]:
    meta = router.meta
    labels = router.calibration_labels
    sizes = np.bincount(labels, minlength=meta.n_clusters)
    order = model_order(router.profiles.scores, router.profiles.global_accuracy, meta.models)
    tasks_by_cluster: dict[int, Counter[str]] = {c: Counter() for c in range(meta.n_clusters)}
    members: dict[int, list[tuple[str, str]]] = {c: [] for c in range(meta.n_clusters)}
    for (task, item_id), label in zip(router.calibration_keys, labels.tolist(), strict=True):
        tasks_by_cluster[label][task] += 1
        if len(members[label]) < EXAMPLES_PER_CLUSTER:
            members[label].append((task, item_id))
    clusters = []
    for c in range(meta.n_clusters):
        examples = []
        for task, item_id in members[c]:
            rows = db.query("SELECT query FROM items WHERE task = ? AND item_id = ?", (task, item_id))
            examples.append({"task": task, "item_id": item_id, "query": rows[0]["query"] if rows else None})
        clusters.append(
            {
                "cluster": c,
                "size": int(sizes[c]),
                "top_tasks": tasks_by_cluster[c].most_common(3),
                "examples": examples,
                "best_models": [meta.models[j] for j in order[c][:3]],
            }
        )
    # Share of calibration queries whose cluster's top model is each model, per task.
    per_task: dict[str, Counter[str]] = {}
    for (task, _), label in zip(router.calibration_keys, labels.tolist(), strict=True):
        per_task.setdefault(task, Counter())[meta.models[order[label][0]]] += 1
    calibration_share = {
        task: {m: n / sum(counts.values()) for m, n in counts.items()}
        for task, counts in sorted(per_task.items())
    }
    scores = router.profiles.scores
    return {
        "meta": json.loads(meta.model_dump_json()),
        "models": meta.models,
        "clusters": clusters,
        "profile": [[None if not np.isfinite(v) else round(float(v), 4) for v in row] for row in scores],
        "profile_counts": router.profiles.counts.astype(float).round(2).tolist(),
        "global_accuracy": [round(float(v), 4) for v in router.profiles.global_accuracy],
        "routing_share": [
            {"source": "calibration queries (top model of each query's cluster)", "share": calibration_share},
            *_stored_routing_shares(run_dir),
        ],
    }


def route_query(
    router: Router,
    db: RunDatabase,
    *,
    text: str | None,
    task: str | None,
    item_id: str | None,
    top_n: int,
    task_info: dict[str, TaskInfo],
) -> dict[str, Any]:
    """Nearest clusters, models chosen and (for a stored item) the Model-Switch vote over its samples."""
    if text is None:
        rows = db.query("SELECT query FROM items WHERE task = ? AND item_id = ?", (task, item_id))
        if not rows:
            raise KeyError(f"no item {task}/{item_id} in this run")
        text = rows[0]["query"]
    embedding = np.asarray(router.embedder().embed([text]), dtype=np.float64)
    unit = embedding[0] / max(float(np.linalg.norm(embedding[0])), 1e-12)
    finite = np.isfinite(router.centroids).all(axis=1)
    centroids = np.where(finite[:, None], router.centroids, 0.0)
    norms = np.maximum(np.linalg.norm(centroids, axis=1), 1e-12)
    distance = np.where(finite, 1.0 - (centroids @ unit) / norms, np.inf)
    nearest = np.argsort(distance, kind="stable")[:NEAREST_CLUSTERS]
    order = model_order(router.profiles.scores, router.profiles.global_accuracy, router.models)
    chosen = router.route_embeddings(embedding, top_n=top_n)[0]
    result: dict[str, Any] = {
        "query": text,
        "routing": router.config.routing,
        "nearest": [
            {
                "cluster": int(c),
                "distance": round(float(distance[c]), 4),
                "best_models": [router.models[j] for j in order[c][:3]],
            }
            for c in nearest
        ],
        "chosen": chosen,
        "vote": None,
    }
    if task is not None and item_id is not None:
        same = equivalence_for(task_info.get(task))
        per_model = []
        for model in chosen:
            rows = db.query(
                "SELECT extracted, score FROM samples WHERE task = ? AND item_id = ? AND model = ?"
                " AND score IS NOT NULL ORDER BY sample_index",
                (task, item_id, model),
            )
            per_model.append([Sample(r["extracted"], float(r["score"])) for r in rows])
        info = task_info.get(task)
        outcome = model_switch(per_model, same, first_sample_only=bool(info and info.is_code))
        result["vote"] = {
            "answer": outcome.answer,
            "score": outcome.score,
            "models_used": outcome.models_used,
            "stopped_early": outcome.stopped_early,
            "samples": {m: len(s) for m, s in zip(chosen, per_model, strict=True)},
        }
    return result
