"""The gateway's request log: one JSON object per request, appended to a JSONL file.

Each line carries the routed query, the cluster, the answer format, every choice's vote and the
models and tokens it cost, so the gateway's own traffic can be profiled later like an eval run.
"""

from __future__ import annotations

import datetime as _dt
import json
from pathlib import Path
from typing import Any


class RequestLog:
    def __init__(self, path: Path | None):
        self.path = path
        self._handle = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._handle = path.open(
                "a", encoding="utf-8", buffering=1
            )  # line-buffered: a crash loses no line

    def write(self, record: dict[str, Any]) -> None:
        if self._handle is None:
            return
        line = {"time": _dt.datetime.now(_dt.UTC).isoformat(timespec="milliseconds"), **record}
        self._handle.write(json.dumps(line, ensure_ascii=False, default=str) + "\n")

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


def read_log(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]
