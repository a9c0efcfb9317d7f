"""One sandbox run seen from the harness: start it from the zygote, exchange framed messages with it
under a deadline while collecting its capped stdout/stderr, and end it (the whole process tree)."""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import time
from concurrent.futures import TimeoutError as FutureTimeoutError
from typing import Any

from graders.registry import GradingInfrastructureError
from graders.sandbox import wire
from graders.sandbox.zygote import Zygote


class RunBroken(BaseException):  # noqa: N818 - BaseException so that a test's `except Exception` cannot hide it
    """The run can no longer answer (it exited, timed out, or broke the protocol); the sample fails."""

    def __init__(self, why: str, *, timed_out: bool = False) -> None:
        super().__init__(why)
        self.why = why
        self.timed_out = timed_out


class Channel:
    """Pipes to one forked run: requests out, replies in (4-byte length + JSON), stdout/stderr in."""

    def __init__(
        self, zygote: Zygote, deadline: float, output_cap: int, message_cap: int, value_cap: int
    ) -> None:
        self.zygote, self.deadline = zygote, deadline
        self.output_cap, self.message_cap, self.value_cap = output_cap, message_cap, value_cap
        pipes = [os.pipe() for _ in range(4)]  # stdout, stderr, requests (run reads), replies (run writes)
        child_ends = [pipes[0][1], pipes[1][1], pipes[2][0], pipes[3][1]]
        self.out_fd, self.err_fd, self.request_fd, self.reply_fd = (
            pipes[0][0],
            pipes[1][0],
            pipes[2][1],
            pipes[3][0],
        )
        self.output = {self.out_fd: bytearray(), self.err_fd: bytearray()}
        self.inbox = bytearray()
        self.reply_bytes = 0  # all replies so far, framing included
        self.closed: set[int] = set()
        self.broken: RunBroken | None = None
        try:
            self.run_id, self.exited = zygote.spawn(child_ends)
        except BaseException:
            self._close_fds()
            raise
        finally:
            for fd in child_ends:
                os.close(fd)
        self.selector = selectors.DefaultSelector()
        for fd in (self.out_fd, self.err_fd, self.reply_fd, self.request_fd):
            os.set_blocking(fd, False)
        for fd in (self.out_fd, self.err_fd, self.reply_fd):
            self.selector.register(fd, selectors.EVENT_READ)

    # ---- exchange ---------------------------------------------------------------------------

    def send(self, message: Any) -> None:
        """Queue one message; it is written while waiting for the reply (the run may be busy printing)."""
        data = wire.dumps(message)
        self._pending = memoryview(len(data).to_bytes(4, "big") + data)

    def exchange(self, message: Any) -> Any:
        """Send a message and return the parsed reply; RunBroken if the run cannot answer in time."""
        if self.broken:
            raise self.broken
        try:
            self.send(message)
            if self._pending:
                self.selector.register(self.request_fd, selectors.EVENT_WRITE)
            return self.receive()
        except RunBroken as exc:
            self.broken = exc
            raise

    def receive(self) -> Any:
        if self.broken:
            raise self.broken
        try:
            return self._receive()
        except RunBroken as exc:
            self.broken = exc
            raise

    def _receive(self) -> Any:
        while True:
            frame = self._take_frame()
            if frame is not None:
                try:
                    return wire.loads(frame)
                except wire.WireError as exc:
                    raise RunBroken(f"a malformed reply: {exc}") from exc
            if self.reply_fd in self.closed:
                raise self._exit_reason()
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                raise RunBroken("timed out", timed_out=True)
            for key, events in self.selector.select(timeout=remaining):
                if events & selectors.EVENT_WRITE:
                    self._write_some()
                else:
                    self._drain(key.fd)

    def _take_frame(self) -> bytes | None:
        if len(self.inbox) < 4:
            return None
        size = int.from_bytes(self.inbox[:4], "big")
        if size > self.message_cap:
            raise RunBroken(f"a reply of {size} bytes is over the {self.message_cap}-byte limit")
        if len(self.inbox) < 4 + size:
            return None
        frame = bytes(self.inbox[4 : 4 + size])
        del self.inbox[: 4 + size]
        self.reply_bytes += 4 + size
        if wire.structure_count(frame) > self.value_cap:
            raise RunBroken(f"a reply of more than {self.value_cap} values")
        return frame

    def _write_some(self) -> None:
        try:
            written = os.write(self.request_fd, self._pending[: 1 << 16])
        except BlockingIOError:
            return
        except BrokenPipeError:
            self.selector.unregister(self.request_fd)
            self._pending = memoryview(b"")
            return
        self._pending = self._pending[written:]
        if not self._pending:
            self.selector.unregister(self.request_fd)

    def _drain(self, fd: int) -> None:
        try:
            chunk = os.read(fd, 1 << 16)
        except BlockingIOError:
            return
        if not chunk:
            self.selector.unregister(fd)
            self.closed.add(fd)
            return
        if fd == self.reply_fd:
            self.inbox += chunk
            if len(self.inbox) > self.message_cap + 4:
                raise RunBroken(f"a reply over the {self.message_cap}-byte limit")
            return
        room = self.output_cap - len(self.output[fd])
        if room > 0:
            self.output[fd] += chunk[:room]

    def _exit_reason(self) -> RunBroken:
        try:
            code = self.exited.result(timeout=2)
        except FutureTimeoutError:
            return RunBroken("the program closed its reply pipe")
        if code in (-signal.SIGXCPU, 128 + signal.SIGXCPU):  # the run's RLIMIT_CPU (sandbox/runner.py)
            return RunBroken("timed out (CPU-time limit)", timed_out=True)
        return RunBroken(f"the program exited (exit code {code})")

    # ---- ending -----------------------------------------------------------------------------

    def finish(self) -> int | None:
        """Kill the run's process tree, keep what output is already there, and return its exit code."""
        self.broken = self.broken or RunBroken("the run has ended")  # a stand-in kept past the run fails
        self.zygote.kill(self.run_id)
        with contextlib.suppress(KeyError):
            self.selector.unregister(self.request_fd)
        stop = time.monotonic() + 0.2
        while len(self.closed & {self.out_fd, self.err_fd}) < 2 and time.monotonic() < stop:
            for key, events in self.selector.select(timeout=max(0.0, stop - time.monotonic())):
                if not events & selectors.EVENT_WRITE:
                    with contextlib.suppress(RunBroken):
                        self._drain(key.fd)
        try:
            code: int | None = self.exited.result(timeout=10)
        except FutureTimeoutError as exc:
            raise GradingInfrastructureError(f"sandbox run {self.run_id} did not exit after SIGKILL") from exc
        finally:
            self.zygote.forget(self.run_id)
            self.selector.close()
            self._close_fds()
        return code

    def _close_fds(self) -> None:
        for fd in (self.out_fd, self.err_fd, self.request_fd, self.reply_fd):
            with contextlib.suppress(OSError):
                os.close(fd)

    def text(self, fd: int) -> str:
        return self.output[fd].decode(errors="replace")
