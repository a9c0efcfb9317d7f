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

THREADS_ENV = "HARNESS_EMBEDDED_THREADS"


def default_threads() -> int:
    """$HARNESS_EMBEDDED_THREADS, else every CPU this process may use. On a quiet 2-core machine two decode
    threads finish the README's command-1 eval in 92 s against 147 s with one; on a machine shared with
    other busy work llama.cpp's spinning threads can be several times slower, so set the variable to 1 there."""
    configured = os.environ.get(THREADS_ENV, "").strip()
    if configured:
        try:
            value = int(configured)
        except ValueError:
            raise SystemExit(f"{THREADS_ENV}={configured!r}: expected a whole number of threads") from None
        if value < 1:
            raise SystemExit(f"{THREADS_ENV}={configured!r}: expected at least 1 thread")
        return value
    return max(len(os.sched_getaffinity(0)), 1)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m harness.serving.llama_server", description=__doc__)
    parser.add_argument("--model", required=True, help="path of the .gguf file")
    parser.add_argument("--alias", required=True, help="the model id served on /v1/models")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--ctx-per-slot", type=int, default=4096, help="context length of each request")
    parser.add_argument("--parallel", type=int, default=2, help="requests decoded together (slots)")
    parser.add_argument("--threads", type=int, default=None, help=f"default: ${THREADS_ENV}, else every CPU")
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
