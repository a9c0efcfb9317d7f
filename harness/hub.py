"""Is the Hugging Face hub usable from here? Asked once, answered in seconds, remembered for the process.

The `datasets` and `huggingface_hub` libraries retry for about a minute before they give up on a
machine without network; the harness asks this first and fails at once instead.
"""

from __future__ import annotations

import os
import socket
from urllib.parse import urlsplit

_OFFLINE_VALUES = frozenset({"1", "true", "yes", "on"})
_failure: str | None = None  # why the hub could not be reached, once seen


def offline_reason() -> str | None:
    """Why the hub is not used: HF_HUB_OFFLINE / HF_DATASETS_OFFLINE set, or an earlier connection error."""
    for name in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"):
        if os.environ.get(name, "").strip().lower() in _OFFLINE_VALUES:
            return f"{name} is set"
    return _failure


def endpoint() -> tuple[str, int]:
    return host_of(os.environ.get("HF_ENDPOINT", "https://huggingface.co"))


def host_of(url: str) -> tuple[str, int]:
    parsed = urlsplit(url)
    return parsed.hostname or "", parsed.port or (80 if parsed.scheme == "http" else 443)


def unavailable_reason(host_port: tuple[str, int] | None = None, timeout_s: float = 5.0) -> str | None:
    """None when the hub's host (or `host_port`, for data files elsewhere) accepts a TCP connection;
    else why not (offline mode, refused, no DNS)."""
    global _failure
    reason = offline_reason()
    if reason is not None:
        return reason
    host, port = host_port or endpoint()
    try:
        socket.create_connection((host, port), timeout=timeout_s).close()
    except OSError as exc:
        _failure = f"cannot connect to {host}:{port} ({type(exc).__name__}: {exc})"
        return _failure
    return None


def note_failure(exc: BaseException) -> None:
    """A hub request that failed on the network marks the hub unavailable for the rest of the process."""
    global _failure
    if isinstance(exc, ConnectionError | TimeoutError | socket.gaierror) or "Connect" in type(exc).__name__:
        _failure = f"an earlier hub request failed ({type(exc).__name__}: {exc})"


def forget_failure() -> None:
    """For tests: forget an earlier connection failure."""
    global _failure
    _failure = None
