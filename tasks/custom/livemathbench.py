"""LiveMathBench rows: show the options of the items that have them; unwrap $...$ answers and drop a
sentence-final period after a non-numeric answer (two WLPMC/hard answers end in "i.")."""

from __future__ import annotations

import re
from typing import Any

from harness.task_data import LETTERS, PreprocessContext


def clean_answer(answer: str) -> str:
    answer = answer.strip()
    unwrapped = re.fullmatch(r"\$+(.*?)\$+", answer, flags=re.DOTALL)
    if unwrapped:
        answer = unwrapped.group(1).strip()
    if re.search(r"[^\d\s]\.$", answer):
        answer = answer[:-1].rstrip()
    return answer


def with_options(rows: list[dict[str, Any]], ctx: PreprocessContext) -> list[dict[str, Any]]:
    out = []
    for row in rows:
        question = str(row["question"]).strip()
        options = [str(option).strip() for option in row.get("options") or []]
        if options:
            lines = "\n".join(f"{LETTERS[i]}. {text}" for i, text in enumerate(options))
            question = f"{question}\n\n{lines}"
        out.append({**row, "question": question, "answer": clean_answer(str(row["answer"]))})
    return out
