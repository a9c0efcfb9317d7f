"""A stand-in for the `vllm` executable, used because the real `vllm serve` needs a GPU.

It accepts the `vllm serve MODEL --port P --served-model-name NAME ...` command line, records what it
was given, starts a child process (as vLLM starts tensor-parallel workers), and after a short delay
serves GET /v1/models on the given port with aiohttp. Environment knobs, per port:
  STANDIN_VLLM_DELAY=seconds        wait before listening (default 0.3)
  STANDIN_VLLM_FAIL_PORTS=p1,p2     print an error and exit 3 instead of serving
  STANDIN_VLLM_HANG_PORTS=p1,p2     never listen
  STANDIN_VLLM_CRASH_PORTS=p1,p2    serve for a second, then crash (exit 4)
  STANDIN_VLLM_RECORD_DIR=dir       write {port}.json with argv, CUDA_VISIBLE_DEVICES and pids
"""

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from aiohttp import web


def _ports(name: str) -> set[int]:
    return {int(p) for p in os.environ.get(name, "").split(",") if p}


def main() -> None:
    parser = argparse.ArgumentParser(prog="vllm")
    parser.add_argument("command", choices=["serve"])
    parser.add_argument("model")
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--served-model-name", default=None)
    args, _rest = parser.parse_known_args()

    worker = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    record_dir = os.environ.get("STANDIN_VLLM_RECORD_DIR")
    if record_dir:
        record = {
            "argv": sys.argv[1:],
            "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
            "pid": os.getpid(),
            "worker_pid": worker.pid,
        }
        Path(record_dir, f"{args.port}.json").write_text(json.dumps(record))

    print(f"INFO stand-in vllm: loading {args.model} for port {args.port}", flush=True)
    if args.port in _ports("STANDIN_VLLM_FAIL_PORTS"):
        # Dies without stopping its worker: the launcher must still clean the worker up.
        print("ValueError: CUDA out of memory (stand-in failure)", flush=True)
        sys.exit(3)
    time.sleep(float(os.environ.get("STANDIN_VLLM_DELAY", "0.3")))
    if args.port in _ports("STANDIN_VLLM_HANG_PORTS"):
        time.sleep(600)

    served = args.served_model_name or args.model

    async def models(_request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [{"id": served, "object": "model"}]})

    async def crash_soon(_app: web.Application) -> None:
        def crash() -> None:
            print("RuntimeError: NCCL error (stand-in crash)", flush=True)
            worker.terminate()
            os._exit(4)

        asyncio.get_running_loop().call_later(1.0, crash)

    app = web.Application()
    app.router.add_get("/v1/models", models)
    if args.port in _ports("STANDIN_VLLM_CRASH_PORTS"):
        app.on_startup.append(crash_soon)
    try:
        web.run_app(app, host=args.host, port=args.port, print=None)  # exits cleanly on SIGTERM
    finally:
        worker.terminate()


if __name__ == "__main__":
    main()
