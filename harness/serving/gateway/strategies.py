"""The pool's strategy entries (MoA, MoA (Oracle), Symbolic-MoE, LLM Router) served by the gateway
under their own model names, next to the Avengers.

The strategy logic is harness.strategies.engine's; only its transport differs: member calls go through
the gateway's pool members (their replicas, concurrency limits and retries), are counted in its
metrics, and are returned with the answer (`avengers.choices[i].calls`) and in the request log
instead of a results database. A live request is never answered from earlier calls.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import aiohttp

from harness.client import Choice, Completion
from harness.config import ModelSpec
from harness.serving.gateway.members import Generation, MemberFailed, PoolMember
from harness.serving.gateway.metrics import Metrics
from harness.serving.gateway.prompts import PromptRecogniser
from harness.serving.gateway.schema import ApiError, AvengersOptions, ChatRequest, CompletionRequest
from harness.strategies.audit import CallRecord
from harness.strategies.config import parse_strategy
from harness.strategies.engine import (
    MemberCalls,
    StrategyClient,
    StrategyFailure,
    final_failure,
    total_tokens,
)
from harness.taskset import ChatMessage
from results.records import SamplingParams

if TYPE_CHECKING:  # server.py imports this module
    from harness.serving.gateway.server import GatewaySettings

SEED_STRIDE = 7919  # choice i of a seeded request uses seed + i * SEED_STRIDE, as the Avengers do


@dataclass(frozen=True)
class _Winner:
    generation: Generation


@dataclass(frozen=True)
class StrategyAnswer:
    """One choice: the final call's text (``winner.generation``, the shape the response writers read)."""

    winner: _Winner


class _GatewayTransport:
    """Member calls through the gateway's PoolMembers, counted like the Avengers' own draws."""

    def __init__(self, members: dict[str, PoolMember], metrics: Metrics):
        self.members = members
        self.metrics = metrics

    async def __call__(self, member, messages: list[ChatMessage], params: SamplingParams, seed):
        try:
            draw = await self.members[member].draw(messages, params, 1, seed)
        except MemberFailed as exc:
            self.metrics.inc("avengers_model_calls_total", exc.calls, model=member, outcome="error")
            return exc.failure
        self.metrics.inc("avengers_model_calls_total", draw.calls, model=member, outcome="ok")
        self.metrics.inc("avengers_samples_total", len(draw.generations), model=member)
        self.metrics.observe("avengers_model_seconds", draw.latency_s, model=member)
        return Completion(
            choices=[Choice(text=g.text, finish_reason=g.finish_reason) for g in draw.generations],
            prompt_tokens=draw.prompt_tokens,
            completion_tokens=draw.completion_tokens,
            latency_s=draw.latency_s,
        )


def call_summary(record: CallRecord) -> dict[str, Any]:
    return {
        "step": record.step,
        "member": record.member,
        "ok": record.ok,
        "response": record.response,
        "finish_reason": record.finish_reason,
        "error": record.error,
        "note": record.note,
        "prompt_tokens": record.prompt_tokens,
        "completion_tokens": record.completion_tokens,
        "latency_s": None if record.latency_s is None else round(record.latency_s, 6),
    }


class GatewayStrategies:
    """Every strategy entry of the pool, by model name; members are the pool's endpoint entries."""

    def __init__(self, pool: Sequence[ModelSpec], settings: GatewaySettings):
        self.settings = settings
        endpoints = {spec.name: spec for spec in pool if spec.strategy is None}
        self.configs = {
            spec.name: parse_strategy(spec.name, spec.strategy, set(endpoints))
            for spec in pool
            if spec.strategy is not None
        }
        if settings.name in self.configs:
            raise ValueError(
                f"strategy {settings.name!r} has the gateway's own model name; rename one of them"
            )
        self.member_specs = {n: endpoints[n] for c in self.configs.values() for n in sorted(c.members())}
        self.clients: dict[str, StrategyClient] = {}
        self.metrics: Metrics | None = None
        self.recogniser: PromptRecogniser | None = None

    @property
    def names(self) -> list[str]:
        return list(self.configs)

    def start(
        self,
        session: aiohttp.ClientSession,
        members: dict[str, PoolMember],
        metrics: Metrics,
        recogniser: PromptRecogniser,
    ) -> None:
        """Share the gateway's PoolMembers; members only strategies use get PoolMembers of their own."""
        own = {
            name: PoolMember(session, spec.model_copy(update={"max_attempts": self.settings.member_attempts}))
            for name, spec in self.member_specs.items()
            if name not in members
        }
        calls = MemberCalls(_GatewayTransport({**members, **own}, metrics))
        self.clients = {name: StrategyClient(name, config, calls) for name, config in self.configs.items()}
        self.metrics = metrics
        self.recogniser = recogniser

    def model_cards(self, created: int) -> list[dict[str, Any]]:
        return [
            {"id": name, "object": "model", "created": created, "owned_by": f"avengers-strategy:{c.kind}"}
            for name, c in self.configs.items()
        ]

    async def answer(
        self,
        req: ChatRequest | CompletionRequest,
        record: dict[str, Any],
    ) -> dict[str, Any]:
        """The request answered by strategy ``req.model``: ``{"results", "avengers", "usage"}`` as the
        gateway's response writers take it; 502 when a choice has no final answer."""
        assert self.metrics is not None and self.recogniser is not None, "start() first"
        if req.avengers != AvengersOptions():
            raise ApiError(
                400, f"'avengers' options apply to the router's model, not to strategy {req.model!r}",
                param="avengers",
            )  # fmt: skip
        client = self.clients[req.model]
        messages = request_messages(req)
        recognised = self.recogniser.recognise(messages)
        task = recognised.tasks[0] if recognised else None
        defaults = self.settings
        params = SamplingParams(
            temperature=defaults.temperature if req.temperature is None else req.temperature,
            top_p=defaults.top_p if req.top_p is None else req.top_p,
            max_tokens=req.token_limit or defaults.max_tokens,
            stop=req.stops,
        )
        started = time.perf_counter()
        seeds = [
            None if req.seed is None else (req.seed + SEED_STRIDE * i) & 0x7FFFFFFF for i in range(req.n)
        ]
        outcomes = await asyncio.gather(
            *(client.run(messages, params, seed, task) for seed in seeds), return_exceptions=True
        )
        kind = client.config.kind
        record.update(strategy=req.model, kind=kind, task=task)
        choices, failures = [], []
        for index, outcome in enumerate(outcomes):
            if isinstance(outcome, StrategyFailure):
                failures.append(f"choice {index}: {outcome}")
                continue
            if isinstance(outcome, BaseException):
                raise outcome
            choices.append({"index": index, "calls": [call_summary(r) for r in outcome]})
            failed = final_failure(outcome)
            if failed:
                failures.append(f"choice {index}: {failed}")
        record["choices"] = choices
        self.metrics.inc(
            "avengers_strategy_requests_total", strategy=req.model, outcome="error" if failures else "ok"
        )
        if failures:
            raise ApiError(
                502, f"strategy {req.model!r} ({kind}) gave no answer: " + "; ".join(failures),
                type="upstream_error", code="strategy_failed",
            )  # fmt: skip
        trails: list[list[CallRecord]] = list(outcomes)  # type: ignore[arg-type]
        prompt_tokens = total_tokens(r.prompt_tokens for t in trails for r in t) or 0
        completion_tokens = total_tokens(r.completion_tokens for t in trails for r in t) or 0
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        }
        self.metrics.inc("avengers_tokens_total", prompt_tokens, kind="prompt")
        self.metrics.inc("avengers_tokens_total", completion_tokens, kind="completion")
        record["usage"] = usage
        audit = {
            "strategy": req.model,
            "kind": kind,
            "task": task,
            "choices": choices,
            "seconds": round(time.perf_counter() - started, 6),
        }
        results = [StrategyAnswer(_Winner(Generation(t[-1].response, t[-1].finish_reason))) for t in trails]
        return {"results": results, "avengers": audit, "usage": usage}


def request_messages(req: ChatRequest | CompletionRequest) -> list[dict[str, str]]:
    """The conversation as members are sent it (a legacy completion prompt is one user message)."""
    if isinstance(req, ChatRequest):
        return [
            {"role": "system" if m.role == "developer" else m.role, "content": m.content}
            for m in req.messages
        ]
    return [{"role": "user", "content": req.text}]
