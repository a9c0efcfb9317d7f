"""`python -m harness serve-router`: serve a router artifact over a model pool as one OpenAI endpoint."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_serve_router_command(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "serve-router",
        help="serve a router artifact as an OpenAI-compatible endpoint (embed, route, sample, vote per request)",
    )
    p.add_argument("--router", type=Path, required=True, help="artifact written by `route fit` (.npz)")
    p.add_argument("--models", type=Path, default=None, metavar="POOL.yaml", help="the pool file")
    p.add_argument(
        "--model", action="append", default=[], metavar="NAME=URL[,URL]", help="a pool member (repeatable)"
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8100)
    p.add_argument("--name", default="avengers", help="the model name clients ask for (default %(default)s)")
    p.add_argument("--samples", type=int, default=10, help="samples per answer, all models together")
    p.add_argument("--top-n", type=int, default=1, help="models per answer; >1 uses Model-Switch")
    p.add_argument("--temperature", type=float, default=0.7, help="when a request sets none")
    p.add_argument("--max-tokens", type=int, default=2048, help="when a request sets none")
    p.add_argument(
        "--answer-format",
        default=None,
        help="grader for every request (math, choice, label, exact, numeric, none); "
        "default: the task recognised from the prompt, else the cluster's majority task",
    )
    p.add_argument(
        "--embedder",
        default=None,
        help="embedder spec overriding the artifact's, e.g. openai:<model>@<url> serving the same model",
    )
    p.add_argument(
        "--embed-threads",
        type=int,
        default=1,
        help="CPU threads of an in-process embedder, ONNX Runtime or torch (default 1: one short query gains "
        "nothing from more, and spinning threads cost CPU the event loop needs)",
    )
    p.add_argument("--embed-cache", type=int, default=20_000, help="query vectors kept in memory")
    p.add_argument("--max-in-flight", type=int, default=256, help="requests answered at once")
    p.add_argument("--max-queue", type=int, default=1024, help="requests waiting before 429")
    p.add_argument("--member-attempts", type=int, default=2, help="tries per model call before falling back")
    p.add_argument("--request-log", type=Path, default=None, help="append one JSON line per request here")
    p.add_argument("--tasks-dir", type=Path, default=None, help="task files to recognise prompts with")
    p.set_defaults(func=serve_router_main)


def build_gateway(args: argparse.Namespace):
    from harness.config import load_pool, parse_model_shorthand
    from harness.serving.gateway.server import Gateway, GatewaySettings
    from harness.taskset import discover_tasks
    from router.embedders import make_embedder
    from router.model import Router

    specs = [parse_model_shorthand(text) for text in args.model]
    if args.models:
        specs.extend(load_pool(args.models).models)
    if not specs:
        raise ValueError("serve-router needs the pool: --models POOL.yaml or --model NAME=URL")
    router = Router.load(args.router)
    settings = GatewaySettings(
        name=args.name,
        samples=args.samples,
        top_n=args.top_n,
        temperature=args.temperature,
        max_tokens=args.max_tokens,
        answer_format=args.answer_format,
        max_in_flight=args.max_in_flight,
        max_queue=args.max_queue,
        member_attempts=args.member_attempts,
        request_log=args.request_log,
        embed_cache_size=args.embed_cache,
    )
    embedder = make_embedder(args.embedder) if args.embedder else None
    spec = args.embedder or router.config.embedder
    if spec.startswith("minilm"):
        from router.minilm_runtime import set_threads

        set_threads(args.embed_threads)  # for ONNX Runtime or torch, whichever runs it
    elif spec.startswith("st:"):
        import torch

        torch.set_num_threads(args.embed_threads)
    tasks = list(discover_tasks(args.tasks_dir).values())
    return Gateway(router, specs, settings, tasks=tasks, embedder=embedder)


def serve_router_main(args: argparse.Namespace) -> int:
    import asyncio
    import json
    import sys

    from harness.serving.gateway.server import serve

    gateway = build_gateway(args)

    def ready(site) -> None:
        sockets = site._server.sockets if site._server else []  # noqa: SLF001 - aiohttp has no public getter
        port = sockets[0].getsockname()[1] if sockets else args.port
        url = f"http://{args.host}:{port}/v1"
        strategies = gateway.strategies.names  # the pool's strategy entries, served under their own names
        print(json.dumps({"base_url": url, "model": args.name, "strategies": strategies}), flush=True)
        print(
            f"serving {args.router} as {args.name!r} over {', '.join(gateway.routing.models)} "
            f"(samples {args.samples}, top-n {args.top_n}); strategies: {', '.join(strategies) or 'none'}",
            file=sys.stderr,
            flush=True,
        )

    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(serve(gateway, args.host, args.port, ready=ready))
    return 0
