"""The Avengers gateway: an aiohttp OpenAI-compatible server that routes, samples and votes per request."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from pydantic import BaseModel, Field

from harness.config import ModelSpec
from harness.serving.gateway.answers import AnswerFormat
from harness.serving.gateway.members import PoolMember, build_members
from harness.serving.gateway.metrics import Metrics
from harness.serving.gateway.prompts import PromptRecogniser, RecognisedPrompt, last_user_text
from harness.serving.gateway.request_log import RequestLog
from harness.serving.gateway.responses import completion_payload, new_id, stream_answer, summarise
from harness.serving.gateway.routing import RouteDecision, RoutingEngine
from harness.serving.gateway.schema import (
    ApiError,
    AvengersOptions,
    ChatRequest,
    CompletionRequest,
    parse_request,
)
from harness.serving.gateway.strategies import GatewayStrategies
from harness.serving.gateway.voting import AllModelsFailed, VoteResult, vote
from harness.taskset import ChatMessage, Task
from results.records import SamplingParams
from router.embedders import Embedder
from router.model import Router

log = logging.getLogger(__name__)


class GatewaySettings(BaseModel):
    name: str = Field(default="avengers", description="the model name clients ask for")
    samples: int = Field(default=10, ge=1, le=64, description="samples per answer (all models together)")
    top_n: int = Field(default=1, ge=1, description="models per answer; >1 uses Model-Switch")
    temperature: float = Field(default=0.7, ge=0, description="when the request sets none")
    top_p: float = Field(default=1.0, gt=0, le=1)
    max_tokens: int = Field(default=2048, ge=1, description="when the request sets none")
    answer_format: str | None = Field(default=None, description="force one grader for every request")
    max_in_flight: int = Field(default=256, ge=1, description="requests answered at once")
    max_queue: int = Field(default=1024, ge=0, description="requests waiting for a slot before 429")
    retry_after_s: int = Field(default=1, ge=0)
    member_attempts: int = Field(default=2, ge=1, description="tries per model call before falling back")
    embed_cache_size: int = Field(
        default=20_000, ge=0, description="query vectors kept in memory (the embedder also caches on disk)"
    )
    request_log: Path | None = None
    shutdown_timeout_s: float = Field(default=30.0, ge=0)


class _Admission:
    """``async with admission:`` around a request: at most ``max_in_flight`` requests run,
    ``max_queue`` wait; beyond that: 429. A plain class, not a generator-based context manager,
    which cost more per request than the admission logic itself; it keeps no per-request state."""

    def __init__(self, settings: GatewaySettings, metrics: Metrics):
        self.settings = settings
        self.metrics = metrics
        self.slots = asyncio.Semaphore(settings.max_in_flight)
        self.active = 0
        self.waiting = 0

    async def __aenter__(self) -> None:
        if self.slots.locked() and self.waiting >= self.settings.max_queue:
            self.metrics.inc("avengers_rejected_total")
            raise ApiError(
                429,
                f"the gateway is saturated ({self.active} requests in flight, {self.waiting} queued); retry later",
                type="rate_limit_error",
                code="rate_limit_exceeded",
                headers={"Retry-After": str(self.settings.retry_after_s)},
            )
        self.waiting += 1
        self.metrics.set_gauge("avengers_queued", self.waiting)
        try:
            await self.slots.acquire()
        finally:
            self.waiting -= 1
            self.metrics.set_gauge("avengers_queued", self.waiting)
        self.active += 1
        self.metrics.set_gauge("avengers_in_flight", self.active)

    async def __aexit__(self, *exc_info) -> None:
        self.active -= 1
        self.metrics.set_gauge("avengers_in_flight", self.active)
        self.slots.release()


class Gateway:
    def __init__(
        self,
        router: Router,
        pool: Sequence[ModelSpec],
        settings: GatewaySettings | None = None,
        *,
        tasks: Sequence[Task] = (),
        embedder: Embedder | None = None,
    ):
        self.settings = settings or GatewaySettings()
        by_name = {spec.name: spec for spec in pool}
        missing = [m for m in router.models if m not in by_name]
        if missing:
            raise ValueError(f"the router routes to models the pool file lacks: {', '.join(missing)}")
        self.specs = [by_name[m] for m in router.models]
        self.strategies = GatewayStrategies(pool, self.settings)  # the pool's strategy entries
        self.routing = RoutingEngine(router, embedder, cache_size=self.settings.embed_cache_size)
        self.recogniser = PromptRecogniser(tasks)
        # Built once: each format memoises its equivalence checks.
        self.task_formats = {
            t.name: AnswerFormat(t.grader, t.grader_options, source=f"prompt:{t.name}") for t in tasks
        }
        self.cluster_formats = {
            t.name: AnswerFormat(t.grader, t.grader_options, source=f"cluster:{t.name}") for t in tasks
        }
        if self.settings.answer_format and self.settings.answer_format != "none":
            AnswerFormat(self.settings.answer_format)  # fail at start on an unknown grader
        self.metrics = Metrics()
        self.members: dict[str, PoolMember] = {}
        self._session: aiohttp.ClientSession | None = None
        self._admission: _Admission | None = None
        self._log = RequestLog(self.settings.request_log)
        self.draining = False

    # ------------------------------------------------------------------ lifecycle

    async def _startup(self, app: web.Application) -> None:
        connector = aiohttp.TCPConnector(limit=0, ttl_dns_cache=300)
        self._session = aiohttp.ClientSession(connector=connector)
        specs = [s.model_copy(update={"max_attempts": self.settings.member_attempts}) for s in self.specs]
        self.members = build_members(self._session, specs)
        self.strategies.start(self._session, self.members, self.metrics, self.recogniser)
        self._admission = _Admission(self.settings, self.metrics)
        await self.routing.warm_up()
        # The models, tasks and libraries loaded so far live as long as the server: a full collection
        # would walk their ~250k objects (0.3 s here) in the middle of some request.
        gc.freeze()

    async def _cleanup(self, app: web.Application) -> None:
        gc.unfreeze()
        await self.routing.close()
        if self._session is not None:
            await self._session.close()
        self._log.close()

    async def _on_shutdown(self, app: web.Application) -> None:
        self.draining = True

    def app(self) -> web.Application:
        app = web.Application(client_max_size=32 * 1024 * 1024)
        app.on_startup.append(self._startup)
        app.on_shutdown.append(self._on_shutdown)
        app.on_cleanup.append(self._cleanup)
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_post("/v1/completions", self._completions)
        app.router.add_get("/v1/models", self._models)
        app.router.add_get("/health", self._health)
        app.router.add_get("/metrics", self._metrics)
        return app

    # ------------------------------------------------------------------ small endpoints

    async def _models(self, request: web.Request) -> web.Response:
        created = int(time.time())
        return web.json_response(
            {
                "object": "list",
                "data": [
                    {"id": self.settings.name, "object": "model", "created": created, "owned_by": "avengers"},
                    *self.strategies.model_cards(created),
                ],
            }
        )

    async def _health(self, request: web.Request) -> web.Response:
        admission = self._admission
        body = {
            "status": "draining" if self.draining else "ok",
            "models": self.routing.models,
            "in_flight": admission.active if admission else 0,
            "queued": admission.waiting if admission else 0,
        }
        return web.json_response(body, status=503 if self.draining else 200)

    async def _metrics(self, request: web.Request) -> web.Response:
        return web.Response(text=self.metrics.render(), content_type="text/plain", charset="utf-8")

    # ------------------------------------------------------------------ completions

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        return await self._serve(request, "chat")

    async def _completions(self, request: web.Request) -> web.StreamResponse:
        return await self._serve(request, "completions")

    async def _serve(self, request: web.Request, endpoint: str) -> web.StreamResponse:
        started = time.perf_counter()
        record: dict[str, Any] = {"endpoint": endpoint, "id": new_id(endpoint)}
        status = 200
        try:
            parsed = parse_request(ChatRequest if endpoint == "chat" else CompletionRequest, await request.read())
            strategy = parsed.model in self.strategies.names
            if parsed.model != self.settings.name and not strategy:
                served = ", ".join(repr(n) for n in [self.settings.name, *self.strategies.names])
                raise ApiError(
                    404,
                    f"model {parsed.model!r} is not served here; this gateway serves {served}",
                    param="model",
                    code="model_not_found",
                )
            assert self._admission is not None
            async with self._admission:
                if strategy:
                    answer = await self.strategies.answer(parsed, record)
                else:
                    answer = await self._answer(parsed, endpoint, record)
            response = await self._respond(request, parsed, endpoint, answer, record)
            return response
        except ApiError as exc:
            status = exc.status
            record["error"] = exc.message
            self.metrics.inc("avengers_errors_total", type=exc.type)
            return web.json_response(exc.body(), status=exc.status, headers=exc.headers)
        except asyncio.CancelledError:
            status = 499  # the client went away; its samples are not waited for
            raise
        except Exception as exc:
            log.exception("request %s failed", record["id"])
            status = 500
            record["error"] = f"{type(exc).__name__}: {exc}"
            self.metrics.inc("avengers_errors_total", type="internal_error")
            error = ApiError(500, f"internal error: {type(exc).__name__}: {exc}", type="internal_error")
            return web.json_response(error.body(), status=500)
        finally:
            elapsed = time.perf_counter() - started
            record.update(status=status, latency_s=round(elapsed, 6))
            self.metrics.inc("avengers_requests_total", endpoint=endpoint, status=str(status))
            self.metrics.observe("avengers_request_seconds", elapsed, endpoint=endpoint)
            self._log.write(record)

    async def _answer(
        self, req: ChatRequest | CompletionRequest, endpoint: str, record: dict
    ) -> dict[str, Any]:
        started = time.perf_counter()
        if isinstance(req, ChatRequest):
            messages = [
                {"role": "system" if m.role == "developer" else m.role, "content": m.content}
                for m in req.messages
            ]
        else:
            messages = [{"role": "user", "content": req.text}]
        options: AvengersOptions = req.avengers
        recognised = self.recogniser.recognise(messages) if options.query is None else None
        query, query_source = _query_of(options, recognised, messages)

        embed_started = time.perf_counter()
        try:
            decision = await self.routing.route(query)
        except Exception as exc:
            raise ApiError(503, f"the query could not be embedded: {exc}", type="embedding_error") from exc
        embed_s = time.perf_counter() - embed_started
        self.metrics.observe("avengers_embed_seconds", embed_s)
        self.metrics.inc("avengers_embedding_cache_total", result="hit" if decision.embed_cached else "miss")

        answer_format = self._answer_format(options, recognised, decision)
        params = SamplingParams(
            temperature=self.settings.temperature if req.temperature is None else req.temperature,
            top_p=self.settings.top_p if req.top_p is None else req.top_p,
            max_tokens=req.token_limit or self.settings.max_tokens,
            stop=req.stops,
        )
        chat_messages = [ChatMessage(role=m["role"], content=m["content"]) for m in messages]
        samples = options.samples or self.settings.samples
        top_n = options.top_n or self.settings.top_n

        async def one_choice(index: int) -> VoteResult:
            seed = None if req.seed is None else (req.seed + 7919 * index) & 0x7FFFFFFF

            async def draw(model: str, k: int):
                try:
                    result = await self.members[model].draw(chat_messages, params, k, seed)
                except Exception as exc:
                    self.metrics.inc(
                        "avengers_model_calls_total", getattr(exc, "calls", 1), model=model, outcome="error"
                    )
                    raise
                self.metrics.inc("avengers_model_calls_total", result.calls, model=model, outcome="ok")
                self.metrics.inc("avengers_samples_total", len(result.generations), model=model)
                self.metrics.observe("avengers_model_seconds", result.latency_s, model=model)
                return result

            return await vote(
                decision.ranking, draw, samples=samples, top_n=top_n, answer_format=answer_format
            )

        try:
            if req.n == 1:  # the common case skips gather's task
                results = [await one_choice(0)]
            else:
                results = await asyncio.gather(*(one_choice(i) for i in range(req.n)))
        except AllModelsFailed as exc:
            self.metrics.inc("avengers_fallbacks_total", len(exc.fallbacks))
            raise ApiError(502, str(exc), type="upstream_error", code="all_models_failed") from exc
        waited = max(sum(d.latency_s for d in r.draws) for r in results)
        overhead = max(0.0, time.perf_counter() - started - waited)
        self.metrics.observe("avengers_overhead_seconds", overhead)
        for r in results:
            self.metrics.inc("avengers_votes_total", mode=r.mode, stopped_early=str(r.stopped_early).lower())
            if r.fallbacks:
                self.metrics.inc("avengers_fallbacks_total", len(r.fallbacks))
        summary = summarise(decision, query_source, recognised, answer_format, results, embed_s, overhead)
        usage = summary.pop("_usage")
        self.metrics.inc("avengers_tokens_total", usage["prompt_tokens"], kind="prompt")
        self.metrics.inc("avengers_tokens_total", usage["completion_tokens"], kind="completion")
        record.update(
            query=query,
            query_source=query_source,
            cluster=decision.cluster,
            ranking=summary["ranking"],
            answer_format=summary["answer_format"],
            models_asked=summary["models_asked"],
            samples_used=summary["samples_used"],
            choices=summary["choices"],
            fallbacks=summary["fallbacks"],
            usage=usage,
            overhead_s=round(overhead, 6),
        )
        return {"results": results, "avengers": summary, "usage": usage}

    def _answer_format(
        self, options: AvengersOptions, recognised: RecognisedPrompt | None, decision: RouteDecision
    ) -> AnswerFormat | None:
        chosen = options.answer_format or self.settings.answer_format
        if chosen:
            if chosen == "none":
                return None
            try:
                source = "request" if options.answer_format else "server"
                return AnswerFormat(chosen, options.answer_options, source=source)
            except ValueError as exc:
                raise ApiError(400, str(exc), param="avengers.answer_format") from None
        if recognised is not None:
            known = [t for t in recognised.tasks if t in self.task_formats]
            if known:
                task = decision.cluster_task if decision.cluster_task in known else known[0]
                return self.task_formats[task]
        return self.cluster_formats.get(decision.cluster_task or "")

    async def _respond(
        self,
        request: web.Request,
        req: ChatRequest | CompletionRequest,
        endpoint: str,
        answer: dict[str, Any],
        record: dict,
    ) -> web.StreamResponse:
        chat = endpoint == "chat"
        base = {"id": record["id"], "created": int(time.time()), "model": req.model}
        if req.stream:
            include_usage = bool((req.stream_options or {}).get("include_usage"))
            return await stream_answer(request, base, chat, answer, include_usage=include_usage)
        return web.json_response(completion_payload(base, chat, answer))


def _query_of(
    options: AvengersOptions, recognised: RecognisedPrompt | None, messages: list[dict]
) -> tuple[str, str]:
    if options.query is not None:
        return options.query, "request"
    if recognised is not None:
        return recognised.query, "template:" + ",".join(recognised.tasks)
    return last_user_text(messages), "last_user_message"


async def serve(gateway: Gateway, host: str, port: int, *, ready=None) -> None:
    """Serve until SIGINT/SIGTERM, then stop accepting, finish in-flight requests and close."""
    runner = web.AppRunner(
        gateway.app(), access_log=None, shutdown_timeout=gateway.settings.shutdown_timeout_s
    )
    await runner.setup()
    site = web.TCPSite(runner, host, port, backlog=4096)
    await site.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    if ready is not None:
        ready(site)
    try:
        await stop.wait()
    finally:
        gateway.draining = True
        await runner.cleanup()
