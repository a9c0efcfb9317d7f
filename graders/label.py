"""Classification labels (emotions, dialogue acts) matched against a task-given label set."""

from __future__ import annotations

import re

from pydantic import Field, model_validator

from graders.base import GradeRequest
from graders.choice import extract_choice_letter
from graders.extraction import answer_phrase, nonempty_lines, strip_wrappers
from graders.registry import Grader, GraderConfigError, Judgement, StrictModel, register


class LabelGold(StrictModel):
    """Gold: one label from the task's label set, e.g. "joy" (matched case-insensitively)."""

    answer: str


class LabelOptions(StrictModel):
    labels: list[str] = Field(min_length=2, description="the label set, in the order shown to the model")
    synonyms: dict[str, list[str]] = Field(
        default_factory=dict, description="extra surface forms per label; only when the task defines them"
    )
    letters: bool = Field(
        default=False,
        description='labels were shown as lettered options (A = labels[0]); "C" / "(C) Sad" map too',
    )

    @model_validator(mode="after")
    def _synonyms_name_labels(self) -> LabelOptions:
        known = {_norm(label) for label in self.labels}
        unknown = [key for key in self.synonyms if _norm(key) not in known]
        if unknown:
            raise ValueError(f"synonyms for labels not in the label set: {unknown}")
        if self.letters and len(self.labels) > 26:
            raise ValueError("letters: true needs at most 26 labels")
        return self


def _norm(text: str) -> str:
    return re.sub(r"[\s_\-]+", " ", text.strip().lower())


def _surface_forms(options: LabelOptions) -> list[tuple[str, str]]:
    """(normalised surface form, canonical label), longest first so "no emotion" wins over "emotion"."""
    forms: list[tuple[str, str]] = []
    for label in options.labels:
        forms.append((_norm(label), label))
        for key, values in options.synonyms.items():
            if _norm(key) == _norm(label):
                forms.extend((_norm(v), label) for v in values)
    return sorted(forms, key=lambda f: -len(f[0]))


def _mentions(text: str, forms: list[tuple[str, str]]) -> list[tuple[int, str]]:
    """(position, label) for every label mention in text, longer forms masking the shorter ones inside them."""
    haystack = _norm(text)
    taken = [False] * len(haystack)
    found: list[tuple[int, str]] = []
    for form, label in forms:
        for match in re.finditer(rf"(?<![a-z]){re.escape(form)}(?![a-z])", haystack):
            if not any(taken[match.start() : match.end()]):
                found.append((match.start(), label))
                for i in range(match.start(), match.end()):
                    taken[i] = True
    return sorted(found)


def extract_label(response: str, options: LabelOptions) -> str | None:
    forms = _surface_forms(options)
    if options.letters:
        letters = "".join(chr(ord("A") + i) for i in range(len(options.labels)))
        letter = extract_choice_letter(response, letters, options.labels)
        if letter is not None:
            return options.labels[letters.index(letter)]
    phrase = answer_phrase(response)
    if phrase:
        found = _mentions(strip_wrappers(phrase), forms)
        if found:
            return found[0][1]  # "The emotion is joy, not anger." -> the first label after the phrase
    lines = nonempty_lines(response)
    for segment in (lines[0] if lines else "", lines[-1] if lines else "", response):
        labels = {label for _, label in _mentions(segment, forms)}
        if len(labels) == 1:
            return labels.pop()
    return None


def _canonical(value: str, options: LabelOptions) -> str | None:
    for form, label in _surface_forms(options):
        if _norm(value) == form:
            return label
    return None


@register
class LabelGrader(Grader):
    name = "label"
    runs_inline = True
    Gold = LabelGold
    Options = LabelOptions

    def extract(self, response: str, options: LabelOptions, gold: object) -> str | None:
        return extract_label(response, options)

    def judge(
        self, extracted: str, gold: LabelGold, options: LabelOptions, request: GradeRequest
    ) -> Judgement:
        gold_label = _canonical(gold.answer, options)
        if gold_label is None:
            raise GraderConfigError(f"gold label {gold.answer!r} is not in the label set {options.labels}")
        return Judgement(correct=extracted == gold_label)

    def same_answer(self, a: str, b: str, options: LabelOptions) -> bool:
        ca = _canonical(a, options)
        return ca is not None and ca == _canonical(b, options)
