"""One OpenAI-compatible endpoint replica: a single request, with retries on transient failures.

Failures come back as values (:class:`RequestFailure`) so one bad request never tears down a gather.
A response is bounded: at most `max_response_bytes` of body are read, the whole request must end within
`request_deadline_s` (besides the idle timeout `request_timeout_s`), and a Retry-After header imposes at
most `max_retry_after_s` of waiting. A body of the wrong shape (no choices, a usage that is not token
counts, fields of the wrong type) is a failure of kind "malformed", with the server's text.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any, Literal

import aiohttp
from pydantic import BaseModel, Field
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt

from harness.config import ApiMode, ModelSpec, redact_credentials
from harness.request_deadline import DeadlineWatch
from harness.taskset import ChatMessage, render_completion_prompt
from results.records import SamplingParams

ErrorKind = Literal["client", "transient", "malformed"]
TRANSIENT_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
BODY_EXCERPT_CHARS = 500
MAX_TOKEN_COUNT = 2**53
# finish_reason values by which a server says it stopped a generation itself (vLLM's "abort" when it drops
# a request, "error" for an engine failure): the text is not the model's answer, and another try may work.
SERVER_STOPPED = frozenset({"abort", "error"})
# Called before a wait a server imposed with Retry-After: (seconds waited, seconds the server asked for).
RetryAfterHook = Callable[[float, float], None]


class Choice(BaseModel):
    text: str | None
    finish_reason: str | None


class Completion(BaseModel):
    choices: list[Choice]
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    latency_s: float
    model: str | None = Field(default=None, description="the model the server says answered")


class RequestFailure(BaseModel):
    kind: ErrorKind
    message: str
    status: int | None = None
    attempts: int = 1


class EndpointError(Exception):
    def __init__(
        self,
        kind: ErrorKind,
        message: str,
        status: int | None = None,
        retry_after: float | None = None,
        retry_after_asked: float | None = None,
    ):
        super().__init__(message)
        self.kind: ErrorKind = kind
        self.status = status
        self.retry_after = retry_after
        self.retry_after_asked = retry_after_asked


def _retry_after_seconds(value: str | None) -> float | None:
    """Seconds a Retry-After header asks for (delta-seconds or an HTTP date), None when absent or unreadable."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError):
            return None
    if math.isnan(seconds):  # float() reads "nan", and a sleep of nan seconds never ends
        return None
    return max(seconds, 0.0)


def _excerpt(raw: bytes) -> str:
    return raw[:BODY_EXCERPT_CHARS].decode("utf-8", "replace")


def _malformed(what: str, raw: bytes, status: int | None = None) -> EndpointError:
    return EndpointError("malformed", f"malformed response: {what}; body: {_excerpt(raw)}", status)


def _unicode_text(text: str | None) -> str | None:
    """The text with any lone UTF-16 surrogate (valid JSON, "\\ud800", but no character: a server that
    split an emoji between tokens) as U+FFFD, so it can be stored and graded; other text as it is."""
    if text is None or text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "".join("\ufffd" if 0xD800 <= ord(char) <= 0xDFFF else char for char in text)
    return text


def _token_count(usage: dict, name: str, raw: bytes) -> int | None:
    value = usage.get(name)
    # Bounded: SQLite integers are 64-bit, and a count past that would fail the whole write batch.
    if value is None or (type(value) is int and 0 <= value <= MAX_TOKEN_COUNT):
        return value
    raise _malformed(f"usage.{name} is {value!r}, not a token count", raw)


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

    on_retry_after: RetryAfterHook | None = None

    def __post_init__(self) -> None:
        # sock_read bounds how long the server may stay silent. The whole request is bounded by the
        # deadline watch (generous: a 32k-token reasoning generation may legitimately take many minutes),
        # so a server that trickles bytes cannot hold it; aiohttp's own total timeout costs far more.
        self._timeout = aiohttp.ClientTimeout(
            total=None, connect=self.spec.connect_timeout_s, sock_read=self.spec.request_timeout_s
        )
        self._deadline = DeadlineWatch(self.spec.request_deadline_s)
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
        watched = self._deadline.start()
        try:
            raw = await self._exchange(body)
        except (TimeoutError, aiohttp.ClientError, ConnectionError) as exc:
            raise EndpointError("transient", f"{type(exc).__name__}: {exc}") from exc
        except asyncio.CancelledError:
            timeout = self._deadline.claim(watched)
            if timeout is None:
                raise
            raise EndpointError("transient", f"{type(timeout).__name__}: {timeout}") from None
        finally:
            self._deadline.stop(watched)
        return self._parse(raw, time.perf_counter() - started)

    async def _exchange(self, body: dict) -> bytes:
        """POST the body; the response body, or EndpointError for an HTTP error status."""
        # Redirects are not followed: aiohttp would turn a 301/302 POST into a GET, and would send the
        # prompt (and, on the same host, the key) wherever a Location header points.
        async with self.session.post(
            self.base_url + self._path,
            json=body,
            headers=self._headers,
            timeout=self._timeout,
            allow_redirects=False,
        ) as response:
            if 300 <= response.status < 400:
                location = redact_credentials(response.headers.get("Location", "(no Location header)"))
                raise EndpointError(
                    "client",
                    f"HTTP {response.status}: the endpoint redirects to {location}; redirects are not "
                    "followed, set the model's base URL to where the server really answers",
                    response.status,
                )
            raw = await self._read_body(response)
            if response.status < 300 and response.content_type == "text/event-stream":
                # The same request gets the same stream again: not worth a retry.
                raise _malformed(
                    "the server streamed its answer (text/event-stream) though no stream was asked for; "
                    "is there a stream setting in the model's extra_body or the server's defaults?",
                    raw,
                    response.status,
                )
            if response.status >= 400:
                message = raw.decode("utf-8", "replace")[:2000]
                kind: ErrorKind = "transient" if response.status in TRANSIENT_STATUS else "client"
                if response.status >= 500:
                    kind = "transient"
                asked = _retry_after_seconds(response.headers.get("Retry-After"))
                raise EndpointError(
                    kind,
                    f"HTTP {response.status}: {message}",
                    response.status,
                    None if asked is None else min(asked, self.spec.max_retry_after_s),
                    asked,
                )
        return raw

    async def _read_body(self, response: aiohttp.ClientResponse) -> bytes:
        """The body, refusing (before or while reading) one larger than max_response_bytes."""
        limit = self.spec.max_response_bytes
        length = response.content_length
        # A compressed body's Content-Length says nothing of what it inflates to (a gzip bomb): it is
        # read chunk by chunk like a body of unknown length, counting the inflated bytes.
        compressed = response.headers.get("Content-Encoding", "identity").lower() != "identity"
        if length is not None and not compressed:
            if length > limit:
                raise EndpointError(
                    "malformed",
                    f"response body of {length} bytes exceeds max_response_bytes ({limit})",
                    response.status,
                )
            return await response.read()  # the common case: vLLM sends Content-Length
        body = bytearray()
        async for chunk in response.content.iter_any():
            body += chunk
            if len(body) > limit:
                raise EndpointError(
                    "malformed",
                    f"response body exceeds max_response_bytes ({limit}); stopped reading at {len(body)} bytes",
                    response.status,
                )
        return bytes(body)

    def _parse(self, raw: bytes, latency: float) -> Completion:
        try:
            payload = json.loads(raw)
        except RecursionError:
            raise _malformed("JSON nested too deeply to read", raw) from None
        except ValueError as exc:
            # A body that is not JSON is usually a proxy or an overloaded server: worth another try.
            raise EndpointError("transient", f"malformed response (not JSON: {exc}): {_excerpt(raw)}") from exc
        if not isinstance(payload, dict):
            raise _malformed(f"the body is a JSON {type(payload).__name__}, not an object", raw)
        choices = payload.get("choices")
        if not isinstance(choices, list) or not choices:
            raise _malformed(f"choices is {choices!r:.80}, not a non-empty list", raw)
        chat = self.spec.mode == ApiMode.CHAT
        parsed: list[tuple[int, Choice]] = []
        for position, choice in enumerate(choices):
            if not isinstance(choice, dict):
                raise _malformed(f"choices[{position}] is a {type(choice).__name__}, not an object", raw)
            message = choice.get("message") if chat else choice
            if message is not None and not isinstance(message, dict):
                raise _malformed(f"choices[{position}].message is a {type(message).__name__}", raw)
            text = (message or {}).get("content" if chat else "text")
            finish_reason = choice.get("finish_reason")
            index = choice.get("index", position)
            if not isinstance(text, str | None) or not isinstance(finish_reason, str | None):
                raise _malformed(f"choices[{position}] has a text or finish_reason that is not a string", raw)
            if type(index) is not int:
                raise _malformed(f"choices[{position}].index is {index!r}, not an integer", raw)
            if finish_reason in SERVER_STOPPED:
                raise EndpointError(
                    "transient",
                    f"the server stopped the generation itself (choices[{position}].finish_reason "
                    f"{finish_reason!r}); body: {_excerpt(raw)}",
                )
            choice = Choice(text=_unicode_text(text), finish_reason=_unicode_text(finish_reason))
            parsed.append((index, choice))
        usage = payload.get("usage")
        if usage is None:
            usage = {}
        elif not isinstance(usage, dict):
            raise _malformed(f"usage is a {type(usage).__name__}, not an object", raw)
        indices = [index for index, _ in parsed]
        if len(set(indices)) != len(indices):
            # Two choices claiming one index: one is a duplicate, and which is which cannot be told.
            raise _malformed(f"choices carry the same index more than once ({indices})", raw)
        parsed.sort(key=lambda pair: pair[0])
        return Completion(
            choices=[choice for _, choice in parsed],
            prompt_tokens=_token_count(usage, "prompt_tokens", raw),
            completion_tokens=_token_count(usage, "completion_tokens", raw),
            latency_s=latency,
            model=payload["model"] if isinstance(payload.get("model"), str) else None,
        )

    def _delay(self, attempt: int, failure: BaseException | None) -> float:
        delay = backoff_delay(attempt, failure, self.retry)
        if isinstance(failure, EndpointError) and failure.retry_after_asked is not None and self.on_retry_after:
            self.on_retry_after(delay, failure.retry_after_asked)
        return delay

    async def complete(
        self, messages: list[ChatMessage], params: SamplingParams, *, n: int = 1, seed: int | None = None
    ) -> Completion | RequestFailure:
        body = self._body(messages, params, n, seed)
        try:
            return await self._attempt(body)  # the common case pays for no retry machinery
        except EndpointError as exc:
            failure = exc
        if failure.kind != "transient" or self.retry.max_attempts == 1:
            return _failure(failure, attempts=1)
        await asyncio.sleep(self._delay(1, failure))
        attempts = 1
        retrying = AsyncRetrying(
            retry=retry_if_exception(_is_transient),
            stop=stop_after_attempt(self.retry.max_attempts - 1),
            wait=lambda state: self._delay(
                state.attempt_number + 1, state.outcome.exception() if state.outcome else None
            ),
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    attempts += 1
                    return await self._attempt(body)
        except EndpointError as exc:
            return _failure(exc, attempts=attempts)
        raise AssertionError("unreachable: tenacity either returns or re-raises")


def _failure(exc: EndpointError, *, attempts: int) -> RequestFailure:
    return RequestFailure(
        kind=exc.kind, message=redact_credentials(str(exc)), status=exc.status, attempts=attempts
    )
