"""DailyDialog rows (declare-lab dialogue-understanding test.json): one item per dialogue, its last utterance,
with the earlier turns as history. The data has no speaker names; turns alternate between two speakers,
shown as A and B."""

from __future__ import annotations

from typing import Any

from harness.task_data import PreprocessContext, TaskDataError
from tasks.custom.emorynlp import conversation_item

SPEAKERS = ("A", "B")


def last_utterances(rows: list[dict[str, Any]], ctx: PreprocessContext) -> list[dict[str, Any]]:
    out = []
    for number, row in enumerate(rows):
        turns = row.get("dialogue")
        if not isinstance(turns, list) or not turns:
            raise TaskDataError(f"task {ctx.task}, {ctx.origin}, row {number}: expected a non-empty `dialogue` list")
        history = [(SPEAKERS[i % 2], str(turn["text"])) for i, turn in enumerate(turns[:-1])]
        last = turns[-1]
        item = conversation_item(
            f"{ctx.part}-{number}", history, SPEAKERS[(len(turns) - 1) % 2], str(last["text"]), last["emotion"]
        )
        out.append({**item, "topic": row.get("topic", "")})
    return out
