"""Accuracy-cost routing (alpha) and the frontier on a hand-built table whose frontier is known."""

from __future__ import annotations

import numpy as np
import pytest

from router.costs import with_costs
from router.evaluate import split_provider
from router.frontier import FrontierPoint, cost_frontier, oracle_choice, pareto
from router.model import Router, RouterConfig
from router.scoring import ScoreBook
from router.table import build_table

from .helpers import item, outcome


def priced_table(n: int = 30):
    """Tasks alpha and beta in two tight blobs. 'big' is right everywhere and costs 10 per sample;
    'small' is right on alpha only and costs 1.

    Known answer: alpha = 1 routes everything to big (100%, cost 10); any 0.5 <= alpha < 1 sends
    alpha to small and beta to big (100%, cost 5.5); alpha < 0.5 sends everything to small (50%, 1).
    """
    rng = np.random.default_rng(0)
    items, samples, vectors, costs = [], [], [], {}
    for task, axis in (("alpha", 0), ("beta", 1)):
        for i in range(n):
            item_id = f"{i:03d}"
            items.append(item(task, item_id))
            for model, right, cost in (("big", True, 10.0), ("small", task == "alpha", 1.0)):
                samples.append(outcome(task, item_id, model, 0, 1.0 if right else 0.0))
                costs[(task, item_id, model)] = cost
            v = np.zeros(6)
            v[axis] = 1.0
            vectors.append(v + 0.03 * rng.standard_normal(6))
    table = with_costs(build_table(items, samples), costs)
    embeddings = np.zeros((len(table), 6))
    for it, v in zip(items, vectors, strict=True):
        embeddings[table.index[(it.task, it.item_id)]] = v
    return table, embeddings / np.linalg.norm(embeddings, axis=1, keepdims=True)


def test_frontier_on_a_table_whose_frontier_is_known():
    table, embeddings = priced_table()
    book = ScoreBook(table)
    report = cost_frontier(
        table,
        embeddings,
        RouterConfig(k=2),
        [1, 2],
        split_provider(table, None, 0.5),
        book=book,
        alphas=[0.0, 0.25, 0.5, 0.75, 1.0],
    )
    by_alpha = {p.alpha: (round(p.accuracy, 6), round(p.cost, 6)) for p in report.router_points()}
    assert by_alpha == {
        0.0: (50.0, 1.0),
        0.25: (50.0, 1.0),
        0.5: (100.0, 5.5),
        0.75: (100.0, 5.5),
        1.0: (100.0, 10.0),
    }
    points = {p.label: p for p in report.points}
    assert (points["big"].accuracy, points["big"].cost) == (100.0, 10.0)
    assert (points["small"].accuracy, points["small"].cost) == (50.0, 1.0)
    assert (points["Max Expert"].accuracy, points["Max Expert"].cost) == (100.0, 10.0)
    assert (points["Oracle"].accuracy, points["Oracle"].cost) == (100.0, 5.5)
    assert report.best_single == "big"
    assert report.match is not None and (report.match.alpha, report.match.cost) == (0.5, 5.5)
    frontier = {(p.label, p.cost) for p in report.points if p.on_frontier}
    # points with equal (cost, accuracy) are all on the frontier
    assert frontier == {
        ("Avengers α=0.5", 5.5),
        ("Avengers α=0.75", 5.5),
        ("small", 1.0),
        ("Avengers α=0", 1.0),
        ("Avengers α=0.25", 1.0),
    }
    assert not points["big"].on_frontier and not points["Avengers α=1"].on_frontier


def test_alpha_is_stored_in_the_artifact_and_needs_costs(tmp_path):
    table, embeddings = priced_table()
    book = ScoreBook(table)
    cheap = Router.fit(
        embeddings,
        book.mean,
        table.models,
        RouterConfig(k=2, alpha=0.75),
        calibration_keys=table.keys,
        item_costs=book.single_cost,
    )
    loaded = Router.load(cheap.save(tmp_path / "r.npz"))
    assert loaded.config.alpha == 0.75
    routed: dict[str, set[str]] = {}
    for (task, _), (first,) in zip(table.keys, loaded.route_embeddings(embeddings), strict=True):
        routed.setdefault(task, set()).add(first)
    assert routed == {"alpha": {"small"}, "beta": {"big"}}
    assert "alpha0.75" in loaded.config.slug()
    with pytest.raises(ValueError, match="costs"):
        Router.fit(embeddings, book.mean, table.models, RouterConfig(k=2, alpha=0.5))


def test_routed_cost_counts_every_voted_sample():
    items = [item("t", "0")]
    samples = [outcome("t", "0", "m", i, 1.0, "4") for i in range(3)]
    table = with_costs(build_table(items, samples), {("t", "0", "m"): 2.0})
    assert ScoreBook(table).routed_cost(np.array([0]), np.array([[0]])).tolist() == [6.0]
    assert ScoreBook(table, samples=2).routed_cost(np.array([0]), np.array([[0]])).tolist() == [4.0]


def test_oracle_takes_the_cheapest_correct_model_and_pareto_drops_dominated_points():
    correct = np.array([[1.0, 1.0, 0.0], [0.0, 0.0, 0.0]])
    cost = np.array([[5.0, 2.0, 1.0], [3.0, 1.0, 2.0]])
    assert oracle_choice(correct, cost).tolist() == [1, 1]
    pts = [
        FrontierPoint(label="a", kind="model", accuracy=50, cost=1),
        FrontierPoint(label="b", kind="model", accuracy=40, cost=2),
        FrontierPoint(label="c", kind="model", accuracy=60, cost=3),
    ]
    assert pareto(pts) == {0, 2}


def test_pool_prices_turn_stored_token_counts_into_costs(tmp_path):
    import json

    from results.store import ResultsStore
    from router.importers import import_long
    from router.runs import open_table

    rows = [
        {
            "task": "t",
            "item": "1",
            "query": "q",
            "model": "a",
            "correct": 1,
            "prompt_tokens": 1000,
            "completion_tokens": 500,
        },
        {
            "task": "t",
            "item": "1",
            "query": "q",
            "model": "b",
            "correct": 1,
            "prompt_tokens": 1000,
            "completion_tokens": 500,
        },
    ]
    (tmp_path / "rows.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    with ResultsStore(tmp_path / "run") as store:
        import_long(tmp_path / "rows.jsonl", store)
    pool = tmp_path / "pool.yaml"
    pool.write_text(
        "models:\n"
        "  - {name: a, base_url: 'http://gpu1:8000/v1', price_input_per_mtok: 1.0, price_output_per_mtok: 4.0,"
        " cost_per_call: 0.001}\n"
        "  - {name: b, base_url: 'http://gpu2:8000/v1'}\n"
    )
    table, _ = open_table(tmp_path / "run", prices=pool)
    a, b = (table.cells[0][table.models.index(m)][0].cost for m in ("a", "b"))
    assert a == pytest.approx(0.001 + 1000 * 1.0 / 1e6 + 500 * 4.0 / 1e6) and b == 0.0
