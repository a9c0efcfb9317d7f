"""BIG-Bench Hard chain-of-thought exemplars: the text of cot-prompts/<task>.txt after its canary header.

The file is read whole from the mirror (one row); through the hub's `text` builder it arrives one row per line,
so the lines are joined back first.
"""

from __future__ import annotations

from typing import Any

from harness.task_data import PreprocessContext, TaskDataError

HEADER_END = "-----"


def cot_exemplars(rows: list[dict[str, Any]], ctx: PreprocessContext) -> list[dict[str, Any]]:
    text = "\n".join(str(row["text"]) for row in rows)
    head, separator, body = text.partition(f"\n{HEADER_END}\n")
    if not separator or "canary" not in head.lower():
        raise TaskDataError(f"task {ctx.task}, {ctx.origin}: expected a canary line and '{HEADER_END}' before the exemplars")
    return [{"id": ctx.part, "question": body.strip()}]
