"""Classification labels (emotions, dialogue acts) matched against a task-given label set.

The label is read like a multiple-choice answer (graders.choice): the last explicit answer statement
decides; with `letters: true` it may give the option letter ("Answer: E", "(E) sadness") or the label in
any of its surface forms (the label itself, or a synonym the task file lists). Policy for a letter whose
text names another label ("D. sadness" where D is anger): the answer contradicts itself, so it is wrong,
as a careful human grader would mark it; the extraction records both ("anger but text of sadness"). Two
labels in the final statement ("A or G", "joy or surprise") are a hedge: wrong. A response that only
restates the lettered options answers nothing.
"""

from __future__ import annotations

import re
import string

from pydantic import Field, model_validator

from graders.base import GradeRequest
from graders.choice import Forms, normalise_text, read_response
from graders.emotion_words import EMOTION_WORDS
from graders.registry import Grader, GraderConfigError, Judgement, StrictModel, register


class LabelGold(StrictModel):
    """Gold: one label from the task's label set, e.g. "joy" (matched case-insensitively)."""

    answer: str


class LabelOptions(StrictModel):
    labels: list[str] = Field(min_length=2, description="the label set, in the order shown to the model")
    families: dict[str, str] = Field(
        default_factory=dict,
        description="label -> a word family of graders.emotion_words whose words also name that label",
    )
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
        for field, keys in (("synonyms", self.synonyms), ("families", self.families)):
            unknown = [key for key in keys if _norm(key) not in known]
            if unknown:
                raise ValueError(f"{field} for labels not in the label set: {unknown}")
        missing = sorted(set(self.families.values()) - set(EMOTION_WORDS))
        if missing:
            raise ValueError(f"unknown word families {missing}; known: {sorted(EMOTION_WORDS)}")
        if len(self.labels) > 26:
            raise ValueError("at most 26 labels")
        owner: dict[str, str] = {}
        for label, forms in zip(self.labels, _forms(self), strict=True):
            for form in forms:
                if owner.setdefault(form, label) != label:
                    raise ValueError(f"surface form {form!r} names two labels: {owner[form]!r} and {label!r}")
        return self


# "The emotion is joy", "Emotion: joy", "Label: anger" state the answer like "Answer:" does.
LABEL_SUBJECTS = ("emotion", "label", "sentiment", "dialogue act")


def _norm(text: str) -> str:
    return re.sub(r"[\s_\-]+", " ", text.strip().lower())


def _forms(options: LabelOptions) -> Forms:
    """Per label (in order): its normalised surface forms, the label first."""
    synonyms = {_norm(key): values for key, values in options.synonyms.items()}
    families = {_norm(key): EMOTION_WORDS[family] for key, family in options.families.items()}
    forms: Forms = []
    for label in options.labels:
        extra = [*synonyms.get(_norm(label), []), *families.get(_norm(label), ())]
        forms.append(list(dict.fromkeys(f for f in map(normalise_text, [label, *extra]) if f)))
    return forms


def _letters(options: LabelOptions) -> str:
    return string.ascii_uppercase[: len(options.labels)]


def _as_labels(answer: str, options: LabelOptions) -> str:
    """Letters in a reading -> label names: "D" -> "anger", "A or G" -> "neutral or fear"."""
    letters = _letters(options)
    return re.sub(rf"\b[{letters}]\b", lambda m: options.labels[letters.index(m.group(0))], answer)


# "no emotion other than mild surprise" names surprise: the phrase that reads as neutral is dropped before it.
_NO_EMOTION_BUT = re.compile(
    r"\bno\s+(?:(?:particular|specific|strong|clear|real|other)\s+)?emotions?\s*,?\s*"
    r"(?:other\s+than|except(?:\s+for)?|besides|apart\s+from|beyond|save\s+for|but)\s+",
    re.IGNORECASE,
)


def extract_label(response: str, options: LabelOptions, *, final_only: bool = False) -> str | None:
    reading = read_response(
        _NO_EMOTION_BUT.sub("", response),
        _letters(options),
        _forms(options),
        final_only=final_only,
        by_letter=options.letters,
        subjects=LABEL_SUBJECTS,
    )
    return _as_labels(reading.answer, options) if reading else None


def _canonical(value: str, options: LabelOptions) -> str | None:
    said = normalise_text(value)
    for label, forms in zip(options.labels, _forms(options), strict=True):
        if said in forms:
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

    def extract_final(self, response: str, options: LabelOptions, gold: object) -> str | None:
        return extract_label(response, options, final_only=True)

    def judge(
        self, extracted: str, gold: LabelGold, options: LabelOptions, request: GradeRequest
    ) -> Judgement:
        gold_label = _canonical(gold.answer, options)
        if gold_label is None:
            raise GraderConfigError(f"gold label {gold.answer!r} is not in the label set {options.labels}")
        if extracted not in options.labels:
            return Judgement(correct=False, detail=f"not one label: {extracted}")
        return Judgement(correct=extracted == gold_label)

    def same_answer(self, a: str, b: str, options: LabelOptions) -> bool:
        ca = _canonical(a, options)
        return ca is not None and ca == _canonical(b, options)
