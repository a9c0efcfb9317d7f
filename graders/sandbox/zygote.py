"""The harness side of the fork server (graders/sandbox/runner.py): one warm zygote per harness
process and isolation mode, which forks every run; plus what a run needs from the host (its uid,
the read-only paths of its root)."""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import marshal
import os
import site
import socket
import subprocess
import sys
import threading
from concurrent.futures import Future
from pathlib import Path

from graders.registry import GradingInfrastructureError

log = logging.getLogger(__name__)

_HERE = Path(__file__).parent
RUNNER_SOURCE = (_HERE / "wire.py").read_text() + "\n\n" + (_HERE / "runner.py").read_text()
_UID_BASE = 100_000_000  # sandbox uids (root mode): base + pid * 64 + slot, unique among live runs
SLOTS_PER_PROCESS = 64
# System directories the interpreter and its shared libraries may live in (bound read-only if present).
_SYSTEM_DIRS = ("/usr", "/lib", "/lib64", "/lib32", "/libx32", "/bin", "/sbin")
_SYSTEM_FILES = ("/etc/ld.so.cache",)  # not secret; lets ld.so find libraries in non-default directories


def zygote_environment() -> dict[str, str]:
    return {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}


# ---- what the jail binds -------------------------------------------------------------------


def _outermost(paths: set[str]) -> list[str]:
    ordered = sorted(paths, key=len)
    return [
        p for i, p in enumerate(ordered) if not any(p.startswith(q.rstrip("/") + "/") for q in ordered[:i])
    ]


def jail_layout() -> dict[str, list]:
    """Read-only paths (system library dirs, the interpreter's prefixes and site-packages) and the
    top-level symlinks (e.g. /lib -> usr/lib) of the run's new root. Nothing else of the host is there."""
    interpreter = {
        os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, os.path.dirname(sys.executable))
    }
    interpreter.add(os.path.dirname(os.path.realpath(sys.executable)))
    interpreter.update(os.path.realpath(p) for p in site.getsitepackages() if os.path.isdir(p))
    symlinks, read_only = [], set(interpreter)
    for path in _SYSTEM_DIRS:
        if os.path.islink(path):
            symlinks.append((path, os.readlink(path)))
        elif os.path.isdir(path):
            read_only.add(path)
    read_only.update(p for p in _SYSTEM_FILES if os.path.isfile(p))
    return {"read_only": _outermost(read_only), "symlinks": symlinks}


def site_packages() -> list[str]:
    return [p for p in site.getsitepackages() if os.path.isdir(p)]


# ---- per-run uids (root mode) --------------------------------------------------------------

_slot_lock = threading.Lock()
_free_slots: list[int] = list(range(SLOTS_PER_PROCESS))
_slot_pid = os.getpid()


def run_uid(slot: int) -> int:
    return _UID_BASE + os.getpid() * SLOTS_PER_PROCESS + slot


class UidSlot:
    """A uid no other live run has, so RLIMIT_NPROC counts only this run's processes."""

    def __enter__(self) -> int:
        global _free_slots, _slot_pid
        with _slot_lock:
            if _slot_pid != os.getpid():  # forked: the parent's bookkeeping does not apply here
                _free_slots, _slot_pid = list(range(SLOTS_PER_PROCESS)), os.getpid()
            if not _free_slots:
                raise GradingInfrastructureError(
                    f"more than {SLOTS_PER_PROCESS} concurrent sandboxes in one process"
                )
            self.slot = _free_slots.pop()
        return run_uid(self.slot)

    def __exit__(self, kind: type[BaseException] | None, *rest: object) -> None:
        if kind is GradingInfrastructureError:  # the run may not have exited: never hand its uid on
            log.error("sandbox uid %s retired: its run did not report an exit", run_uid(self.slot))
            return
        # No sweep for stragglers is needed: the run is pid 1 of its PID namespace, and once the zygote
        # has reaped it the kernel guarantees every process of that namespace is gone.
        with _slot_lock:
            _free_slots.append(self.slot)


def pids_of(uid: int) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    pids.append(int(entry))
    return pids


def processes_of_this_user() -> int:
    uid, count = os.getuid(), 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                count += os.stat(f"/proc/{entry}").st_uid == uid
    return count


# ---- the zygote client ---------------------------------------------------------------------


def zygote_command(mode: str, child_fd: int) -> list[str]:
    layout = json.dumps(jail_layout())
    python = [sys.executable, "-I", "-S", "-c", RUNNER_SOURCE, "--zygote", str(child_fd), mode, layout]
    if mode == "userns":  # an unprivileged user: root of a user namespace of its own, then as "namespaces"
        return ["unshare", "--user", "--map-root-user", "--", *python]
    return python


class Zygote:
    """One warm fork server. `spawn` hands it a run's pipe ends and returns the run's id; the zygote
    reports the run's exit status under that id and kills it on request (by id, so never a reused pid)."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.sock, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self.proc = subprocess.Popen(
                zygote_command(mode, child.fileno()),
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                cwd="/", env=zygote_environment(), start_new_session=True, pass_fds=(child.fileno(),),
            )  # fmt: skip
        except OSError as exc:
            raise GradingInfrastructureError(
                f"could not start the sandbox fork server ({mode}): {exc}"
            ) from exc
        finally:
            child.close()
        self.owner_pid = os.getpid()
        self._send_lock = threading.Lock()
        self._state_lock = threading.Lock()
        self._exited: dict[int, Future[int]] = {}
        self._run_ids = itertools.count()
        self.dead = False
        threading.Thread(target=self._read_replies, name="sandbox-zygote", daemon=True).start()

    def _send(self, message: tuple[str, int], fds: list[int] | None = None) -> None:
        with self._send_lock:
            socket.send_fds(self.sock, [marshal.dumps(message)], fds or [])

    def _read_replies(self) -> None:
        try:
            while message := self.sock.recv(4096):
                kind, run_id, code = marshal.loads(message)
                if kind == "exited":
                    with self._state_lock:
                        future = self._exited.get(run_id)
                    if future is not None:
                        future.set_result(code)
        except OSError:
            pass
        with self._state_lock:
            self.dead = True
            error = GradingInfrastructureError("the sandbox fork server exited")
            for future in self._exited.values():
                if not future.done():
                    future.set_exception(error)

    def spawn(self, fds: list[int]) -> tuple[int, Future[int]]:
        """Start a run on these fds; returns its id and a future for its exit code."""
        run_id = next(self._run_ids)
        future: Future[int] = Future()
        with self._state_lock:
            if self.dead:
                raise GradingInfrastructureError("the sandbox fork server exited")
            self._exited[run_id] = future
        try:
            self._send(("spawn", run_id), fds)
        except OSError as exc:
            raise GradingInfrastructureError(f"the sandbox fork server did not take a run: {exc}") from exc
        return run_id, future

    def kill(self, run_id: int) -> None:
        with contextlib.suppress(OSError):
            self._send(("kill", run_id))

    def forget(self, run_id: int) -> None:
        with self._state_lock:
            self._exited.pop(run_id, None)


_zygote_lock = threading.Lock()
_zygotes: dict[str, Zygote] = {}


def zygote(mode: str) -> Zygote:
    with _zygote_lock:
        current = _zygotes.get(mode)
        if current is None or current.dead or current.owner_pid != os.getpid():
            current = _zygotes[mode] = Zygote(mode)
        return current
