"""The pool's models as the gateway calls them: the harness' EndpointClient per replica, each
replica's `max_concurrency` as a semaphore, and k samples in one `n=k` request where the server
honours `n` (the rest one request per sample where it does not, as llama.cpp)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import aiohttp

from harness.client import EndpointClient, RequestFailure, RetryPolicy
from harness.config import ModelSpec
from harness.taskset import ChatMessage
from results.records import SamplingParams


@dataclass(frozen=True)
class Generation:
    text: str | None
    finish_reason: str | None


@dataclass
class Draw:
    """The samples one model gave for one query, and what they cost."""

    model: str
    generations: list[Generation] = field(default_factory=list)
    calls: int = 0
    latency_s: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0


class MemberFailed(Exception):
    def __init__(self, model: str, failure: RequestFailure, calls: int):
        super().__init__(f"{model}: {failure.message} (after {failure.attempts} attempt(s))")
        self.model = model
        self.failure = failure
        self.calls = calls


@dataclass
class _Replica:
    client: EndpointClient
    slots: asyncio.Semaphore
    capacity: int
    in_flight: int = 0


class PoolMember:
    """One model of the pool."""

    def __init__(self, session: aiohttp.ClientSession, spec: ModelSpec, *, max_attempts: int | None = None):
        self.spec = spec
        retry = RetryPolicy(
            max_attempts=max_attempts or spec.max_attempts, initial_backoff_s=0.2, max_backoff_s=5
        )
        self.replicas = [
            _Replica(
                EndpointClient(session, spec, url, retry),
                asyncio.Semaphore(spec.max_concurrency),
                spec.max_concurrency,
            )
            for url in spec.urls()
        ]
        self.supports_n = spec.supports_n
        self.calls = 0

    @property
    def name(self) -> str:
        return self.spec.name

    async def _call(self, messages: list[ChatMessage], params: SamplingParams, n: int, seed: int | None):
        replica = min(self.replicas, key=lambda r: r.in_flight / r.capacity)
        replica.in_flight += 1
        try:
            async with replica.slots:
                self.calls += 1
                return await replica.client.complete(messages, params, n=n, seed=seed)
        finally:
            replica.in_flight -= 1

    async def draw(
        self, messages: list[ChatMessage], params: SamplingParams, k: int, seed: int | None
    ) -> Draw:
        """``k`` samples; raises :class:`MemberFailed` when the model gave none."""
        draw = Draw(self.name)
        started = time.perf_counter()
        if k == 1 or self.supports_n is not False:
            result = await self._call(messages, params, k, seed)
            draw.calls += 1
            if isinstance(result, RequestFailure):
                raise MemberFailed(self.name, result, draw.calls)
            self._add(draw, result)
            if k > 1:
                self.supports_n = len(result.choices) >= k
        missing = k - len(draw.generations)
        if missing > 0:
            # One request per missing sample, each with its own seed so a seeded server does not repeat.
            offset = len(draw.generations)
            results = await asyncio.gather(
                *(
                    self._call(messages, params, 1, None if seed is None else seed + offset + i)
                    for i in range(missing)
                )
            )
            draw.calls += missing
            for result in results:
                if not isinstance(result, RequestFailure):
                    self._add(draw, result)
            if not draw.generations:
                failure = next(r for r in results if isinstance(r, RequestFailure))
                raise MemberFailed(self.name, failure, draw.calls)
        draw.generations = draw.generations[:k]
        draw.latency_s = time.perf_counter() - started
        return draw

    @staticmethod
    def _add(draw: Draw, result) -> None:
        draw.generations.extend(Generation(c.text, c.finish_reason) for c in result.choices)
        draw.prompt_tokens += result.prompt_tokens or 0
        draw.completion_tokens += result.completion_tokens or 0


def build_members(session: aiohttp.ClientSession, specs: Sequence[ModelSpec]) -> dict[str, PoolMember]:
    return {spec.name: PoolMember(session, spec) for spec in specs}
