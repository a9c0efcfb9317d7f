"""The Avengers router: embed queries, cluster them, profile models per cluster, route and vote.

Modules, one job each:
    embedders    query embeddings (offline MiniLM, sentence-transformers, OpenAI-compatible endpoint) + disk cache
    split        seeded hash-based calibration/test splits, or a run's recorded split
    cluster      scikit-learn clusterers and nearest-centroid assignment
    profiles     per-cluster x model accuracy (paper: raw mean), priors, CI ties, cost trade-off (alpha)
    model        the fitted Router: routing variants (nearest, soft, knn, several K) and the .npz artifact
    voting       Self-Consistency and Model-Switch over stored samples
    scoring      per-item correctness of a routing decision
    baselines    single models, Max Expert, Oracle, random and kNN routers
    selection    model-set selection by s(m) = sum_c 1/rank_c(m)
    incremental  adding a model or a dataset to a fitted router
    evaluate     multi-seed evaluation, K sweep, #models curve
    reports      Table 2/3 markdown + CSV, PNG figures
    importers    public per-query tables (RouterDC, RouterBench, LLMRouter, LLMRouterBench, long rows)
    costs        what each stored sample cost: pool prices x tokens, or imported costs
    frontier     accuracy vs cost over alpha (Avengers-Pro), with single models, Max Expert, Oracle
    diagnose     cluster sizes, dataset purity, OOD landing, routing shares, near-ties
    table, runs  a run's items x models view; run-directory glue
    cli          `harness route fit|eval|select|sweep|import|frontier|diagnose`

Online use: ``Router.load(path).route(query_text, top_n=1) -> list[str]``.
"""

from router.model import Router, RouterConfig

__all__ = ["Router", "RouterConfig"]
