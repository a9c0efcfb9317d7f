"""MELD rows (official *_sent_emo.csv): one item per utterance, with the earlier utterances of its dialogue
(same Dialogue_ID, by Utterance_ID) as the conversation history."""

from __future__ import annotations

from typing import Any

from harness.task_data import PreprocessContext, TaskDataError
from tasks.custom.emorynlp import conversation_item


def dialogue_utterances(rows: list[dict[str, Any]], ctx: PreprocessContext) -> list[dict[str, Any]]:
    dialogues: dict[int, list[dict[str, Any]]] = {}
    for number, row in enumerate(rows):
        try:
            dialogues.setdefault(int(row["Dialogue_ID"]), []).append({**row, "_turn": int(row["Utterance_ID"])})
        except (KeyError, ValueError) as exc:
            raise TaskDataError(f"task {ctx.task}, {ctx.origin}, row {number}: bad Dialogue_ID/Utterance_ID: {exc}") from exc
    out = []
    for dialogue_id in sorted(dialogues):
        history: list[tuple[str, str]] = []
        for row in sorted(dialogues[dialogue_id], key=lambda r: r["_turn"]):
            item_id = f"dia{dialogue_id}_utt{row['_turn']}"
            out.append(conversation_item(item_id, history, row["Speaker"], row["Utterance"], row["Emotion"]))
            history.append((row["Speaker"], row["Utterance"]))
    return out
