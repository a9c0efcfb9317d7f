"""FinQA rows (official czyssrs/FinQA JSON): the report text and table as one context, the question, exe_ans."""

from __future__ import annotations

from typing import Any

from harness.task_data import PreprocessContext, TaskDataError


def render_table(table: list[list[Any]]) -> str:
    return "\n".join(" | ".join(str(cell).strip() for cell in row) for row in table)


def report_context(rows: list[dict[str, Any]], ctx: PreprocessContext) -> list[dict[str, Any]]:
    out = []
    for number, row in enumerate(rows):
        qa = row.get("qa")
        if not isinstance(qa, dict) or "question" not in qa or "exe_ans" not in qa:
            raise TaskDataError(
                f"task {ctx.task}, {ctx.origin}, row {number}: expected a `qa` object with question and exe_ans"
            )
        sections = [
            " ".join(
                str(line).strip() for line in row.get("pre_text", []) if str(line).strip() not in ("", ".")
            ),
            render_table(row.get("table", [])),
            " ".join(
                str(line).strip() for line in row.get("post_text", []) if str(line).strip() not in ("", ".")
            ),
        ]
        out.append(
            {
                "id": row["id"],
                "question": str(qa["question"]).strip(),
                "answer": qa["exe_ans"],
                "context": "\n\n".join(section for section in sections if section),
            }
        )
    return out
