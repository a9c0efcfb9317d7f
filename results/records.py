"""Typed records of the results store: one row per item, one row per sample."""

from __future__ import annotations

from typing import Any, NamedTuple

from pydantic import BaseModel, Field


class SamplingParams(BaseModel):
    temperature: float = 0.7
    top_p: float = 1.0
    max_tokens: int = 1024
    stop: list[str] = Field(default_factory=list)


class ItemRecord(BaseModel):
    """A benchmark item as evaluated: what the router embeds and what regrading needs."""

    task: str
    item_id: str
    category: str
    ood: bool = False
    query: str = Field(description="the question text alone (no instructions); the router embeds this")
    prompt_hash: str
    gold: Any = None


class SampleKey(BaseModel, frozen=True):
    task: str
    item_id: str
    model: str
    sample_index: int


class SampleRecord(BaseModel):
    task: str
    item_id: str
    model: str
    sample_index: int
    seed: int | None = None
    prompt_hash: str
    params: SamplingParams
    response: str | None = None
    finish_reason: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    latency_s: float | None = None
    extracted: str | None = None
    score: float | None = Field(default=None, description="graded correctness 0..1; None until graded")
    grade_reason: str | None = None
    grade_detail: str | None = None
    error: str | None = Field(default=None, description="why no response was obtained (after retries)")
    error_kind: str | None = Field(default=None, description="'client' (4xx, not retried) or 'transient'")

    @property
    def key(self) -> SampleKey:
        return SampleKey(
            task=self.task, item_id=self.item_id, model=self.model, sample_index=self.sample_index
        )


class TaskInfo(BaseModel):
    """What metrics need to know about a task beyond its stored rows; the CLI builds it from the task file."""

    category: str
    grader: str = Field(description="grader registry name, used for answer equivalence in majority voting")
    grader_options: dict[str, Any] = Field(default_factory=dict)
    is_code: bool = Field(default=False, description="report pass@k for this task")
    ood: bool = Field(default=False, description="out-of-distribution: reported apart, never in the averages")


class SampleOutcome(NamedTuple):
    """The grading-relevant columns of one sample (no response text): what metrics read.

    A NamedTuple rather than a pydantic model: metrics read millions of these straight from the
    store's typed columns, and building them must cost no more than the row itself.
    """

    task: str
    item_id: str
    model: str
    sample_index: int
    extracted: str | None = None
    score: float | None = None
    grade_reason: str | None = None
    finish_reason: str | None = None
    error: str | None = None
    error_kind: str | None = None
