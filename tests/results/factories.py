"""Small builders for records used by the results and metrics tests."""

from __future__ import annotations

from typing import Any

from results.records import ItemRecord, SampleRecord, SamplingParams

PARAMS = SamplingParams(temperature=0.7, top_p=0.95, max_tokens=256, stop=["</s>"])


def item(
    task: str, item_id: str, *, category: str = "math", gold: Any = "42", prompt_hash: str = "p0"
) -> ItemRecord:
    return ItemRecord(
        task=task,
        item_id=item_id,
        category=category,
        query=f"question {item_id}",
        prompt_hash=prompt_hash,
        gold=gold,
    )


def sample(task: str, item_id: str, model: str, index: int, **fields: Any) -> SampleRecord:
    values: dict[str, Any] = {"prompt_hash": "p0", "params": PARAMS, "response": f"answer {index}"}
    values.update(fields)
    return SampleRecord(task=task, item_id=item_id, model=model, sample_index=index, **values)


def graded(
    task: str,
    item_id: str,
    model: str,
    index: int,
    extracted: str | None,
    score: float,
    reason: str | None = None,
    **fields: Any,
) -> SampleRecord:
    """A sample as it looks after grading (extracted answer, score and reason filled in)."""
    if reason is None:
        reason = "right" if score >= 1.0 else ("wrong" if extracted is not None else "no_answer")
    return sample(
        task, item_id, model, index, extracted=extracted, score=score, grade_reason=reason, **fields
    )
