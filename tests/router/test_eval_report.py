"""`route eval` reports: tasks with no test item stay out of the averages; costs are reported."""

from __future__ import annotations

import math

import numpy as np

from router.evaluate import AVENGERS, evaluate
from router.model import RouterConfig
from router.reports import markdown_table
from router.scoring import ScoreBook
from router.split import explicit_split
from router.table import build_table

from .helpers import item, outcome
from .test_frontier import priced_table


def test_a_calibration_only_task_does_not_blank_the_average():
    items, samples = [], []
    rng = np.random.default_rng(0)
    for task in ("a", "b", "calib_only"):
        for n in range(10):
            items.append(item(task, f"{n}"))
            for model in ("x", "y"):
                samples.append(outcome(task, f"{n}", model, 0, float(rng.random() < 0.5)))
    table = build_table(items, samples)
    parts = {
        key: ("calibration" if key[0] == "calib_only" or int(key[1]) < 6 else "test") for key in table.keys
    }
    split = explicit_split(parts, source="test")
    embeddings = rng.standard_normal((len(table), 4))
    report = evaluate(table, embeddings, RouterConfig(k=2), [1], lambda seed: split, book=ScoreBook(table))
    assert report.calibration_only == ["calib_only"]
    assert report.in_distribution == ["a", "b"]
    assert not math.isnan(report.method(AVENGERS).average(report.in_distribution))
    assert "calib_only" not in markdown_table(report).splitlines()[0]
    assert any("calib_only" in note for note in report.notes)


def test_eval_reports_the_cost_of_each_routed_answer():
    table, embeddings = priced_table()
    parts = {key: ("calibration" if int(key[1]) % 2 else "test") for key in table.keys}
    report = evaluate(
        table,
        embeddings,
        RouterConfig(k=2, alpha=0.75),
        [1],
        lambda seed: explicit_split(parts, source="t"),
        book=ScoreBook(table),
    )
    tasks = report.in_distribution
    assert report.method(AVENGERS).cost(tasks) == 5.5  # small on alpha (1), big on beta (10)
    assert report.method("big").cost(tasks) == 10.0
    assert "Cost/query" in markdown_table(report)
