"""The grader base class and the name -> grader registry.

Every grader validates its `gold` and `options` with its own pydantic models,
pulls an answer out of the response, and judges it. The shared flow (reason
codes, config errors, never raising on model output) lives here once.
"""

from __future__ import annotations

import re
import traceback
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError

from graders.base import GradeRequest, GradeResult


class GraderConfigError(ValueError):
    """The task file gave a grader a gold answer or options it cannot use (a task bug, not a model error)."""


class GradingInfrastructureError(RuntimeError):
    """The grader itself could not run (e.g. the code sandbox failed to start); graded as reason="error"."""


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Judgement(BaseModel):
    correct: bool
    detail: str = ""
    score: float | None = None  # partial credit; defaults to 1.0 / 0.0 from `correct`


class Grader:
    """Subclasses set `name`, `Gold`, `Options` and implement `extract` and `judge`."""

    name: ClassVar[str]
    Gold: ClassVar[type[BaseModel]]
    Options: ClassVar[type[BaseModel]]
    # True when grading mostly waits on a child process (threads suffice, no process pool needed).
    waits_on_subprocess: ClassVar[bool] = False
    # True for graders that only run a few regular expressions: a pool hop (pickling, a pipe write,
    # a future) would cost more than the grading, so GradingPool grades them in the caller.
    runs_inline: ClassVar[bool] = False
    votable: ClassVar[bool] = True

    # ---- validation -------------------------------------------------------------------------
    def parse_options(self, raw: dict[str, Any] | None) -> Any:
        try:
            return self.Options.model_validate(raw or {})
        except ValidationError as exc:
            raise GraderConfigError(f"grader {self.name!r}: invalid options {raw!r}: {exc}") from exc

    def parse_gold(self, raw: Any) -> Any:
        """Accept the Gold model's dict form, or a bare scalar as its `answer` field."""
        try:
            if isinstance(raw, self.Gold):
                return raw
            if isinstance(raw, dict) and self._is_gold_dict(raw):
                return self.Gold.model_validate(raw)
            return self.Gold.model_validate({"answer": raw})
        except ValidationError as exc:
            raise GraderConfigError(f"grader {self.name!r}: invalid gold {raw!r}: {exc}") from exc

    def _is_gold_dict(self, raw: dict[str, Any]) -> bool:
        return bool(raw) and set(raw) <= set(self.Gold.model_fields)

    # ---- the per-grader parts ---------------------------------------------------------------
    def extract(self, response: str, options: Any, gold: Any) -> str | None:
        """The answer in the response, or None. `gold` is only for graders whose extraction needs it
        (Knights & Knaves: which names to look for; an item's option texts); it must never decide right vs
        wrong here. It is None where no gold is known (the live gateway votes on answers without one)."""
        raise NotImplementedError

    def extract_final(self, response: str, options: Any, gold: Any) -> str | None:
        """Extraction for a response cut off by the length limit: only an explicit final-answer statement
        counts (a box, an "Answer: X" line), never a loose fallback such as the last letter mentioned
        mid-reasoning. Graders with loose fallbacks override this; the default is the full extraction."""
        return self.extract(response, options, gold)

    def judge(self, extracted: str, gold: Any, options: Any, request: GradeRequest) -> Judgement:
        raise NotImplementedError

    def same_answer(self, a: str, b: str, options: Any) -> bool:
        raise NotImplementedError

    # ---- the shared flow --------------------------------------------------------------------
    def grade(self, request: GradeRequest) -> GradeResult:
        options = self.parse_options(request.options)
        gold = self.parse_gold(request.gold)
        text = answer_region(request.response or "")
        cut_off = request.finish_reason == "length"
        extract = self.extract_final if cut_off else self.extract
        try:
            extracted = extract(text, options, gold) if text and text.strip() else None
        except GraderConfigError:
            raise
        except Exception as exc:  # a bug in extraction must not kill a long run; it is recorded
            return _error_result(None, exc)
        if extracted is None:
            return GradeResult(score=0.0, extracted=None, reason=missing_answer_reason(request))
        try:
            verdict = self.judge(extracted, gold, options, request)
        except GraderConfigError:
            raise
        except GradingInfrastructureError as exc:
            return GradeResult(score=0.0, extracted=extracted, reason="error", detail=str(exc))
        except Exception as exc:
            return _error_result(extracted, exc)
        score = verdict.score if verdict.score is not None else (1.0 if verdict.correct else 0.0)
        return GradeResult(
            score=score,
            extracted=extracted,
            reason="right" if verdict.correct else "wrong",
            detail=verdict.detail,
        )


_THINK_OPEN = re.compile(r"<think(?:ing)?>", re.IGNORECASE)
_THINK_CLOSE = re.compile(r"</think(?:ing)?>", re.IGNORECASE)


def answer_region(response: str) -> str | None:
    """The part of a response that may carry its final answer.

    Reasoning models (R1 distills, QwQ, Qwen3) think inside ``<think>...</think>`` and answer after it;
    some chat templates put the opening tag in the prompt, so only ``</think>`` appears. Rule: the answer
    is read after the last closing tag when there is one; a block opened and never closed (the model
    was cut off, or never finished thinking) has no final answer: None. Text without tags is all answer.
    """
    closes = list(_THINK_CLOSE.finditer(response))
    if closes:
        return response[closes[-1].end() :]
    if _THINK_OPEN.search(response):
        return None
    return response


def missing_answer_reason(request: GradeRequest) -> str:
    """Nothing extractable: "truncated" when generation was cut off (or returned no content), else "no_answer"."""
    if request.finish_reason == "length" or request.response is None:
        return "truncated"
    return "no_answer"


def _error_result(extracted: str | None, exc: BaseException) -> GradeResult:
    summary = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    return GradeResult(
        score=0.0, extracted=extracted, reason="error", detail=f"grader failed: {summary}"[:2000]
    )


_REGISTRY: dict[str, Grader] = {}


def register(grader_cls: type[Grader]) -> type[Grader]:
    """Class decorator: add one instance of the grader to the registry under its name."""
    if grader_cls.name in _REGISTRY:
        raise ValueError(f"grader name {grader_cls.name!r} registered twice")
    _REGISTRY[grader_cls.name] = grader_cls()
    return grader_cls


def get_grader(name: str) -> Grader:
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY))
        raise ValueError(f"unknown grader {name!r}; known graders: {known}") from None


def registered_names() -> tuple[str, ...]:
    return tuple(sorted(_REGISTRY))
