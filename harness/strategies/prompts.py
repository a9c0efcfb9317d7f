"""The prompts strategies send to their members (our wording; the papers describe the idea)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

SYNTHESISE = (
    "Several assistants have answered the request that follows; their answers are listed after it. "
    "Some answers may be wrong. Judge them critically, then give a single best answer of your own, "
    "following every instruction of the original request (including the answer format)."
)


def last_user_text(messages: Sequence[dict]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            return str(message.get("content", ""))
    return str(messages[-1].get("content", "")) if messages else ""


def with_candidates(messages: Sequence[dict], answers: Sequence[str]) -> list[dict]:
    """The original conversation, a synthesis instruction, and the candidate answers after the request."""
    listed = "\n\n".join(f"[answer {i}]\n{a.strip()}" for i, a in enumerate(answers, 1))
    head = [m for m in messages if m.get("role") == "system"]
    rest = [dict(m) for m in messages if m.get("role") != "system"]
    system = "\n\n".join([*(str(m.get("content", "")) for m in head), SYNTHESISE])
    last = rest[-1] if rest else {"role": "user", "content": ""}
    last["content"] = f"{last.get('content', '')}\n\n--- answers of other assistants ---\n\n{listed}"
    return [{"role": "system", "content": system}, *rest[:-1], last]


def skills_prompt(query: str) -> list[dict]:
    return [
        {
            "role": "user",
            "content": "Name the skills (short keywords, e.g. algebra, probability, python, biology) needed to "
            "answer the question below. Reply with a comma-separated list of at most five keywords and "
            f"nothing else.\n\nQuestion:\n{query}",
        }
    ]


def parse_skills(text: str) -> list[str]:
    words = [w.strip(" .*-\t").lower() for w in re.split(r"[,\n;]", text or "")]
    return list(dict.fromkeys(w for w in words if w))


def router_prompt(query: str, descriptions: Mapping[str, str]) -> list[dict]:
    listed = "\n".join(f"- {name}: {text}" for name, text in descriptions.items())
    return [
        {
            "role": "user",
            "content": "Choose the one model best suited to answer the question below. Models:\n"
            f"{listed}\n\nQuestion:\n{query}\n\nReply with the model's name only.",
        }
    ]


def parse_pick(text: str, candidates: Sequence[str]) -> str | None:
    """The candidate named first in ``text`` (longest name on the same position), or None."""
    lowered = (text or "").lower()
    found = [(lowered.find(c.lower()), -len(c), c) for c in candidates if c.lower() in lowered]
    return min(found)[2] if found else None
