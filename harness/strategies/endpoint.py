"""The scheduler's hook: a strategy pool entry becomes one 'replica' whose client is a StrategyClient."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import aiohttp

from harness.config import ModelSpec
from harness.strategies.audit import StrategyLog, prompt_key
from harness.strategies.config import parse_strategy
from harness.strategies.engine import EndpointTransport, MemberCalls, StrategyClient


def items_by_prompt(tasks: Sequence, items: Mapping[str, Sequence]) -> dict[str, tuple[str, str]]:
    """prompt key -> (task, item id), so audit rows name the item (first item wins on identical prompts)."""
    out: dict[str, tuple[str, str]] = {}
    for task in tasks:
        for item in items.get(task.name, []):
            out.setdefault(prompt_key([m.model_dump() for m in item.messages]), (task.name, item.id))
    return out


def strategy_client(
    session: aiohttp.ClientSession,
    spec: ModelSpec,
    pool: Sequence[ModelSpec],
    db_path,
    index: Mapping[str, tuple[str, str]] | None = None,
) -> StrategyClient:
    by_name = {m.name: m for m in pool if m.strategy is None}
    config = parse_strategy(spec.name, spec.strategy or {}, set(by_name))
    members = {name: by_name[name] for name in config.members()}
    calls = MemberCalls(EndpointTransport(session, members), StrategyLog(db_path))
    return StrategyClient(spec.name, config, calls, index)
