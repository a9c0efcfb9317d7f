"""A scriptable OpenAI-compatible HTTP server on loopback, for tests and benchmarks.

It is a real aiohttp server: the harness talks to it over TCP exactly as it talks to vLLM. It can
answer after a delay, fail with a status (and Retry-After), drop the connection, return malformed
JSON, or ignore `n` like llama.cpp does; it can also trickle its answer a byte at a time, send a huge
body, answer with any JSON payload (empty choices, bad usage, wrong types) or never answer at all. What it answers is decided by a function of the request,
so a test states the model output it needs; nothing here pretends to be a language model.

    python -m harness.serving.loopback_server --port 8001 --delay 1.0      # a fixed-latency peer for bench/
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import web

Fault = Literal["status", "drop", "malformed", "stall", "never", "trickle", "huge", "payload"]


@dataclass
class FaultRule:
    """Apply `fault` to the first `times` requests whose prompt contains `match` (all if empty).

    stall/never: accept the request and never answer. trickle: a 200 answer sent one byte every
    `interval_s`. huge: a 200 body of `size_bytes` (chunked, or with Content-Length when `sized`).
    payload: `payload` as the JSON body of a 200 answer (or as raw text when it is a str).
    """

    fault: Fault
    times: int = 1
    status: int = 500
    retry_after: str | None = None
    match: str = ""
    message: str = "injected failure"
    used: int = 0
    interval_s: float = 0.5
    size_bytes: int = 0
    sized: bool = False
    payload: Any = None


def prompt_text(body: dict[str, Any]) -> str:
    if "messages" in body:
        return "\n".join(str(m.get("content", "")) for m in body["messages"])
    return str(body.get("prompt", ""))


def echo_answer(body: dict[str, Any]) -> str:
    return "ok"


@dataclass
class LoopbackServer:
    # One text for every choice of a request, or a list: choice i gets item i (at most n of them).
    answer: Callable[[dict[str, Any]], str | list[str]] = echo_answer
    delay_s: float = 0.0
    supports_n: bool = True
    finish_reason: str = "stop"
    faults: list[FaultRule] = field(default_factory=list)
    host: str = "127.0.0.1"
    port: int = 0
    # observations
    requests: list[dict[str, Any]] = field(default_factory=list)
    in_flight: int = 0
    peak_in_flight: int = 0
    keep_bodies: bool = True
    request_count: int = 0
    authorizations: list[str | None] = field(default_factory=list)
    _runner: web.AppRunner | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def _fault_for(self, body: dict[str, Any]) -> FaultRule | None:
        text = prompt_text(body)
        for rule in self.faults:
            if rule.used < rule.times and rule.match in text:
                rule.used += 1
                return rule
        return None

    async def _models(self, request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [{"id": "loopback", "object": "model"}]})

    async def _complete(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.request_count += 1
        if self.keep_bodies:
            self.requests.append(body)
            self.authorizations.append(request.headers.get("Authorization"))
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            rule = self._fault_for(body)
            if rule is not None and rule.fault in ("stall", "never"):
                await asyncio.sleep(3600)
            if self.delay_s:
                await asyncio.sleep(self.delay_s)
            if rule is not None:
                return await self._apply_fault(request, rule)
            return web.json_response(self._payload(body, chat=request.path.endswith("/chat/completions")))
        finally:
            self.in_flight -= 1

    async def _apply_fault(self, request: web.Request, rule: FaultRule) -> web.StreamResponse:
        if rule.fault == "drop":
            assert request.transport is not None
            request.transport.close()
            return web.Response(status=500)  # never reaches the client: the socket is gone
        if rule.fault == "malformed":
            return web.Response(text='{"choices": [ {"message": ', content_type="application/json")
        if rule.fault == "payload":
            if isinstance(rule.payload, str):
                return web.Response(text=rule.payload, content_type="application/json")
            return web.json_response(rule.payload)
        if rule.fault in ("trickle", "huge"):
            return await self._stream_fault(request, rule)
        headers = {"Retry-After": rule.retry_after} if rule.retry_after is not None else {}
        return web.json_response({"error": {"message": rule.message}}, status=rule.status, headers=headers)

    async def _stream_fault(self, request: web.Request, rule: FaultRule) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        if rule.fault == "huge" and rule.sized:
            response.content_length = rule.size_bytes
        await response.prepare(request)
        try:
            if rule.fault == "trickle":
                for byte in b'{"choices": [{"index": 0, "message": {"content": "' + b"x" * 1_000_000:
                    await response.write(bytes([byte]))
                    await asyncio.sleep(rule.interval_s)
            chunk = b" " * 65536
            sent = 0
            while sent < rule.size_bytes:
                piece = chunk[: rule.size_bytes - sent]
                await response.write(piece)
                sent += len(piece)
            await response.write_eof()
        except ConnectionResetError:
            pass  # the client gave up, as it should
        return response

    def _payload(self, body: dict[str, Any], *, chat: bool) -> dict[str, Any]:
        n = int(body.get("n", 1)) if self.supports_n else 1
        answer = self.answer(body)
        texts = [answer] * n if isinstance(answer, str) else list(answer)[:n]
        choices = []
        for index, text in enumerate(texts):
            content: dict[str, Any] = (
                {"message": {"role": "assistant", "content": text}} if chat else {"text": text}
            )
            choices.append({"index": index, "finish_reason": self.finish_reason, **content})
        prompt_tokens = len(prompt_text(body).split())
        completion_tokens = sum(len(text.split()) for text in texts)
        return {
            "id": f"cmpl-{self.request_count}",
            "object": "chat.completion" if chat else "text_completion",
            "created": int(time.time()),
            "model": body.get("model", "loopback"),
            "choices": choices,
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }

    def app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_get("/v1/models", self._models)
        app.router.add_post("/v1/chat/completions", self._complete)
        app.router.add_post("/v1/completions", self._complete)
        return app

    async def start(self) -> LoopbackServer:
        self._runner = web.AppRunner(self.app(), access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, backlog=4096)
        await site.start()
        sockets = site._server.sockets if site._server else []  # noqa: SLF001 - aiohttp exposes no public getter
        self.port = sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> LoopbackServer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before each answer")
    parser.add_argument("--answer", default="The answer is \\boxed{0}.", help="the text every request gets")
    parser.add_argument("--no-n", action="store_true", help="ignore n>1 (answer one choice), like llama.cpp")
    args = parser.parse_args(argv)

    async def serve() -> None:
        text = args.answer
        server = LoopbackServer(
            answer=lambda body: text,
            delay_s=args.delay,
            supports_n=not args.no_n,
            port=args.port,
            keep_bodies=False,
        )
        await server.start()
        print(json.dumps({"base_url": server.base_url}), flush=True)
        await asyncio.Event().wait()

    asyncio.run(serve())


if __name__ == "__main__":
    main()
