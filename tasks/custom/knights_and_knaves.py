"""Knights and Knaves rows: the gold is a name -> role map built from `names` and `solution` (True = knight)."""

from __future__ import annotations

from typing import Any

from harness.task_data import PreprocessContext, TaskDataError


def role_map(rows: list[dict[str, Any]], ctx: PreprocessContext) -> list[dict[str, Any]]:
    out = []
    for number, row in enumerate(rows):
        names, solution = row.get("names"), row.get("solution")
        if not isinstance(names, list) or not isinstance(solution, list) or len(names) != len(solution):
            raise TaskDataError(
                f"task {ctx.task}, {ctx.origin}, row {number}: `names` and `solution` must be lists of equal length"
            )
        roles = {str(name): "knight" if knight else "knave" for name, knight in zip(names, solution, strict=True)}
        out.append({**row, "roles": roles, "people": len(names)})
    return out
