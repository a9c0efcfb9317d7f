"""Avengers on RouterDC's released per-query results (train files calibrate, test files measure).

Embedding all ~15k queries takes >20 min on a 2-core CPU, so this test embeds a seeded subsample
(and keeps the vectors in the on-disk embedding cache for the next run); the full-data figures
come from bench/router_fidelity.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from results.store import ResultsStore
from router.embedders import make_embedder
from router.evaluate import AVENGERS, ORACLE, evaluate, split_provider
from router.importers import import_routerdc
from router.model import RouterConfig
from router.runs import embed_table, open_table
from router.scoring import ScoreBook

BEST_SINGLE_FULL_TEST = 54.56  # dolphin-2.9-llama3-8b, mean over the 5 tasks (routerdata README)
CALIBRATION_PER_TASK = 600  # of 2000/1000/2000/820/115 train items
TEST_PER_TASK = 400  # of 4213/1319/3475/352/49 test items
FULL_CALIBRATION_PER_CLUSTER = 5935 / 64  # the paper's K=64 on all train files
SEEDS = [42, 999, 2024, 2025, 3407]


def _subsample(keys: set, per_task: int, rng: np.random.Generator) -> set:
    by_task: dict[str, list] = {}
    for key in sorted(keys):
        by_task.setdefault(key[0], []).append(key)
    chosen = set()
    for task_keys in by_task.values():
        picks = rng.choice(len(task_keys), size=min(per_task, len(task_keys)), replace=False)
        chosen.update(task_keys[i] for i in picks)
    return chosen


@pytest.mark.slow
def test_avengers_beats_best_single_on_routerdc(routerdata_dir, tmp_path):
    pytest.importorskip("sentence_transformers")
    folder = routerdata_dir / "routerdc_split2_model7"
    if not folder.is_dir():
        pytest.skip(f"{folder} not found")
    with ResultsStore(tmp_path / "run") as store:
        summary = import_routerdc(folder, store)
    assert summary.score_kinds == {
        "arc_challenge": "mc",
        "cmmlu": "mc",
        "gsm8k": "fraction",
        "humaneval": "fraction",
        "mmlu": "mc",
    }
    full, split = open_table(tmp_path / "run")
    assert split is not None and split.source == "routerdc"

    # Full-data sanity: single-model figures from the stored scores match the published table.
    book_full = ScoreBook(full)
    test_rows = full.rows_of(split.test)
    dolphin = full.models.index("cognitivecomputations/dolphin-2.9-llama3-8b")
    per_task = book_full.per_task(test_rows, book_full.single[test_rows, dolphin])
    assert np.mean(list(per_task.values())) == pytest.approx(BEST_SINGLE_FULL_TEST, abs=0.01)

    rng = np.random.default_rng(20240)
    keep = _subsample(split.calibration, CALIBRATION_PER_TASK, rng) | _subsample(
        split.test, TEST_PER_TASK, rng
    )
    table = full.subset([full.index[k] for k in keep])
    embeddings = embed_table(table, make_embedder("minilm", progress=True))

    # Scale K with the subsample so clusters hold as many calibration items as K=64 on the full train
    # files (~93): with fewer items per cluster each cluster's model ranking is mostly noise.
    n_calibration = len(table.rows_of(split.calibration))
    k = round(n_calibration / FULL_CALIBRATION_PER_CLUSTER)
    report = evaluate(
        table,
        embeddings,
        RouterConfig(k=k, split_fraction=None),
        SEEDS,
        split_provider(table, split, None),
        book=ScoreBook(table),
    )
    tasks = report.in_distribution
    assert tasks == ["arc_challenge", "cmmlu", "gsm8k", "humaneval", "mmlu"]
    avengers = report.method(AVENGERS).average(tasks)
    oracle = report.method(ORACLE).average(tasks)
    best_single_here = max(report.method(m).average(tasks) for m in report.models)
    print(
        f"K={k}: avengers {avengers:.2f}, best single on this subsample {best_single_here:.2f}, oracle {oracle:.2f}"
    )
    assert avengers > BEST_SINGLE_FULL_TEST
    assert avengers > best_single_here
    assert avengers < oracle
