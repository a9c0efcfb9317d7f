"""EmoryNLP rows (official emotion-detection JSON: season -> episodes -> scenes -> utterances): one item per
utterance, with the earlier utterances of its scene as the conversation history.

Read from the mirror the file is one row (the season); through the hub's `json` builder it arrives as one row
per episode. Both are accepted.

`conversation_item` is shared by the other conversation-emotion tasks (meld, dailydialog).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from harness.task_data import PreprocessContext, TaskDataError

NO_HISTORY = "(none: this is the first utterance of the conversation)"


def speaker_line(speaker: str, text: str) -> str:
    text = " ".join(str(text).split())
    return f"{speaker}: {text}" if speaker else text


def conversation_item(
    item_id: str, history: Sequence[tuple[str, str]], speaker: str, text: str, label: str
) -> dict[str, Any]:
    """The item keys of one utterance: history (bullets), utterance, answer (the gold emotion label)."""
    bullets = "\n".join(f"- {speaker_line(s, t)}" for s, t in history)
    return {
        "id": item_id,
        "history": bullets or NO_HISTORY,
        "utterance": speaker_line(speaker, text),
        "answer": label,
        "turn": len(history) + 1,
    }


def scene_utterances(rows: list[dict[str, Any]], ctx: PreprocessContext) -> list[dict[str, Any]]:
    out = []
    for document in rows:
        if "episodes" not in document:
            raise TaskDataError(f"task {ctx.task}, {ctx.origin}: expected a season object with `episodes`")
        episodes = document["episodes"]
        # The hub's json builder may split the season into one row per episode (`episodes` is then one object).
        for episode in [episodes] if isinstance(episodes, dict) else episodes:
            for scene in episode["scenes"]:
                history: list[tuple[str, str]] = []
                for utterance in scene["utterances"]:
                    speaker = " and ".join(utterance.get("speakers") or [])
                    text = utterance["transcript"]
                    out.append(
                        conversation_item(utterance["utterance_id"], history, speaker, text, utterance["emotion"])
                    )
                    history.append((speaker, text))
    return out
