"""The prompt a sample was generated from.

The store keeps each item's question and the hash of the rendered messages, not the messages. The
viewer shows, in order of preference: a prompt column stored by a newer store, else the messages
re-rendered from the task file and data (shown as verified when their hash equals the stored
``prompt_hash``, flagged when the task file changed since), else the question alone, saying why.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

from harness.view.db import RunDatabase
from harness.view.render import render_markdown

STORED_PROMPT_COLUMNS = ("messages", "prompt", "prompt_text")
_CACHED_TASKS = 4


class PromptRenderer:
    def __init__(self, data_dir: Path | None):
        self.data_dir = data_dir
        self._tasks: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def _task_items(self, task: str) -> dict[str, Any]:
        with self._lock:
            if task in self._tasks:
                self._tasks.move_to_end(task)
                return self._tasks[task]
        from harness.taskset import discover_tasks

        tasks = discover_tasks()
        if task not in tasks:
            raise LookupError(f"no task file for {task!r} here")
        items = {item.id: item for item in tasks[task].load_items(self.data_dir, full=True)}
        with self._lock:
            self._tasks[task] = items
            while len(self._tasks) > _CACHED_TASKS:
                self._tasks.popitem(last=False)
        return items

    def prompt(self, db: RunDatabase, task: str, item_id: str, prompt_hash: str | None) -> dict[str, Any]:
        for table, columns in (("samples", db.sample_columns), ("items", db.item_columns)):
            for column in STORED_PROMPT_COLUMNS:
                if column in columns:
                    value = db.scalar(
                        f"SELECT {column} FROM {table} WHERE task = ? AND item_id = ? AND {column} IS NOT NULL",
                        (task, item_id),
                    )
                    if value:
                        return _messages_result(_parse_messages(value), f"stored ({table}.{column})", True)
        try:
            item = self._task_items(task).get(item_id)
        except Exception as exc:  # task file or data missing/offline: say so, show the question
            return {
                "messages": None,
                "source": None,
                "verified": False,
                "note": f"prompt not stored and could not be re-rendered: {exc}",
            }
        if item is None:
            return {
                "messages": None,
                "source": None,
                "verified": False,
                "note": f"item {item_id} is not among the task file's items here",
            }
        verified = prompt_hash is not None and item.prompt_hash == prompt_hash
        messages = [m.model_dump() for m in item.messages]
        result = _messages_result(messages, "re-rendered from the task file", verified)
        if not verified:
            result["note"] = (
                "the task file or data changed since this sample: this is today's prompt, not the one sent"
            )
        return result


def _parse_messages(value: str) -> list[dict[str, str]]:
    try:
        parsed = json.loads(value)
    except ValueError:
        return [{"role": "user", "content": value}]
    if isinstance(parsed, list):
        return [{"role": str(m.get("role", "user")), "content": str(m.get("content", ""))} for m in parsed]
    return [{"role": "user", "content": str(parsed)}]


def _messages_result(messages: list[dict[str, str]], source: str, verified: bool) -> dict[str, Any]:
    return {
        "messages": [{**m, "html": render_markdown(m["content"])} for m in messages],
        "source": source,
        "verified": verified,
        "note": None,
    }
