"""Collecting a sandbox run's output: capped stdout/stderr plus the runner's result pipe."""

from __future__ import annotations

import os
import selectors
import time
from collections.abc import Callable

from pydantic import BaseModel


class Launch(BaseModel):
    """What one launched run produced (before the nonce check)."""

    out: bytes
    err: bytes
    result: bytes
    timed_out: bool
    returncode: int | None


def read_until_exit(
    out_fd: int, err_fd: int, result_fd: int, wait_exit: Callable[[float], bool], deadline: float, cap: int
) -> tuple[bytes, bytes, bytes, bool]:
    """Collect stdout/stderr (first `cap` bytes each) and the result pipe until the run exits.
    `wait_exit(seconds)` waits up to that long for the run to exit and says whether it has."""
    buffers = {out_fd: bytearray(), err_fd: bytearray(), result_fd: bytearray()}
    selector = selectors.DefaultSelector()
    for fd in buffers:
        os.set_blocking(fd, False)
        selector.register(fd, selectors.EVENT_READ)
    timed_out = False

    def drain(fd: int) -> bool:
        try:
            chunk = os.read(fd, 65536)
        except BlockingIOError:
            return True
        if not chunk:
            selector.unregister(fd)
            return False
        limit = 4096 if fd == result_fd else cap
        room = limit - len(buffers[fd])
        if room > 0:
            buffers[fd] += chunk[:room]
        return True

    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                timed_out = True
                break
            if not selector.get_map():  # every pipe closed: only the exit is left to wait for
                if wait_exit(remaining):
                    break
                continue
            for key, _ in selector.select(timeout=min(remaining, 0.05)):
                drain(key.fd)
            if wait_exit(0):
                for fd in list(selector.get_map()):  # whatever is already buffered in the pipes
                    while drain(fd) and fd in selector.get_map():
                        ready = selector.select(timeout=0)
                        if not any(k.fd == fd for k, _ in ready):
                            break
                break
    finally:
        selector.close()
    return bytes(buffers[out_fd]), bytes(buffers[err_fd]), bytes(buffers[result_fd]), timed_out
