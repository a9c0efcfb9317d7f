"""`route diagnose`: what a fitted router's clusters look like on a run.

- cluster sizes (calibration items per cluster);
- dataset purity: per cluster the share of its largest dataset, and per dataset the mean, over
  its calibration items, of the share of their cluster that comes from the same dataset (1.0 =
  the dataset's items never share a cluster with another dataset);
- where OOD queries land: per OOD task, the datasets that dominate the clusters its queries are
  assigned to, and how far they are from their centroid compared with in-distribution test queries;
- the share of each task's test queries routed first to each model;
- near-ties: clusters whose best and second model (by routing score) are within ``tie_margin``, and
  the share of test queries that land in them.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
from pydantic import BaseModel, Field

from router.cluster import squared_distances
from router.model import Router
from router.split import Split
from router.table import OutcomeTable


class OODLanding(BaseModel):
    task: str
    queries: int
    clusters_used: int
    dominant_datasets: dict[str, float] = Field(
        description="majority dataset of the landing cluster -> share"
    )
    distance_ratio: float = Field(
        description="mean distance to centroid / that of in-distribution test queries"
    )


class Diagnosis(BaseModel):
    n_clusters: int
    sizes: list[int] = Field(description="calibration items per cluster, largest first")
    cluster_purity: list[float] = Field(
        description="per cluster (same order as sizes): largest dataset's share"
    )
    dataset_purity: dict[str, float]
    ood: list[OODLanding]
    routing_share: dict[str, dict[str, float]]
    near_ties: list[tuple[int, str, str, float]] = Field(description="(cluster, best, second, gap)")
    near_tie_query_share: float
    tie_margin: float


def diagnose(
    router: Router,
    table: OutcomeTable,
    embeddings: np.ndarray,
    split: Split | None,
    *,
    tie_margin: float = 0.02,
) -> Diagnosis:
    labels = router.calibration_labels
    tasks = np.array([t for t, _ in router.calibration_keys], dtype=object)
    k = router.centroids.shape[0]
    sizes = np.bincount(labels, minlength=k)
    majority, purity = {}, np.zeros(k)
    for c in range(k):
        members = Counter(tasks[labels == c].tolist())
        if members:
            majority[c], top = members.most_common(1)[0]
            purity[c] = top / sizes[c]
    same_share = np.array(
        [np.mean(tasks[labels == labels[i]] == tasks[i]) for i in range(len(labels))], dtype=np.float64
    )
    dataset_purity = {t: float(same_share[tasks == t].mean()) for t in sorted(set(tasks.tolist()))}

    calibration = set(router.calibration_keys)
    test_keys = split.test if split is not None else {k_ for k_ in table.keys if k_ not in calibration}
    test_rows = table.rows_of(test_keys)
    assigned = router.assign(embeddings[test_rows])
    distance = np.sqrt(np.maximum(squared_distances(embeddings[test_rows], router.centroids), 0.0))
    own = distance[np.arange(len(test_rows)), assigned]
    test_tasks = table.task_of[test_rows]
    in_dist = ~np.isin(test_tasks, sorted(table.ood_tasks))
    id_distance = float(own[in_dist].mean()) if in_dist.any() else float("nan")
    ood = []
    for task in sorted(table.ood_tasks):
        mask = test_tasks == task
        if not mask.any():
            continue
        landing = Counter(majority.get(int(c), "?") for c in assigned[mask])
        total = sum(landing.values())
        ood.append(
            OODLanding(
                task=task,
                queries=int(mask.sum()),
                clusters_used=len(set(assigned[mask].tolist())),
                dominant_datasets={t: n / total for t, n in landing.most_common(3)},
                distance_ratio=float(own[mask].mean() / id_distance) if id_distance else float("nan"),
            )
        )

    names = router.models
    positions = [table.models.index(m) for m in names]
    first = np.array(positions)[router.order(embeddings[test_rows])[:, 0]]
    share = {}
    for task in sorted(set(test_tasks.tolist())):
        counts = np.bincount(first[test_tasks == task], minlength=len(table.models))
        share[task] = {table.models[j]: float(counts[j] / counts.sum()) for j in positions}

    scores = router.routing_scores(router.profiles)
    ties = []
    for c in range(k):
        if sizes[c] == 0 or scores.shape[1] < 2:
            continue
        best, second = np.argsort(-scores[c], kind="stable")[:2]
        gap = float(scores[c, best] - scores[c, second])
        if gap <= tie_margin:
            ties.append((c, names[best], names[second], gap))
    tied = {c for c, *_ in ties}
    tie_share = float(np.isin(assigned, sorted(tied)).mean()) if len(assigned) else 0.0
    order = np.argsort(-sizes, kind="stable")
    return Diagnosis(
        n_clusters=k,
        sizes=sizes[order].tolist(),
        cluster_purity=purity[order].round(4).tolist(),
        dataset_purity=dataset_purity,
        ood=ood,
        routing_share=share,
        near_ties=ties,
        near_tie_query_share=tie_share,
        tie_margin=tie_margin,
    )


def diagnosis_markdown(d: Diagnosis) -> str:
    nonempty = [s for s in d.sizes if s]
    lines = [
        f"## Clusters: {d.n_clusters} ({len(nonempty)} non-empty), calibration items per cluster: "
        f"min {min(nonempty)}, median {int(np.median(nonempty))}, max {max(nonempty)}",
        "",
        "largest clusters (size, purity): "
        + ", ".join(f"{s} ({p:.2f})" for s, p in list(zip(d.sizes, d.cluster_purity, strict=True))[:12]),
        "",
        "## Dataset purity (share of an item's cluster from its own dataset, mean over the dataset's items)",
        "",
        "| dataset | purity |",
        "|---|---:|",
        *(f"| {t} | {p:.2f} |" for t, p in d.dataset_purity.items()),
    ]
    if d.ood:
        lines += [
            "",
            "## Where OOD queries land",
            "",
            "| OOD task | queries | clusters | lands with | distance ratio |",
        ]
        lines.append("|---|---:|---:|---|---:|")
        for o in d.ood:
            where = ", ".join(f"{t} {100 * s:.0f}%" for t, s in o.dominant_datasets.items())
            lines.append(f"| {o.task} | {o.queries} | {o.clusters_used} | {where} | {o.distance_ratio:.2f} |")
    models = sorted({m for share in d.routing_share.values() for m in share})
    lines += ["", "## Share of test queries routed first to each model", ""]
    lines.append("| task | " + " | ".join(m.split("/")[-1] for m in models) + " |")
    lines.append("|---|" + "---:|" * len(models))
    for task, share in d.routing_share.items():
        lines.append(f"| {task} | " + " | ".join(f"{100 * share.get(m, 0):.1f}%" for m in models) + " |")
    lines += [
        "",
        f"## Near-ties (best - second <= {d.tie_margin:g}): {len(d.near_ties)} clusters, "
        f"{100 * d.near_tie_query_share:.1f}% of test queries",
        "",
        *(f"- cluster {c}: {b} vs {s} (gap {g:.3f})" for c, b, s, g in d.near_ties[:20]),
    ]
    return "\n".join(lines)
