"""KOR-Bench rows: the official three-shot prompt of each question.

For a question with rule r in category c, the official loader fills config/prompt/three-shot.yaml's
`<c>_prompt_format` template (positional `{}` fields) with r's rule_content, then the three exemplars of
data/<c>/three-shot.jsonl whose rule_id is r (question, answer, in file order), then the question. The rules,
exemplars and template come from the mirror when the data dir has them, else from the official GitHub files.
"""

from __future__ import annotations

from typing import Any

from harness.task_data import PreprocessContext, TaskDataError, parse_rows
from harness.task_spec import LocalPart

CATEGORIES = ("operation", "logic", "cipher", "puzzle", "counterfactual")
OFFICIAL_RAW = "https://raw.githubusercontent.com/KOR-Bench/KOR-Bench/bb8194dff8e51e2e2247cf62aa9932c3d57d53d7"
SHOTS = 3


def local_or_remote_rows(ctx: PreprocessContext, local: str, url: str, fmt: str) -> list[dict[str, Any]]:
    """Rows of a side file (rules, exemplars, lists): `local` under the data dir when it is there, else `url`.

    Shared with the other tasks whose preprocess needs an official side file (studenteval's exclude list).
    """
    if ctx.data_dir is not None and (ctx.data_dir / local).is_file():
        return ctx.read(local, fmt)
    import fsspec

    try:
        with fsspec.open(url, "rb") as handle:
            data = handle.read()
    except Exception as exc:  # fsspec/aiohttp raise many types when offline
        raise TaskDataError(f"task {ctx.task}: {local} is not under the data dir and {url} cannot be fetched: {exc}") from exc
    return parse_rows(data, LocalPart.model_validate({"files": local, "format": fmt}), url)


def _official_rows(ctx: PreprocessContext, relative: str, fmt: str) -> list[dict[str, Any]]:
    return local_or_remote_rows(ctx, f"korbench/{relative}", f"{OFFICIAL_RAW}/{relative}", fmt)


def three_shot_prompts(rows: list[dict[str, Any]], ctx: PreprocessContext) -> list[dict[str, Any]]:
    category = ctx.part
    if category not in CATEGORIES:
        raise TaskDataError(f"task {ctx.task}: part {category!r} is not a KOR-Bench category {CATEGORIES}")
    rules = {str(r["idx"]): r for r in _official_rows(ctx, f"data/{category}/rule.jsonl", "jsonl")}
    shots: dict[str, list[dict[str, Any]]] = {}
    for shot in _official_rows(ctx, f"data/{category}/three-shot.jsonl", "jsonl"):
        shots.setdefault(str(shot["rule_id"]), []).append(shot)
    templates = _official_rows(ctx, "config/prompt/three-shot.yaml", "yaml")[0]
    template = templates[f"{category}_prompt_format"][0]
    out = []
    for row in rows:
        rule_id = str(row["rule_id"])
        where = f"task {ctx.task}, {ctx.origin}, {category} idx {row.get('idx')}"
        if rule_id not in rules:
            raise TaskDataError(f"{where}: rule {rule_id} is not in rule.jsonl")
        examples = shots.get(rule_id, [])
        if len(examples) != SHOTS:
            raise TaskDataError(f"{where}: rule {rule_id} has {len(examples)} three-shot exemplars, expected {SHOTS}")
        filled = [rules[rule_id]["rule_content"]]
        for example in examples:
            filled += [example["question"], example["answer"]]
        out.append(
            {
                "id": f"{category}-{row['idx']}",
                "question": row["question"],
                "answer": row["answer"],
                "category": category,
                "rule_id": rule_id,
                "idx": str(row["idx"]),
                "prompt": template.format(*filled, row["question"]),
            }
        )
    return out
