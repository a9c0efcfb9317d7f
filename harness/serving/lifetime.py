"""Child processes that do not outlive the harness.

A SIGKILLed harness cannot clean up after itself, so its helpers (model servers, grading workers)
ask the kernel to signal them when their parent dies (Linux prctl PR_SET_PDEATHSIG). Elsewhere this
is a no-op and those children are only stopped on a normal exit, Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys

PR_SET_PDEATHSIG = 1


def die_with_parent(sig: int = signal.SIGTERM) -> None:
    """Call in the child: deliver `sig` to this process when its parent exits."""
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0)
    if os.getppid() == 1:  # the parent died before prctl took effect
        os.kill(os.getpid(), sig)


def new_session_dying_with_parent() -> None:
    """preexec_fn for subprocess.Popen: own process group (so it can be signalled as a whole) + die_with_parent."""
    os.setsid()
    die_with_parent()
