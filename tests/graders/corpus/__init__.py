"""The realistic-response corpus: labelled model responses, one YAML file per task under this folder.

Each file is a list of cases (see :class:`CorpusCase`). The label is what the benchmark's official
evaluation, or a careful human grader following the task's instructions, would accept; it is written
before the grader is run and never changed to match the code. ``bench/grader_agreement.py`` prints the
agreement per task; ``tests/graders/test_corpus.py`` requires every case to agree.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from graders import GradeRequest, GradeResult, grade

CORPUS_DIR = Path(__file__).resolve().parent
Label = Literal["right", "wrong", "no_answer", "truncated"]


class CorpusCase(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(description="unique within its file, e.g. 'aime-r1-think-box-after-block'")
    style: str = Field(description="whose style it imitates: r1-think, qwen-final-answer, llama-final-answer, "
                       "gemma-bold, rambling, hedge, latex-letter, lower-case, option-text, truncated, empty, ...")
    grader: str
    gold: Any
    options: dict[str, Any] = Field(default_factory=dict, description="grader options as the task layer builds them")
    response: str | None
    finish_reason: str | None = "stop"
    label: Label = Field(description="the careful human's verdict; 'wrong' covers hedges and wrong answers")
    why: str = Field(default="", description="one line: why the label is what it is")
    known_disagreement: str | None = None

    @property
    def expected_correct(self) -> bool:
        return self.label == "right"

    def request(self) -> GradeRequest:
        return GradeRequest(grader=self.grader, response=self.response, finish_reason=self.finish_reason,
                            gold=self.gold, options=self.options)

    def grade(self) -> GradeResult:
        return grade(self.request())


def corpus_files(directory: Path = CORPUS_DIR) -> list[Path]:
    return sorted(directory.glob("*.yaml"))


def load_corpus_file(path: Path) -> list[CorpusCase]:
    """The cases of one file (its stem is the task name); errors name the file and the case index."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    if not isinstance(raw, list):
        raise ValueError(f"{path}: expected a list of cases")
    cases, seen = [], set()
    for index, entry in enumerate(raw):
        try:
            case = CorpusCase.model_validate(entry)
        except ValidationError as exc:
            raise ValueError(f"{path}: case {index}: {exc}") from exc
        if case.id in seen:
            raise ValueError(f"{path}: case {index}: duplicate id {case.id!r}")
        seen.add(case.id)
        cases.append(case)
    return cases


def load_corpus(directory: Path = CORPUS_DIR) -> dict[str, list[CorpusCase]]:
    """task name -> its cases, for every corpus file."""
    return {path.stem: load_corpus_file(path) for path in corpus_files(directory)}
