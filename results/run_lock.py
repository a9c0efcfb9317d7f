"""One writer per run directory: an exclusive lock held for as long as an `eval` writes to the run.

Two processes writing one run would request every sample twice and could pair one process's grade with
the other's response. The lock is an advisory ``flock`` on ``<run_dir>/run.lock``: the kernel releases it
when its holder dies however it dies (kill -9, OOM killer), so a stale lock is never an obstacle. The file
also names its holder (pid, host, start time) for the refusal message; a file that still names a holder
when the lock is free was left by a process that died, and the new holder says it took over.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, ValidationError

from results.store import StoreError

LOCK_FILENAME = "run.lock"


class RunLockedError(StoreError):
    """Another live process holds the run directory."""


class LockHolder(BaseModel):
    pid: int
    host: str
    started_at: datetime

    def describe(self) -> str:
        return f"pid {self.pid} on host {self.host}, started {self.started_at:%Y-%m-%d %H:%M:%S} UTC"


def _read_holder(fd: int) -> LockHolder | None:
    os.lseek(fd, 0, os.SEEK_SET)
    text = os.read(fd, 4096).decode("utf-8", "replace").strip()
    if not text:
        return None
    try:
        return LockHolder.model_validate(json.loads(text))
    except (ValueError, ValidationError):
        return None


class RunLock:
    """``with RunLock(run_dir) as lock:`` (``lock.took_over`` names a dead previous holder, if any)."""

    def __init__(self, run_dir: Path | str):
        self.path = Path(run_dir) / LOCK_FILENAME
        self.took_over: LockHolder | None = None
        self._fd: int | None = None

    def acquire(self) -> RunLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            who = holder.describe() if holder else "another process (it has not written its details yet)"
            raise RunLockedError(
                f"run directory {self.path.parent} is in use by {who}. Two processes on one run would "
                "request and grade every sample twice: wait for it to finish, stop it, or pick another --run."
            ) from None
        except OSError:
            os.close(fd)
            raise
        self.took_over = _read_holder(fd)
        me = LockHolder(pid=os.getpid(), host=socket.gethostname(), started_at=datetime.now(UTC))
        os.ftruncate(fd, 0)
        os.pwrite(fd, me.model_dump_json().encode(), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is None:
            return
        os.ftruncate(self._fd, 0)  # an empty file: a clean exit, nothing to take over
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
