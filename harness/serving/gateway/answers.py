"""Answer extraction and equivalence for live voting, taken from the graders.

Extraction follows the graders' shared flow (``graders.registry.Grader.grade``): the answer is read
after the last ``</think>``, a response cut off by the length limit only counts an explicit final
answer (``extract_final``). The gateway has no gold answer, so an extractor that needs one (Knights
& Knaves' names, a code task's entry point) yields no answers, and the first sample is returned.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from graders import is_votable, same_answer
from graders.registry import answer_region, get_grader

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AnswerFormat:
    """One grader (and its options) used to extract and compare answers; ``source`` says who chose it."""

    grader: str
    options: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    source: str = "request"

    def __post_init__(self) -> None:
        impl = get_grader(self.grader)  # unknown names raise ValueError listing the known graders
        object.__setattr__(self, "_impl", impl)
        object.__setattr__(self, "_parsed", impl.parse_options(self.options))
        cached = lru_cache(maxsize=65_536)(lambda a, b: same_answer(self.grader, a, b, self.options))
        object.__setattr__(self, "_same_cached", cached)
        # Samples often repeat word for word (and some extractors run dozens of regexes): extract once.
        object.__setattr__(self, "_extract_cached", lru_cache(maxsize=8192)(self._extract))

    @property
    def votable(self) -> bool:
        return is_votable(self.grader)

    def extract(self, text: str | None, finish_reason: str | None) -> str | None:
        return self._extract_cached(text, finish_reason)  # type: ignore[attr-defined]

    def _extract(self, text: str | None, finish_reason: str | None) -> str | None:
        region = answer_region(text or "")
        if not region or not region.strip():
            return None
        impl = self._impl  # type: ignore[attr-defined]
        extract = impl.extract_final if finish_reason == "length" else impl.extract
        try:
            return extract(region, self._parsed, None)  # type: ignore[attr-defined]
        except Exception as exc:  # an extractor that needs the gold answer
            log.debug("grader %s cannot extract without a gold answer: %s", self.grader, exc)
            return None

    def same(self, a: str, b: str) -> bool:
        return self._same_cached(a, b) if a <= b else self._same_cached(b, a)  # type: ignore[attr-defined]

    def describe(self) -> dict[str, Any]:
        return {"grader": self.grader, "options": self.options, "source": self.source}
