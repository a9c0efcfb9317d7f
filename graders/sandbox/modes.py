"""Isolation modes, probed once per process (`isolation_mode()`), and what one run is given.

- "namespaces" (the harness runs as root): each run gets new mount, PID, network, IPC and UTS
  namespaces, a fresh root holding only the system library directories and the interpreter
  (read-only), a private size-limited tmpfs for /tmp, /run, /dev/shm, /var/tmp, and a uid of its
  own with no capabilities and no_new_privs. The kernel kills the whole PID namespace when the run
  ends, and the tmpfs goes with the mount namespace, even if the harness is SIGKILLed.
- "userns" (not root, unprivileged user namespaces allowed): the same, inside a user namespace of
  the harness's user; the run keeps that user's uid (no other uid is mapped), with no capabilities.
  RLIMIT_NPROC then counts the user's other processes too (allowed for).
- "plain": no namespaces. Only the rlimits, a Python-level socket block (bypassable), a temp
  directory as cwd/HOME, a process-group kill and the syscall filter (no ptrace, process_vm_readv,
  namespaces or mounts) protect the host: the program can read and write every file the harness's
  user can, reach the network through raw syscalls, leave setsid daemons and SysV IPC objects behind,
  and signal the user's other processes (the harness too, kill(-1)). The verdict is still decided
  outside the program (graders/sandbox/judge.py). Logged as a warning when chosen.

Every mode installs the same seccomp filter in the run (runner._filter_syscalls): syscalls no answer needs
that widen the kernel surface (new namespaces, mounts, ptrace, bpf, io_uring, keyctl, perf, userfaultfd)
fail with EPERM.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import math
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from typing import Any

from graders.registry import GradingInfrastructureError
from graders.sandbox.channel import Channel
from graders.sandbox.limits import SandboxLimits
from graders.sandbox.zygote import UidSlot, processes_of_this_user, site_packages, zygote

log = logging.getLogger(__name__)

PLAIN_MODE_WARNING = (
    "code sandbox: no Linux namespaces here (run as root, or allow unprivileged user namespaces); "
    "falling back to 'plain' mode, which does NOT hide the host's files from model-written code, does "
    "not stop raw-syscall network access, SysV IPC or setsid daemons, and lets it signal this user's "
    "processes (the harness too)."
)


def run_payload(
    mode: str, parts: list[tuple[str, str]], limits: SandboxLimits, home: str, uid: int | None
) -> dict[str, Any]:
    """What the forked run reads first (see runner._run_child)."""
    jailed = mode != "plain"
    nproc = limits.nproc if mode == "namespaces" else limits.nproc + processes_of_this_user()
    return {
        "mode": mode,
        "parts": parts,
        "env": {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "HOME": home,
            "TMPDIR": home,
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
            # Keep numeric libraries from starting a thread per core (threads count against nproc).
            "OMP_NUM_THREADS": "1",
            "OPENBLAS_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
        },
        "jail": _jail(limits, uid) if jailed else None,
        "site_packages": site_packages(),
        "limits": {
            "cpu_s": limits.cpu_s or max(1, math.ceil(limits.timeout_s)),
            "memory_headroom_bytes": limits.memory_headroom_mb * 1024 * 1024,
            "nproc": nproc,
            "fsize_bytes": limits.fsize_mb * 1024 * 1024,
            "nofile": limits.nofile,
        },
    }


def _jail(limits: SandboxLimits, uid: int | None) -> dict[str, Any]:
    return {"tmpfs_bytes": limits.tmpfs_mb * 1024 * 1024, "uid": uid}


@contextlib.contextmanager
def started_run(
    mode: str, limits: SandboxLimits, deadline: float
) -> Iterator[tuple[Channel, str, int | None]]:
    """A forked run, its home directory (the private /tmp when jailed, a temp dir in plain mode) and its
    uid (root mode: one no other live run has, swept for stragglers before reuse)."""
    caps = limits.output_bytes, limits.message_mb * 1024 * 1024, limits.message_values
    if mode == "plain":
        home = tempfile.mkdtemp(prefix="harness-sandbox-")
        try:
            yield Channel(zygote(mode), deadline, *caps), home, None
        finally:
            shutil.rmtree(home, ignore_errors=True)
        return
    slot = UidSlot() if mode == "namespaces" else contextlib.nullcontext()
    with slot as uid:
        yield Channel(zygote(mode), deadline, *caps), "/tmp", uid


_PROBE_PROGRAM = "import json, math, collections\n\ndef probe(x):\n    return math.isqrt(x)\n"
_PROBE_TESTS = "assert probe(16) == 4\n"


MODES = ("namespaces", "userns", "plain")


@functools.lru_cache(maxsize=1)
def isolation_mode() -> str:
    """The strongest isolation that works here, found by grading a trivial program in each mode, or the
    one HARNESS_SANDBOX_MODE names (an error if it does not work here)."""
    from graders.sandbox.judge import judge_program

    forced = os.environ.get("HARNESS_SANDBOX_MODE", "").strip()
    if forced and forced not in MODES:
        raise GradingInfrastructureError(
            f"HARNESS_SANDBOX_MODE={forced!r}: expected one of {', '.join(MODES)}"
        )
    candidates = ["namespaces"] if os.geteuid() == 0 else []
    if shutil.which("unshare"):
        candidates.append("userns")
    for mode in [forced] if forced else [*candidates, "plain"]:
        started = time.monotonic()
        try:
            result = judge_program(
                _PROBE_PROGRAM, _PROBE_TESTS, limits=SandboxLimits(timeout_s=30), mode=mode
            )
        except GradingInfrastructureError as exc:
            log.info("sandbox isolation %s unavailable: %s", mode, exc)
            continue
        if result.passed:
            if mode == "plain":
                log.warning(PLAIN_MODE_WARNING)
            log.info("code sandbox isolation: %s (probe %.0f ms)", mode, 1000 * (time.monotonic() - started))
            return mode
        log.info("sandbox isolation %s unavailable: %s %s", mode, result.why, result.stderr[-300:])
    raise GradingInfrastructureError(
        f"sandbox mode {forced!r} does not work here"
        if forced
        else "no sandbox mode could run a trivial program"
    )
