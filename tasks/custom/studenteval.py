"""StudentEval rows (hub wellesley-easel/StudentEval, split test: one row per student attempt).

The benchmark is the four disjoint subsets (first/last success, first/last failure: 1027 prompts) less the
prompts the authors list in exclude.csv (74), which leaves the 953 the Avengers paper counts. The exclude list is
read from <data dir>/studenteval/exclude.csv, else from the authors' repository (pinned commit).
"""

from __future__ import annotations

from typing import Any

from harness.task_data import PreprocessContext, TaskDataError
from tasks.custom.korbench import local_or_remote_rows

SUBSETS = {
    "is_first_success": "first_success",
    "is_last_success": "last_success",
    "is_first_failure": "first_failure",
    "is_last_failure": "last_failure",
}
EXCLUDE_URL = (
    "https://raw.githubusercontent.com/Wellesley-EASEL-lab/StudentEval/"
    "2a0635ef6022d383b8cdbdd20f19521307824608/exclude.csv"
)
REQUIRED = ("problem", "entrypoint", "assertions", "prompt", "submitted_text", *SUBSETS)


def _key(problem: Any, text: Any) -> tuple[str, str]:
    return str(problem).strip(), " ".join(str(text).split())


def subset_of(row: dict[str, Any]) -> str | None:
    flagged = [name for flag, name in SUBSETS.items() if row.get(flag)]
    return flagged[0] if flagged else None


def student_prompts(rows: list[dict[str, Any]], ctx: PreprocessContext) -> list[dict[str, Any]]:
    excluded = {
        _key(r["problem"], r["text"])
        for r in local_or_remote_rows(ctx, "studenteval/exclude.csv", EXCLUDE_URL, "csv")
    }
    out = []
    for number, row in enumerate(rows):
        missing = [name for name in REQUIRED if name not in row]
        if missing:
            raise TaskDataError(f"task {ctx.task}, {ctx.origin}, row {number}: missing column(s) {missing}")
        subset = subset_of(row)
        if subset is None or _key(row["problem"], row["submitted_text"]) in excluded:
            continue
        row_id = row.get("__index_level_0__", number)
        out.append({**row, "id": f"{row['problem']}-{row_id}", "subset": subset})
    return out
