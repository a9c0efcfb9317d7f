"""How the harness writes the files of a run directory.

Policy: every file of a run (results.sqlite, manifest.json, report.md, results.json) gets the mode a
plain `open()` would give it, 0666 minus the umask (0644 with the usual umask 022): results are meant
to be read by the people one shares a machine with; a umask of 077 keeps them private. Secrets never
reach these files (the manifest stores the name of an API key's environment variable, not the key).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def umask_mode() -> int:
    """0o666 minus the process umask (read without changing it for other threads where /proc allows)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return 0o666 & ~int(line.split()[1], 8)
    except OSError:
        pass
    current = os.umask(0o022)
    os.umask(current)
    return 0o666 & ~current


def write_text_atomic(path: Path, text: str, *, fsync: bool = False) -> Path:
    """Write through a temp file and a rename, so a crash never leaves half a file; mode per the policy.
    A failure (disk full, read-only) is a StoreError naming the file; the old file, if any, is left whole."""
    from results.store import StoreError

    path = Path(path)
    try:
        _write_atomic(path, text, fsync)
    except OSError as exc:
        raise StoreError(f"cannot write {path} ({exc.strerror or exc})") from exc
    return path


def _write_atomic(path: Path, text: str, fsync: bool) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            if fsync:
                handle.flush()
                os.fsync(handle.fileno())
        os.chmod(tmp, umask_mode())  # mkstemp makes it 0600
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
