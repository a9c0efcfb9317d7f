"""A strategy as an endpoint client: `complete(messages, params, n=1, seed)` like harness.client.EndpointClient,
so the scheduler evaluates it as a model. Each member call goes through a transport (the members' own endpoint
clients, bounded by their max_concurrency, in an eval run; the gateway's pool members when served live), is
written to the audit table and reused on resume (when there is one).
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Mapping, Sequence
from typing import Protocol

import aiohttp

from harness.client import Completion, EndpointClient, RequestFailure, RetryPolicy
from harness.config import ModelSpec
from harness.strategies import prompts
from harness.strategies.audit import CallContext, CallRecord, StrategyLog, prompt_key
from harness.strategies.config import LLMRouterConfig, MoAConfig, SymbolicMoEConfig
from harness.taskset import ChatMessage
from results.records import SamplingParams

# Short, near-deterministic side calls (skill naming, routing): not the task's answer budget.
SIDE_PARAMS = SamplingParams(temperature=0.0, top_p=1.0, max_tokens=64, stop=[])


class StrategyFailure(Exception):
    pass


class MemberTransport(Protocol):
    """One completion (n=1) from the named member; failures come back as values."""

    async def __call__(
        self, member: str, messages: list[ChatMessage], params: SamplingParams, seed: int | None
    ) -> Completion | RequestFailure: ...


class EndpointTransport:
    """Each member's endpoint clients (its replicas in turn), at most ``max_concurrency`` calls at once."""

    def __init__(self, session: aiohttp.ClientSession, specs: Mapping[str, ModelSpec]):
        self._clients = {
            name: itertools.cycle(
                [EndpointClient(session, spec, url, RetryPolicy.for_model(spec)) for url in spec.urls()]
            )
            for name, spec in specs.items()
        }
        self._slots = {name: asyncio.Semaphore(spec.max_concurrency) for name, spec in specs.items()}

    async def __call__(self, member, messages, params, seed):
        async with self._slots[member]:
            return await next(self._clients[member]).complete(messages, params, seed=seed)


class MemberCalls:
    """Calls to pool members on behalf of one strategy; with a ``log``, audited and reused on resume."""

    def __init__(self, transport: MemberTransport, log: StrategyLog | None = None):
        self.transport = transport
        self.log = log

    async def call(
        self,
        ctx: CallContext,
        step: str,
        member: str,
        messages: list[dict],
        params: SamplingParams,
        seed: int | None,
    ) -> CallRecord:
        stored = self.log.find(ctx, step, member) if self.log else None
        if stored is not None:
            return stored
        record = CallRecord(step=step, member=member, request=messages)
        result = await self.transport(member, [ChatMessage(**m) for m in messages], params, seed)
        if isinstance(result, RequestFailure):
            record.error = f"{result.message} (after {result.attempts} attempt(s))"
        elif not result.choices or result.choices[0].text is None:
            record.error = "empty response"
        else:
            record.response = result.choices[0].text
            record.finish_reason = result.choices[0].finish_reason
            record.prompt_tokens, record.completion_tokens = result.prompt_tokens, result.completion_tokens
            record.latency_s = result.latency_s
        if self.log:
            self.log.write(ctx, record)
        return record

    def note(self, ctx: CallContext, record: CallRecord, text: str) -> None:
        record.note = text
        if self.log:
            self.log.note(ctx, record.step, record.member, text)


async def _propose(calls, ctx, step, members, messages, params, seed) -> list[CallRecord]:
    records = await asyncio.gather(*(calls.call(ctx, step, m, messages, params, seed) for m in members))
    if not any(r.ok for r in records):
        raise StrategyFailure(
            f"{step}: every proposer failed: " + "; ".join(f"{r.member}: {r.error}" for r in records)
        )
    return list(records)


async def run_moa(config: MoAConfig, calls: MemberCalls, ctx, messages, params, seed) -> list[CallRecord]:
    proposers = config.proposers_for(ctx.task)
    trail: list[CallRecord] = []
    prompt = messages
    for layer in range(1, config.layers + 1):
        records = await _propose(calls, ctx, f"propose.{layer}", proposers, prompt, params, seed)
        trail += records
        prompt = prompts.with_candidates(messages, [r.response for r in records if r.ok])
    trail.append(await calls.call(ctx, "aggregate", config.aggregator, prompt, params, seed))
    return trail


def recruit(config: SymbolicMoEConfig, skills: Sequence[str]) -> tuple[list[str], str]:
    """The ``recruit`` experts whose profiles best cover ``skills`` (pool order on ties) and why."""
    names = list(config.profiles)
    wanted = set(skills)
    relevance = {n: sum(v for k, v in config.profiles[n].items() if k.lower() in wanted) for n in names}
    basis = "skills " + ", ".join(skills)
    if not any(relevance.values()):  # no named skill is in any profile: overall strength
        relevance = {n: sum(config.profiles[n].values()) for n in names}
        basis = "no profile matches the skills; overall profile strength"
    ranked = sorted(names, key=lambda n: (-relevance[n], names.index(n)))
    return ranked[: config.recruit], basis


async def run_symbolic_moe(config: SymbolicMoEConfig, calls: MemberCalls, ctx, messages, params, seed):
    query = prompts.last_user_text(messages)
    annotated = await calls.call(
        ctx, "skills", config.annotator, prompts.skills_prompt(query), SIDE_PARAMS, seed
    )
    skills = prompts.parse_skills(annotated.response or "")
    experts, basis = recruit(config, skills)
    calls.note(ctx, annotated, f"recruited {', '.join(experts)} ({basis})")
    records = await _propose(calls, ctx, "propose.1", experts, messages, params, seed)
    final_prompt = prompts.with_candidates(messages, [r.response for r in records if r.ok])
    final = await calls.call(ctx, "aggregate", config.aggregator, final_prompt, params, seed)
    return [annotated, *records, final]


async def run_llm_router(config: LLMRouterConfig, calls: MemberCalls, ctx, messages, params, seed):
    query = prompts.last_user_text(messages)
    candidates = list(config.descriptions)
    routed = await calls.call(
        ctx, "route", config.router, prompts.router_prompt(query, config.descriptions), SIDE_PARAMS, seed
    )
    pick = prompts.parse_pick(routed.response or "", candidates) if routed.ok else None
    chosen = pick or config.fallback or candidates[0]
    why = (
        f"picked {chosen}"
        if pick
        else f"no candidate named ({routed.error or 'unparseable'}): fell back to {chosen}"
    )
    if routed.ok:
        calls.note(ctx, routed, why)
    answer = await calls.call(ctx, "answer", chosen, messages, params, seed)
    return [routed, answer]


RUNNERS = {"moa": run_moa, "symbolic_moe": run_symbolic_moe, "llm_router": run_llm_router}


class StrategyClient:
    """Duck-types EndpointClient.complete for the scheduler; one sample per request (n=1)."""

    def __init__(
        self,
        name: str,
        config: MoAConfig | SymbolicMoEConfig | LLMRouterConfig,
        calls: MemberCalls,
        items_by_prompt: Mapping[str, tuple[str, str]] | None = None,
    ):
        self.name = name
        self.config = config
        self.calls = calls
        self.items_by_prompt = dict(items_by_prompt or {})

    async def run(
        self, messages: list[dict], params: SamplingParams, seed: int | None, task: str | None = None
    ) -> list[CallRecord]:
        """Every call of one sample, the final answer's last; raises StrategyFailure when no proposer
        answered. ``task`` (e.g. recognised from the prompt) applies when the prompt is not a known item."""
        key = prompt_key(messages)
        task, item_id = self.items_by_prompt.get(key, (task, None))
        ctx = CallContext(self.name, int(seed or 0), key, task, item_id)
        return await RUNNERS[self.config.kind](self.config, self.calls, ctx, messages, params, seed)

    async def complete(
        self, messages: list[ChatMessage], params: SamplingParams, *, n: int = 1, seed: int | None = None
    ) -> Completion | RequestFailure:
        if n != 1:
            return RequestFailure(kind="client", message=f"strategy {self.name}: one sample per request")
        started = time.perf_counter()
        plain = [m.model_dump() if hasattr(m, "model_dump") else dict(m) for m in messages]
        try:
            trail = await self.run(plain, params, int(seed or 0))
        except StrategyFailure as exc:
            return RequestFailure(kind="transient", message=f"strategy {self.name}: {exc}")
        failed = final_failure(trail)
        if failed:
            return RequestFailure(kind="transient", message=f"strategy {self.name}: {failed}")
        final = trail[-1]
        return Completion(
            choices=[{"text": final.response, "finish_reason": final.finish_reason}],
            prompt_tokens=total_tokens(r.prompt_tokens for r in trail),
            completion_tokens=total_tokens(r.completion_tokens for r in trail),
            latency_s=time.perf_counter() - started,
        )


def final_failure(trail: Sequence[CallRecord]) -> str | None:
    """Why the sample has no final answer, or None when it has one."""
    final = trail[-1]
    return None if final.ok else f"{final.step} by {final.member} failed: {final.error}"


def total_tokens(values) -> int | None:
    values = [v for v in values if v is not None]
    return sum(values) if values else None
