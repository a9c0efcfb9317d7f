"""The sandbox's fork server: one warm root process per harness process that forks each run.

The server side is `_zygote` in graders/sandbox_runner.py. A run costs a fork instead of a
fresh interpreter; each forked child enters new mount/network/PID namespaces itself and then
takes exactly the path of a freshly started runner, so the limits and the jail are the same
as in the exec-based "namespaces" mode.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import marshal
import os
import socket
import subprocess
import sys
import threading
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeoutError
from typing import Any

from graders.registry import GradingInfrastructureError
from graders.sandbox_io import Launch, read_until_exit


class _Zygote:
    """Client side of sandbox_runner._zygote: one warm root process per harness process."""

    def __init__(self, runner_source: str, env: dict[str, str]) -> None:
        self.sock, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-I", "-S", "-c", runner_source, "--zygote", str(child.fileno())],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                cwd="/", env=env, start_new_session=True, pass_fds=(child.fileno(),),
            )  # fmt: skip
        finally:
            child.close()
        self.pid = os.getpid()
        self._send_lock = threading.Lock()
        self._state_lock = threading.Lock()
        self._started: dict[int, Future[int]] = {}
        self._exited: dict[int, Future[int]] = {}
        self._request_ids = itertools.count()
        self.dead = False
        threading.Thread(target=self._read_replies, name="sandbox-zygote", daemon=True).start()

    def _send(self, message: tuple[str, int], fds: list[int] | None = None) -> None:
        with self._send_lock:
            socket.send_fds(self.sock, [marshal.dumps(message)], fds or [])

    def _read_replies(self) -> None:
        try:
            while True:
                message = self.sock.recv(4096)
                if not message:
                    break
                kind, *args = marshal.loads(message)
                with self._state_lock:
                    if kind == "started":
                        request_id, pid = args
                        self._started.pop(request_id).set_result(pid)
                    elif kind == "exited":
                        pid, code = args
                        self._exited.setdefault(pid, Future()).set_result(code)
        except OSError:
            pass
        with self._state_lock:
            self.dead = True
            error = GradingInfrastructureError("the sandbox fork server exited")
            for future in [*self._started.values(), *self._exited.values()]:
                if not future.done():
                    future.set_exception(error)

    def spawn(self, fds: list[int]) -> int:
        request_id = next(self._request_ids)
        future: Future[int] = Future()
        with self._state_lock:
            if self.dead:
                raise GradingInfrastructureError("the sandbox fork server exited")
            self._started[request_id] = future
        try:
            self._send(("spawn", request_id), fds)
            return future.result(timeout=30)
        except (OSError, FutureTimeoutError) as exc:
            raise GradingInfrastructureError(f"the sandbox fork server did not start a run: {exc}") from exc

    def exit_status(self, pid: int) -> Future[int]:
        with self._state_lock:
            return self._exited.setdefault(pid, Future())

    def kill(self, pid: int) -> None:
        with contextlib.suppress(OSError):
            self._send(("kill", pid))

    def forget(self, pid: int) -> None:
        with self._state_lock:
            self._exited.pop(pid, None)


_zygote_lock = threading.Lock()
_zygote_instance: _Zygote | None = None


def _zygote(runner_source: str, env: dict[str, str]) -> _Zygote:
    global _zygote_instance
    with _zygote_lock:
        current = _zygote_instance
        if current is None or current.dead or current.pid != os.getpid():
            current = _zygote_instance = _Zygote(runner_source, env)
        return current


def _wait_future(future: Future[int], seconds: float) -> bool:
    try:
        future.exception(timeout=seconds)
    except FutureTimeoutError:
        return False
    return True


def launch_forkserver(
    payload: dict[str, Any], runner_source: str, env: dict[str, str], deadline: float, cap: int
) -> Launch:
    """Fork the run from this process's warm zygote (see sandbox_runner._zygote)."""
    zygote = _zygote(runner_source, env)
    pipes = [os.pipe() for _ in range(4)]  # payload (child reads), stdout, stderr, result
    child_ends = [pipes[0][0], pipes[1][1], pipes[2][1], pipes[3][1]]
    payload_w, out_r, err_r, result_r = pipes[0][1], pipes[1][0], pipes[2][0], pipes[3][0]
    payload["result_fd"] = 3
    try:
        try:
            pid = zygote.spawn(child_ends)
        finally:
            for fd in child_ends:
                os.close(fd)
        exited = zygote.exit_status(pid)
        with contextlib.suppress(BrokenPipeError), os.fdopen(payload_w, "wb") as stream:
            payload_w = -1
            stream.write(marshal.dumps(payload))
        out, err, result, timed_out = read_until_exit(
            out_r, err_r, result_r, functools.partial(_wait_future, exited), deadline, cap
        )
        if not exited.done():
            zygote.kill(pid)
        try:
            returncode = exited.result(timeout=10)
        except FutureTimeoutError as exc:
            raise GradingInfrastructureError(f"sandbox run {pid} did not exit after SIGKILL") from exc
        finally:
            zygote.forget(pid)
    finally:
        for fd in (payload_w, out_r, err_r, result_r):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
    return Launch(out=out, err=err, result=result, timed_out=timed_out, returncode=returncode)
