"""Run untrusted Python (model-written code plus its tests) in a contained subprocess.

Each run gets a fresh temporary directory, its own session/process group, rlimits (CPU,
address space = the interpreter's own size + a headroom, processes, file size, open files),
a wall-clock timeout that kills the whole group, a scrubbed environment, capped output, and no
network. How much isolation the machine allows is probed once per process (`isolation_mode()`):

- "forkserver" (running as root; the default there): like "namespaces" below, but each run is
  forked from a warm per-process server (graders/sandbox_forkserver.py) instead of starting a
  fresh interpreter, which makes a run ~4x cheaper. The forked child enters its own namespaces
  and then runs exactly the same runner code.
- "namespaces" (running as root): `unshare` gives the run new mount, network, and PID
  namespaces; the runner then drops to a fresh unprivileged uid used by no other run (so
  RLIMIT_NPROC counts only this run, and the filesystem is protected by ordinary permissions),
  with no capabilities and no_new_privs;
  /tmp, /var/tmp, /dev/shm are replaced by small private tmpfs mounts and directories the
  interpreter needs but the new uid cannot traverse (e.g. a Python under /root) are made
  reachable by covering their private ancestor with a tmpfs and bind-mounting only the
  interpreter back read-only. A root init stays pid 1 of the run's PID namespace (see
  sandbox_runner._stay_as_namespace_init), so when the run ends or is killed the kernel kills
  every process left in it; the run's uid is then swept for stragglers before it is reused.
- "userns" (not root, user namespaces allowed): `unshare --map-root-user` with new network and
  PID namespaces; files are the user's own (no filesystem isolation beyond the rlimits).
- "plain": no namespaces; sockets are blocked in-process (bypassable by determined code) and
  the process group is killed at the end.

A run passes only if the exit code is 0 AND the runner wrote the harness's random nonce to a
private pipe after the last part (see graders/sandbox_runner.py).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import marshal
import os
import secrets
import shutil
import signal
import site
import stat
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from graders.registry import GradingInfrastructureError, StrictModel
from graders.sandbox_forkserver import launch_forkserver
from graders.sandbox_io import Launch, read_until_exit

log = logging.getLogger(__name__)

_RUNNER_SOURCE = (Path(__file__).parent / "sandbox_runner.py").read_text()
_UID_BASE = 100_000_000  # sandbox uids: base + pid * 64 + slot, unique among live runs
_SLOTS_PER_PROCESS = 64
_WORLD_WRITABLE = ("/tmp", "/var/tmp", "/dev/shm")


class SandboxLimits(StrictModel):
    timeout_s: float = Field(default=10.0, gt=0, description="wall-clock limit for the whole run")
    cpu_s: int | None = Field(default=None, gt=0, description="RLIMIT_CPU seconds (default: ceil(timeout_s))")
    memory_headroom_mb: int = Field(
        default=1024, gt=0, description="RLIMIT_AS = the interpreter's measured size at start + this many MiB"
    )
    nproc: int = Field(default=32, gt=0, description="processes/threads the run may create")
    fsize_mb: int = Field(default=16, gt=0, description="largest file the run may write")
    nofile: int = Field(default=64, ge=16, description="open file descriptors")
    output_bytes: int = Field(default=64 * 1024, gt=0, description="stdout/stderr kept per stream")


class SandboxResult(BaseModel):
    passed: bool
    exit_code: int | None
    timed_out: bool
    stdout: str
    stderr: str
    isolation: str
    seconds: float

    def summary(self) -> str:
        if self.passed:
            return "passed"
        if self.timed_out:
            return "timed out"
        tail = self.stderr.strip().splitlines()[-1:] if self.stderr.strip() else []
        why = tail[0] if tail else "no completion marker"
        return f"exit code {self.exit_code}: {why}"[:500]


# ---- uid allocation (root mode) -----------------------------------------------------------

_slot_lock = threading.Lock()
_free_slots: list[int] = list(range(_SLOTS_PER_PROCESS))
_slot_pid = os.getpid()


class _UidSlot:
    def __enter__(self) -> int:
        global _free_slots, _slot_pid
        with _slot_lock:
            if _slot_pid != os.getpid():  # forked: the parent's bookkeeping does not apply here
                _free_slots, _slot_pid = list(range(_SLOTS_PER_PROCESS)), os.getpid()
            if not _free_slots:
                raise GradingInfrastructureError(
                    f"more than {_SLOTS_PER_PROCESS} concurrent sandboxes in one process"
                )
            self.slot = _free_slots.pop()
        return _UID_BASE + os.getpid() * _SLOTS_PER_PROCESS + self.slot

    def __exit__(self, *exc: object) -> None:
        uid = _UID_BASE + os.getpid() * _SLOTS_PER_PROCESS + self.slot
        if not _sweep_uid(uid):
            log.error("sandbox uid %s still has processes after SIGKILL; not reusing it", uid)
            return
        with _slot_lock:
            _free_slots.append(self.slot)


def _pids_of(uid: int) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    pids.append(int(entry))
    return pids


def _sweep_uid(uid: int, patience_s: float = 5.0) -> bool:
    """Kill whatever still runs as this run's uid. A run's PID namespace normally takes every child
    with it, but after a kill the namespace is torn down asynchronously, and a uid must be empty
    before the next run gets it (RLIMIT_NPROC counts per uid)."""
    give_up = time.monotonic() + patience_s
    while pids := _pids_of(uid):
        if time.monotonic() > give_up:
            return False
        for pid in pids:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.01)
    return True


# ---- mount plan (root mode) ---------------------------------------------------------------


def _interpreter_paths() -> list[str]:
    paths = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, os.path.dirname(sys.executable))}
    paths.add(os.path.dirname(os.path.realpath(sys.executable)))
    paths.update(os.path.realpath(p) for p in site.getsitepackages() if os.path.isdir(p))
    # Keep only the outermost paths.
    ordered = sorted(paths, key=len)
    return [
        p for i, p in enumerate(ordered) if not any(p.startswith(q.rstrip("/") + "/") for q in ordered[:i])
    ]


def _private_ancestor(path: str) -> str | None:
    """The outermost ancestor of path that other users cannot traverse, if any."""
    current = "/"
    for part in Path(path).parts[1:]:
        current = os.path.join(current, part)
        try:
            if not os.stat(current).st_mode & stat.S_IXOTH:
                return current
        except OSError:
            return None
    return None


def _covered_by(path: str, covers: list[str]) -> bool:
    return any(path == c or path.startswith(c.rstrip("/") + "/") for c in covers)


def jail_plan(workdir: str, uid: int) -> dict[str, object]:
    """What the runner mounts before dropping to `uid` (see sandbox_runner._enter_jail): tmpfs over
    world-writable directories and over directories the uid could not traverse (e.g. /root when
    Python lives under it), with the interpreter bound back read-only and the workdir read-write."""
    interpreter = _interpreter_paths()
    covers = sorted({a for p in interpreter if (a := _private_ancestor(p))} | set(_WORLD_WRITABLE), key=len)
    covers = [c for c in covers if os.path.isdir(c)]
    keep = [(p, True) for p in interpreter if _covered_by(p, covers)] + [(workdir, False)]
    return {
        "covers": [(c, "1777" if c in _WORLD_WRITABLE else "0755") for c in covers],
        "keep": keep,
        "workdir": workdir,
        "uid": uid,
    }


# ---- command lines per isolation mode ------------------------------------------------------


def _command(mode: str) -> list[str]:
    # -S: no site import (its .pth hooks cost tens of ms per run); the runner appends the
    # site-packages directories to sys.path itself, so installed packages still import.
    python = [sys.executable, "-I", "-S", "-c", _RUNNER_SOURCE]
    isolated = ["--net", "--pid", "--fork", "--kill-child", "--mount-proc", "--", *python]
    if mode == "namespaces":
        return ["unshare", "--mount", *isolated]
    if mode == "userns":
        return ["unshare", "--map-root-user", *isolated]
    return python


def _environment(workdir: str) -> dict[str, str]:
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": workdir,
        "TMPDIR": workdir,
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        # Keep numeric libraries from starting a thread per core (threads count against nproc).
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }


def _processes_of_this_user() -> int:
    uid, count = os.getuid(), 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                count += os.stat(f"/proc/{entry}").st_uid == uid
    return count


# ---- running -------------------------------------------------------------------------------


def _wait_process(proc: subprocess.Popen[bytes], seconds: float) -> bool:
    try:
        proc.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        return False
    return True


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        log.warning("sandbox process %s did not die after SIGKILL", proc.pid)


_JAILED_MODES = ("forkserver", "namespaces")


def _launch_exec(mode: str, payload: dict[str, Any], workdir: str, deadline: float, cap: int) -> Launch:
    """Start a fresh interpreter (under `unshare` unless plain) for one run."""
    read_end, write_end = os.pipe()
    payload["result_fd"] = write_end
    try:
        try:
            proc = subprocess.Popen(
                _command(mode),
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                cwd=workdir, env=_environment(workdir), start_new_session=True, pass_fds=(write_end,),
            )  # fmt: skip
        except OSError as exc:
            raise GradingInfrastructureError(f"could not start the sandbox ({mode}): {exc}") from exc
        finally:
            os.close(write_end)
        assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
        try:
            with contextlib.suppress(BrokenPipeError):
                proc.stdin.write(marshal.dumps(payload))
                proc.stdin.close()
            out, err, result, timed_out = read_until_exit(
                proc.stdout.fileno(),
                proc.stderr.fileno(),
                read_end,
                functools.partial(_wait_process, proc),
                deadline,
                cap,
            )
        finally:
            _kill_group(proc)
            proc.stdout.close()
            proc.stderr.close()
    finally:
        os.close(read_end)
    return Launch(out=out, err=err, result=result, timed_out=timed_out, returncode=proc.returncode)


def _run(mode: str, parts: list[tuple[str, str]], limits: SandboxLimits) -> SandboxResult:
    started = time.monotonic()
    deadline = started + limits.timeout_s
    tmp = tempfile.mkdtemp(prefix="harness-sandbox-")
    workdir = os.path.join(tmp, "work")
    os.mkdir(workdir)
    nonce = secrets.token_hex(16)
    jailed = mode in _JAILED_MODES
    try:
        with _UidSlot() if jailed else contextlib.nullcontext() as uid:
            if uid is not None:
                os.chown(workdir, uid, uid)
                os.chmod(workdir, 0o700)
            payload: dict[str, Any] = {
                "nonce": nonce,
                "parts": parts,
                "env": _environment(workdir),
                "block_sockets": mode == "plain",
                "jail": jail_plan(workdir, uid) if uid is not None else None,
                "site_packages": [p for p in site.getsitepackages() if os.path.isdir(p)],
                # RLIMIT_NPROC counts every process of the real uid; only jailed runs have a uid of their own.
                "nproc_in_use": 0 if jailed else _processes_of_this_user(),
                "limits": {
                    "cpu_s": limits.cpu_s or max(1, int(limits.timeout_s + 0.999)),
                    "memory_headroom_bytes": limits.memory_headroom_mb * 1024 * 1024,
                    "nproc": limits.nproc,
                    "fsize_bytes": limits.fsize_mb * 1024 * 1024,
                    "nofile": limits.nofile,
                },
            }
            if mode == "forkserver":
                run = launch_forkserver(
                    payload, _RUNNER_SOURCE, _environment("/nonexistent"), deadline, limits.output_bytes
                )
            else:
                run = _launch_exec(mode, payload, workdir, deadline, limits.output_bytes)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if not run.result.startswith(b"READY\n") and not run.timed_out:
        raise GradingInfrastructureError(
            f"sandbox runner did not start ({mode}, exit {run.returncode}): {run.err.decode(errors='replace')[-500:]}"
        )
    marker = run.result[len(b"READY\n") :]
    return SandboxResult(
        passed=(not run.timed_out and run.returncode == 0 and marker == nonce.encode()),
        exit_code=None if run.timed_out else run.returncode,
        timed_out=run.timed_out,
        stdout=run.out.decode(errors="replace"),
        stderr=run.err.decode(errors="replace"),
        isolation=mode,
        seconds=time.monotonic() - started,
    )


_PROBE = [("probe", "import json, math, collections\nassert math.sqrt(4) == 2\n")]


@functools.lru_cache(maxsize=1)
def isolation_mode() -> str:
    """The strongest isolation that works here, found by running a trivial program in each mode."""
    candidates = ["forkserver", "namespaces"] if os.geteuid() == 0 else []
    if shutil.which("unshare"):
        candidates.append("userns")
    for mode in [*candidates, "plain"]:
        try:
            if _run(mode, _PROBE, SandboxLimits(timeout_s=30)).passed:
                log.info("code sandbox isolation: %s", mode)
                return mode
        except GradingInfrastructureError as exc:
            log.info("sandbox isolation %s unavailable: %s", mode, exc)
    raise GradingInfrastructureError("no sandbox mode could run a trivial program")


def run_program(parts: list[tuple[str, str]], limits: SandboxLimits | None = None) -> SandboxResult:
    """Run the program parts (name, source) in order in one namespace; see the module docstring."""
    return _run(isolation_mode(), parts, limits or SandboxLimits())
