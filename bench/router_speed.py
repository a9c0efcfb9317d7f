"""Router speed: fit time for 12k queries x 384-dim at K=64, and routing latency per query.

Goals: fit < 5 s, route < 1 ms per query (embedding excluded; embedding is the embedder's cost).
Peers measured in the same run: KMeans with the Lloyd algorithm for the fit, and a bare numpy
nearest-centroid lookup (the floor any router must pay) for routing.

    python bench/router_speed.py [--n 12000] [--dim 384] [--k 64] [--models 10] [--queries 2000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from router.model import Router, RouterConfig  # noqa: E402

FIT_GOAL_S = 5.0
ROUTE_GOAL_MS = 1.0


def unit_rows(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    x = rng.standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=12_000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--k", type=int, default=64)
    parser.add_argument("--models", type=int, default=10)
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    x = unit_rows(rng, args.n, args.dim)
    scores = (rng.random((args.n, args.models)) < 0.5).astype(np.float64)
    names = [f"model-{j}" for j in range(args.models)]

    def fit(algorithm: str) -> tuple[float, float, Router | None]:
        """(wall s, CPU s of this process, router)"""
        started, cpu = time.perf_counter(), time.process_time()
        router = None
        if algorithm == "elkan":
            router = Router.fit(x, scores, names, RouterConfig(k=args.k, seed=1))
        else:
            from sklearn.cluster import KMeans

            KMeans(n_clusters=args.k, n_init="auto", max_iter=1000, algorithm="lloyd", random_state=1).fit(
                x.astype(np.float64)
            )
        return time.perf_counter() - started, time.process_time() - cpu, router

    fit_times, fit_cpu, lloyd_times, router = [], [], [], None
    for _ in range(args.repeats):
        elapsed, cpu, router = fit("elkan")
        fit_times.append(elapsed)
        fit_cpu.append(cpu)
        lloyd_times.append(fit("lloyd")[0])
    fit_s, lloyd_s = statistics.median(fit_times), statistics.median(lloyd_times)

    queries = unit_rows(rng, args.queries, args.dim)
    for q in queries[:50]:  # warm-up
        router.route_embeddings(q[None, :])
    started = time.perf_counter()
    for q in queries:
        router.route_embeddings(q[None, :], top_n=1)
    route_ms = (time.perf_counter() - started) / args.queries * 1e3

    centroids = router.centroids
    started = time.perf_counter()
    for q in queries:
        int(np.argmin(((centroids - q) ** 2).sum(axis=1)))
    floor_ms = (time.perf_counter() - started) / args.queries * 1e3

    started = time.perf_counter()
    router.route_embeddings(queries, top_n=3)
    batch_ms = (time.perf_counter() - started) / args.queries * 1e3

    soft = Router(
        router.meta.model_copy(update={"config": router.config.model_copy(update={"routing": "soft"})}),
        router.centroids,
        router.profiles,
        router.calibration_keys,
        router.calibration_labels,
    )
    started = time.perf_counter()
    for q in queries:
        soft.route_embeddings(q[None, :], top_n=1)
    soft_ms = (time.perf_counter() - started) / args.queries * 1e3

    print(f"router fit: {args.n} x {args.dim} embeddings, K={args.k}, {args.models} models")
    print(
        f"  fit (kmeans elkan + profiles): {fit_s:.2f} s (median of {args.repeats}); goal < {FIT_GOAL_S:.0f} s: "
        f"{'met' if fit_s < FIT_GOAL_S else 'MISSED'} (CPU time {statistics.median(fit_cpu):.2f} s; wall time "
        "grows when other work shares the cores)"
    )
    print(f"  peer KMeans lloyd:             {lloyd_s:.2f} s; ratio fit/peer = {fit_s / lloyd_s:.2f}")
    print(f"route latency (embedding excluded), {args.queries} queries")
    print(
        f"  one query at a time (nearest): {route_ms:.3f} ms/query; goal < {ROUTE_GOAL_MS:.0f} ms: "
        f"{'met' if route_ms < ROUTE_GOAL_MS else 'MISSED'}"
    )
    print(f"  one query at a time (soft):    {soft_ms:.3f} ms/query")
    print(f"  batched, top-3:                {batch_ms:.4f} ms/query")
    print(
        f"  peer bare numpy argmin:        {floor_ms:.3f} ms/query; ratio route/peer = {route_ms / floor_ms:.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
