"""The Avengers router: embed queries, cluster them, profile models per cluster, route and vote.

Modules, one job each:
    embedders    query embeddings (offline MiniLM, sentence-transformers, OpenAI-compatible endpoint) + disk cache
    split        seeded hash-based calibration/test splits, or a run's recorded split
    cluster      scikit-learn clusterers and nearest-centroid assignment
    profiles     per-cluster x model accuracy with fallback to global accuracy
    model        the fitted Router: routing variants and the .npz artifact
    voting       Self-Consistency and Model-Switch over stored samples
    scoring      per-item correctness of a routing decision
    baselines    single models, Max Expert, Oracle, random and kNN routers
    selection    model-set selection by s(m) = sum_c 1/rank_c(m)
    incremental  adding a model or a dataset to a fitted router
    evaluate     multi-seed evaluation, K sweep, #models curve
    reports      Table 2/3 markdown + CSV, PNG figures
    importers    public per-query tables (RouterDC, long CSV/JSONL) into a results store
    table, runs  a run's items x models view; run-directory glue
    cli          `harness route fit|eval|select|sweep|import`

Online use: ``Router.load(path).route(query_text, top_n=1) -> list[str]``.
"""

from router.model import Router, RouterConfig

__all__ = ["Router", "RouterConfig"]
