"""The embedded model's server (xllamacpp: llama.cpp's C++ server) against llama-cpp-python's server.

Same GGUF (the embedded SmolLM2-135M-Instruct), same 8 chat requests (64 tokens, 2 in flight, fixed
seeds), servers run alternately so both see the same machine load. Prints time to ready and tokens/s
per run and the ratio of the medians. The peer needs `pip install "llama-cpp-python[server]"` (a source
build); without it only xllamacpp is measured.

    python bench/embedded_server.py [--rounds 2]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from harness.serving.embedded import find_free_port  # noqa: E402
from harness.serving.smollm2 import smollm2_gguf  # noqa: E402


def command(kind: str, gguf: Path, port: int) -> list[str]:
    if kind == "llama-cpp-python":
        return [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--model_alias", "m",
                "--port", str(port), "--n_ctx", "4096", "--interrupt_requests", "False"]  # fmt: skip
    return [sys.executable, "-m", "harness.serving.llama_server", "--model", str(gguf), "--alias", "m",
            "--port", str(port), "--parallel", "2"]  # fmt: skip


async def measure(kind: str, gguf: Path) -> tuple[float, float]:
    port = find_free_port()
    started = time.perf_counter()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(command(kind, gguf, port), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    base = f"http://127.0.0.1:{port}/v1"
    try:
        async with aiohttp.ClientSession() as session:
            while True:
                try:
                    async with session.get(f"{base}/models") as response:
                        if response.status == 200:
                            break
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.2)
            ready = time.perf_counter() - started
            slots = asyncio.Semaphore(2)
            tokens = 0

            async def one(i: int) -> None:
                nonlocal tokens
                body = {"model": "m", "max_tokens": 64, "temperature": 0.7, "seed": i,
                        "messages": [{"role": "user", "content": f"Question {i}: why is the sky blue?"}]}  # fmt: skip
                async with slots, session.post(f"{base}/chat/completions", json=body) as response:
                    tokens += (await response.json())["usage"]["completion_tokens"]

            t0 = time.perf_counter()
            await asyncio.gather(*(one(i) for i in range(8)))
            rate = tokens / (time.perf_counter() - t0)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    print(f"{kind}: ready in {ready:.1f} s, {rate:.1f} tokens/s", flush=True)
    return ready, rate


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    gguf = smollm2_gguf()
    kinds = ["xllamacpp"] + (["llama-cpp-python"] if importlib.util.find_spec("llama_cpp") else [])
    rates: dict[str, list[float]] = {kind: [] for kind in kinds}
    for _ in range(args.rounds):
        for kind in kinds:
            rates[kind].append((await measure(kind, gguf))[1])
    if len(kinds) == 2:
        ratio = statistics.median(rates["xllamacpp"]) / statistics.median(rates["llama-cpp-python"])
        print(f"xllamacpp / llama-cpp-python tokens/s (medians): {ratio:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
