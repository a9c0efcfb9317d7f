"""One OpenAI-compatible endpoint replica: a single request, with retries on transient failures.

Failures come back as values (:class:`RequestFailure`) so one bad request never tears down a gather.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any, Literal

import aiohttp
from pydantic import BaseModel
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt

from harness.config import ApiMode, ModelSpec
from harness.taskset import ChatMessage, render_completion_prompt
from results.records import SamplingParams

ErrorKind = Literal["client", "transient"]
TRANSIENT_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
MAX_RETRY_AFTER_S = 300.0


class Choice(BaseModel):
    text: str | None
    finish_reason: str | None


class Completion(BaseModel):
    choices: list[Choice]
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    latency_s: float


class RequestFailure(BaseModel):
    kind: ErrorKind
    message: str
    status: int | None = None
    attempts: int = 1


class EndpointError(Exception):
    def __init__(
        self, kind: ErrorKind, message: str, status: int | None = None, retry_after: float | None = None
    ):
        super().__init__(message)
        self.kind: ErrorKind = kind
        self.status = status
        self.retry_after = retry_after


def _retry_after_seconds(value: str | None) -> float | None:
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError):
            return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_S)


def backoff_delay(attempt: int, failure: BaseException | None, policy: RetryPolicy) -> float:
    """Seconds to wait after failed attempt number `attempt`: exponential with jitter, never under Retry-After."""
    backoff = min(policy.max_backoff_s, policy.initial_backoff_s * 2 ** (attempt - 1))
    backoff += random.uniform(0, policy.initial_backoff_s)
    if isinstance(failure, EndpointError) and failure.retry_after is not None:
        return max(failure.retry_after, backoff)
    return backoff


def auth_headers(spec: ModelSpec) -> dict[str, str]:
    key = spec.api_key()
    return {"Authorization": f"Bearer {key}"} if key else {}


def _is_transient(exc: BaseException) -> bool:
    return isinstance(exc, EndpointError) and exc.kind == "transient"


@dataclass
class RetryPolicy:
    max_attempts: int = 6
    initial_backoff_s: float = 1.0
    max_backoff_s: float = 60.0

    @classmethod
    def for_model(cls, spec: ModelSpec) -> RetryPolicy:
        return cls(max_attempts=spec.max_attempts)


@dataclass
class EndpointClient:
    """Requests to one replica of one model. The caller owns the shared session and the concurrency slot."""

    session: aiohttp.ClientSession
    spec: ModelSpec
    base_url: str
    retry: RetryPolicy = field(default_factory=RetryPolicy)

    def __post_init__(self) -> None:
        # No total timeout: a 32k-token reasoning generation may legitimately take many minutes.
        # sock_read bounds how long the server may stay silent.
        self._timeout = aiohttp.ClientTimeout(
            total=None, connect=self.spec.connect_timeout_s, sock_read=self.spec.request_timeout_s
        )
        self._headers = auth_headers(self.spec)
        self._path = "/chat/completions" if self.spec.mode == ApiMode.CHAT else "/completions"

    def _body(self, messages: list[ChatMessage], params: SamplingParams, n: int, seed: int | None) -> dict:
        body: dict[str, Any] = {
            "model": self.spec.model_id,
            "temperature": params.temperature,
            "top_p": params.top_p,
            "max_tokens": params.max_tokens,
            **self.spec.extra_body,
        }
        if params.stop:
            body["stop"] = list(params.stop)
        if n != 1:
            body["n"] = n
        if seed is not None:
            body["seed"] = seed
        if self.spec.mode == ApiMode.CHAT:
            body["messages"] = [m.model_dump() for m in messages]
        else:
            body["prompt"] = render_completion_prompt(messages)
        return body

    async def _attempt(self, body: dict) -> Completion:
        started = time.perf_counter()
        try:
            async with self.session.post(
                self.base_url + self._path, json=body, headers=self._headers, timeout=self._timeout
            ) as response:
                raw = await response.read()
                if response.status >= 400:
                    message = raw.decode("utf-8", "replace")[:2000]
                    kind: ErrorKind = "transient" if response.status in TRANSIENT_STATUS else "client"
                    if response.status >= 500:
                        kind = "transient"
                    retry_after = _retry_after_seconds(response.headers.get("Retry-After"))
                    raise EndpointError(
                        kind, f"HTTP {response.status}: {message}", response.status, retry_after
                    )
        except (TimeoutError, aiohttp.ClientError, ConnectionError) as exc:
            raise EndpointError("transient", f"{type(exc).__name__}: {exc}") from exc
        return self._parse(raw, time.perf_counter() - started)

    def _parse(self, raw: bytes, latency: float) -> Completion:
        try:
            payload = json.loads(raw)
            choices = payload["choices"]
            parsed = [
                Choice(
                    text=(c.get("message") or {}).get("content")
                    if self.spec.mode == ApiMode.CHAT
                    else c.get("text"),
                    finish_reason=c.get("finish_reason"),
                )
                for c in sorted(choices, key=lambda c: c.get("index", 0))
            ]
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            # A malformed body is usually a proxy or an overloaded server: worth another try.
            raise EndpointError("transient", f"malformed response ({exc}): {raw[:300]!r}") from exc
        usage = payload.get("usage") or {}
        return Completion(
            choices=parsed,
            prompt_tokens=usage.get("prompt_tokens"),
            completion_tokens=usage.get("completion_tokens"),
            latency_s=latency,
        )

    async def complete(
        self, messages: list[ChatMessage], params: SamplingParams, *, n: int = 1, seed: int | None = None
    ) -> Completion | RequestFailure:
        body = self._body(messages, params, n, seed)
        try:
            return await self._attempt(body)  # the common case pays for no retry machinery
        except EndpointError as exc:
            failure = exc
        if failure.kind != "transient" or self.retry.max_attempts == 1:
            return RequestFailure(kind=failure.kind, message=str(failure), status=failure.status, attempts=1)
        await asyncio.sleep(backoff_delay(1, failure, self.retry))
        attempts = 1
        retrying = AsyncRetrying(
            retry=retry_if_exception(_is_transient),
            stop=stop_after_attempt(self.retry.max_attempts - 1),
            wait=lambda state: backoff_delay(
                state.attempt_number + 1, state.outcome.exception() if state.outcome else None, self.retry
            ),
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    attempts += 1
                    return await self._attempt(body)
        except EndpointError as exc:
            return RequestFailure(kind=exc.kind, message=str(exc), status=exc.status, attempts=attempts)
        raise AssertionError("unreachable: tenacity either returns or re-raises")


async def check_reachable(spec: ModelSpec, session: aiohttp.ClientSession) -> list[str]:
    """GET /models on every replica before a run. Unreachable replicas raise; odd answers are returned as warnings."""
    warnings: list[str] = []
    for url in spec.urls():
        try:
            async with session.get(
                url + "/models",
                headers=auth_headers(spec),
                timeout=aiohttp.ClientTimeout(total=None, connect=spec.connect_timeout_s, sock_read=60),
            ) as response:
                if response.status >= 400:
                    warnings.append(f"model {spec.name}: {url}/models answered HTTP {response.status}")
        except (aiohttp.ClientError, TimeoutError, ConnectionError) as exc:
            raise ConnectionError(
                f"model {spec.name}: cannot reach {url} ({type(exc).__name__}: {exc}); is the server up?"
            ) from exc
    return warnings
