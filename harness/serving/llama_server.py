"""`python -m harness.serving.llama_server`: llama.cpp's own HTTP server (through xllamacpp) for one GGUF.

xllamacpp ships prebuilt wheels with llama.cpp's C++ server inside: `xllamacpp.Server` loads the
model and serves the OpenAI-compatible routes (/v1/models, /v1/chat/completions, /v1/completions)
from background threads. This process only configures it and keeps it alive until SIGTERM/SIGINT,
so that `ManagedServer` can run it like any other server binary.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading


def default_threads() -> int:
    """Half the CPUs, at least one: llama.cpp's decode threads spin, and on a shared 2-core machine two of
    them run about 4x slower than one (measured with the harness's own worker processes beside them)."""
    return max((os.cpu_count() or 2) // 2, 1)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m harness.serving.llama_server", description=__doc__)
    parser.add_argument("--model", required=True, help="path of the .gguf file")
    parser.add_argument("--alias", required=True, help="the model id served on /v1/models")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--ctx-per-slot", type=int, default=4096, help="context length of each request")
    parser.add_argument("--parallel", type=int, default=2, help="requests decoded together (slots)")
    parser.add_argument("--threads", type=int, default=None, help="default: half the CPUs")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = args.model
    params.model_alias = {args.alias}
    params.hostnames = [args.host]
    params.port = args.port
    params.n_parallel = args.parallel
    params.n_ctx = args.ctx_per_slot * args.parallel  # llama.cpp splits n_ctx evenly over the slots
    threads = args.threads or default_threads()
    params.cpuparams.n_threads = threads
    params.cpuparams_batch.n_threads = threads
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    try:
        server = xllamacpp.Server(params)  # returns once the model is loaded and the port is listening
    except RuntimeError as exc:  # llama.cpp logged the cause just above
        print(f"llama_server: cannot serve {args.model}: {exc}", file=sys.stderr, flush=True)
        return 1
    print(f"llama_server: serving {args.alias} at {server.listening_address}", file=sys.stderr, flush=True)
    stop.wait()
    del server  # joins llama.cpp's threads
    return 0


if __name__ == "__main__":
    sys.exit(main())
