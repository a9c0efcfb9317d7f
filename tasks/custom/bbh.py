"""BIG-Bench Hard chain-of-thought exemplars: the text of cot-prompts/<task>.txt after its canary header.

The file is read whole from the mirror (one row); through the hub's `text` builder it arrives one row per line,
so the lines are joined back first. `option_texts` gives the grader each item's option texts.
"""

from __future__ import annotations

import re
from typing import Any

from harness.task_data import PreprocessContext, TaskDataError

HEADER_END = "-----"


def cot_exemplars(rows: list[dict[str, Any]], ctx: PreprocessContext) -> list[dict[str, Any]]:
    text = "\n".join(str(row["text"]) for row in rows)
    head, separator, body = text.partition(f"\n{HEADER_END}\n")
    if not separator or "canary" not in head.lower():
        raise TaskDataError(f"task {ctx.task}, {ctx.origin}: expected a canary line and '{HEADER_END}' before the exemplars")
    return [{"id": ctx.part, "question": body.strip()}]


_OPTION_LINE = re.compile(r"^\(([A-Z])\)\s*(.*)$")


def option_texts(rows: list[dict[str, Any]], ctx: PreprocessContext) -> list[dict[str, Any]]:
    """Each row gains `option_texts`: the texts of its "Options:\\n(A) ...\\n(B) ..." block in letter order
    (None when the question lists no options), so the grader can read an answer given as an option's text."""
    out = []
    for row in rows:
        _, found, block = str(row.get("input", "")).rpartition("\nOptions:\n")
        texts = []
        for line in block.splitlines() if found else []:
            match = _OPTION_LINE.match(line.strip())
            if match is None or ord(match.group(1)) - ord("A") != len(texts):
                break
            texts.append(match.group(2).strip())
        out.append({**row, "option_texts": texts or None})
    return out
