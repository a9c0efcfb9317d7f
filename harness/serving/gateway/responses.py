"""The OpenAI-shaped answers of the gateway: the summary (`avengers` object), a completion, an SSE stream."""

from __future__ import annotations

import itertools
import json
import uuid
from typing import Any

from aiohttp import web

from harness.serving.gateway.answers import AnswerFormat
from harness.serving.gateway.prompts import RecognisedPrompt
from harness.serving.gateway.routing import RouteDecision
from harness.serving.gateway.voting import VoteResult

STREAM_PIECE_CHARS = 64


# A random prefix per process and a counter: unique ids without a urandom call per request.
_ID_PREFIX = uuid.uuid4().hex[:12]
_ids = itertools.count(1)


def new_id(endpoint: str) -> str:
    return f"{'chatcmpl-' if endpoint == 'chat' else 'cmpl-'}{_ID_PREFIX}{next(_ids):012x}"


def summarise(
    decision: RouteDecision,
    query_source: str,
    recognised: RecognisedPrompt | None,
    answer_format: AnswerFormat | None,
    results: list[VoteResult],
    embed_s: float,
    overhead_s: float,
) -> dict[str, Any]:
    per_model: dict[str, dict[str, Any]] = {}
    asked: list[str] = []
    for r in results:
        for d in r.draws:
            if d.model not in per_model:
                asked.append(d.model)
                per_model[d.model] = {
                    "samples": 0,
                    "calls": 0,
                    "latency_s": 0.0,
                    "prompt_tokens": 0,
                    "completion_tokens": 0,
                }
            entry = per_model[d.model]
            entry["samples"] += len(d.generations)
            entry["calls"] += d.calls
            entry["latency_s"] = round(entry["latency_s"] + d.latency_s, 6)
            entry["prompt_tokens"] += d.prompt_tokens
            entry["completion_tokens"] += d.completion_tokens
    prompt_tokens = sum(e["prompt_tokens"] for e in per_model.values())
    completion_tokens = sum(e["completion_tokens"] for e in per_model.values())
    return {
        "cluster": decision.cluster,
        "cluster_task": decision.cluster_task,
        "ranking": list(decision.ranking),
        "query_source": query_source,
        "answer_format": answer_format.describe() if answer_format else None,
        "models_asked": asked,
        "samples_used": sum(len(r.samples) for r in results),
        "per_model": per_model,
        "fallbacks": [{"model": f.model, "error": f.error} for r in results for f in r.fallbacks],
        "choices": [
            {
                "mode": r.mode,
                "winner_model": r.winner.model,
                "answer": r.winner.extracted,
                "votes": r.votes,
                "stopped_early": r.stopped_early,
                "models_asked": r.models_asked,
                "samples_used": len(r.samples),
            }
            for r in results
        ],
        "embedding": {"cached": decision.embed_cached, "seconds": round(embed_s, 6)},
        "gateway_overhead_s": round(overhead_s, 6),
        "_usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def completion_payload(base: dict[str, Any], chat: bool, answer: dict[str, Any]) -> dict[str, Any]:
    choices = []
    for index, result in enumerate(answer["results"]):
        text = result.winner.generation.text or ""
        finish = result.winner.generation.finish_reason
        content = {"message": {"role": "assistant", "content": text}} if chat else {"text": text}
        choices.append({"index": index, **content, "finish_reason": finish, "logprobs": None})
    return {
        **base,
        "object": "chat.completion" if chat else "text_completion",
        "choices": choices,
        "usage": answer["usage"],
        "avengers": answer["avengers"],
    }


async def stream_answer(
    request: web.Request, base: dict[str, Any], chat: bool, answer: dict[str, Any], *, include_usage: bool
) -> web.StreamResponse:
    """The voted answer(s) as server-sent events: role, text pieces, finish (with `avengers`), [DONE]."""
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
    await response.prepare(request)
    obj = "chat.completion.chunk" if chat else "text_completion"

    async def send(choices: list[dict[str, Any]], **extra: Any) -> None:
        payload = {**base, "object": obj, "choices": choices, **extra}
        await response.write(b"data: " + json.dumps(payload, ensure_ascii=False).encode() + b"\n\n")

    results: list[VoteResult] = answer["results"]
    for index, result in enumerate(results):
        text = result.winner.generation.text or ""
        if chat:
            await send(
                [{"index": index, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]
            )
        for start in range(0, len(text), STREAM_PIECE_CHARS):
            piece = text[start : start + STREAM_PIECE_CHARS]
            delta = {"delta": {"content": piece}} if chat else {"text": piece}
            await send([{"index": index, **delta, "finish_reason": None}])
        final = {"delta": {}} if chat else {"text": ""}
        last = [{"index": index, **final, "finish_reason": result.winner.generation.finish_reason}]
        if index == len(results) - 1:
            await send(last, avengers=answer["avengers"])
        else:
            await send(last)
    if include_usage:
        await send([], usage=answer["usage"])
    await response.write(b"data: [DONE]\n\n")
    await response.write_eof()
    return response
