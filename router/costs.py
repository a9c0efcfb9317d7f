"""What each stored sample cost, for accuracy-cost routing (Avengers-Pro) and cost reporting.

Two sources, in this order of precedence per (task, item, model):

- prices in the pool file (``price_input_per_mtok``, ``price_output_per_mtok``, ``cost_per_call`` on a
  model) applied to each sample's stored token usage;
- costs recorded at import time (public tables that carry a cost per query and model) in the run's
  meta table under :data:`COST_META_KEY`: ``{"unit": ..., "costs": {task: {item: {model: cost}}}}``,
  the cost of one sample.

Costs are in whatever unit the source uses (normally US dollars); they are only compared with each other.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import replace

from router.table import OutcomeTable

COST_META_KEY = "router.costs"
CostKey = tuple[str, str, str]  # task, item_id, model


class CostError(ValueError):
    pass


def encode_costs(costs: Mapping[CostKey, float], existing: str | None = None, unit: str = "USD") -> str:
    merged = decode_costs(existing) if existing else {}
    merged.update(costs)
    nested: dict[str, dict[str, dict[str, float]]] = {}
    for (task, item, model), cost in sorted(merged.items()):
        nested.setdefault(task, {}).setdefault(item, {})[model] = float(cost)
    return json.dumps({"unit": unit, "costs": nested})


def decode_costs(text: str) -> dict[CostKey, float]:
    try:
        nested = json.loads(text)["costs"]
        return {
            (task, item, model): float(cost)
            for task, items in nested.items()
            for item, models in items.items()
            for model, cost in models.items()
        }
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise CostError(f"run meta '{COST_META_KEY}' is not a cost table ({exc})") from exc


def record_costs(store, costs: Mapping[CostKey, float]) -> None:
    if costs:
        store.set_meta(COST_META_KEY, encode_costs(costs, store.get_meta(COST_META_KEY)))


def sample_cost(spec, prompt_tokens: int | None, completion_tokens: int | None) -> float | None:
    """The cost of one request of ``spec`` (a harness.config.ModelSpec), or None without prices."""
    prices = (spec.price_input_per_mtok, spec.price_output_per_mtok, spec.cost_per_call)
    if all(p is None for p in prices):
        return None
    cost = spec.cost_per_call or 0.0
    cost += (spec.price_input_per_mtok or 0.0) * (prompt_tokens or 0) / 1e6
    cost += (spec.price_output_per_mtok or 0.0) * (completion_tokens or 0) / 1e6
    return cost


def token_costs(samples: Iterable, pool) -> dict[tuple[str, str, str, int], float]:
    """Per stored sample (task, item, model, index), its cost from the pool's prices and its tokens."""
    specs = {m.name: m for m in pool.models}
    out: dict[tuple[str, str, str, int], float] = {}
    for s in samples:
        spec = specs.get(s.model)
        if spec is None:
            continue
        cost = sample_cost(spec, s.prompt_tokens, s.completion_tokens)
        if cost is not None:
            out[(s.task, s.item_id, s.model, s.sample_index)] = cost
    return out


def with_costs(
    table: OutcomeTable,
    per_item: Mapping[CostKey, float] | None = None,
    per_sample: Mapping[tuple[str, str, str, int], float] | None = None,
) -> OutcomeTable:
    """``table`` whose samples carry their cost (per-sample prices win over recorded per-item costs).

    Samples are stored in index order, so the n-th sample of a cell is the one with the n-th smallest
    stored index; per-sample prices are looked up by position for the common case of indices 0..n-1.
    """
    per_item = per_item or {}
    per_sample = per_sample or {}
    if not per_item and not per_sample:
        return table
    cells = []
    for key, row in zip(table.keys, table.cells, strict=True):
        new_row = []
        for model, samples in zip(table.models, row, strict=True):
            base = per_item.get((key[0], key[1], model))
            new_row.append(
                [
                    replace(s, cost=per_sample.get((key[0], key[1], model, n), base or 0.0))
                    for n, s in enumerate(samples)
                ]
            )
        cells.append(new_row)
    return OutcomeTable(
        keys=table.keys,
        queries=table.queries,
        categories=table.categories,
        ood_tasks=table.ood_tasks,
        models=table.models,
        cells=cells,
        task_infos=table.task_infos,
    )


def missing_costs(table: OutcomeTable) -> list[str]:
    """Models none of whose samples carries a cost (alpha < 1 cannot rank them by cost)."""
    priced = set()
    for row in table.cells:
        for model, cell in zip(table.models, row, strict=True):
            if any(s.cost for s in cell):
                priced.add(model)
    return [m for m in table.models if m not in priced]
