"""Our choice/BBH graders against lm-evaluation-harness' extraction (restated in bench/reference_extractors.py)
on the same labelled corpus responses: where the reference disagrees with the careful human label, and why.

lm-eval reads only the first "answer is" (MMLU-Pro: followed by a letter; BBH: the rest of that line minus
its last character) and compares strings exactly, so every disagreement below is a response a human grades
right that the reference misses; on this corpus it grades no wrong or hedged answer right.
"""

from __future__ import annotations

import pytest

from bench.reference_extractors import (
    lm_eval_bbh,
    lm_eval_bbh_correct,
    lm_eval_mmlu_pro,
    lm_eval_mmlu_pro_correct,
)
from tests.graders.corpus import CORPUS_DIR, load_corpus_file

MMLU_PRO_DIFFERENCES = {
    "mmlupro-i-believe-it-is": "no 'answer is': the prompt's own 'Answer: X' line",
    "mmlupro-dollar-letter": "no 'answer is': 'Answer: $J$'",
    "mmlupro-option-text-money": "option text instead of the letter",
    "mmlupro-pronoun-then-letter": "no 'answer is': 'Answer: I think D'",
    "mmlupro-qwen-final-answer-box": "boxed letter only",
    "mmlupro-changes-mind-answer-is": "first 'answer is' is the abandoned E; the final statement is D",
    "mmlupro-subtraction-right": "no 'answer is': 'Answer: C'",
    "mmlupro-bold-letter-and-text": "no 'answer is': '**Answer: (D) ...**'",
    "mmlupro-truncated-after-answer-line": "no 'answer is': 'Answer: D' then cut off",
}
BBH_DIFFERENCES = {
    "bbh-date-boxed-paren": "reads '\\boxed{(B)}' literally",
    "bbh-date-lowercase": "case-sensitive: '(b)'",
    "bbh-date-option-text": "option text instead of the letter",
    "bbh-bool-boxed-true": "boxed answer, no 'the answer is'",
    "bbh-bool-changes-mind": "first 'the answer is' runs on through the correction",
    "bbh-arith-unicode-minus": "Unicode minus sign",
    "bbh-arith-final-answer-box": "'Final answer: \\boxed{63}', no 'the answer is'",
    "bbh-count-number-word": "number word 'eight'",
    "bbh-count-with-unit": "'15 fruits'",
    "bbh-sorting-commas": "'the answer is:' (colon) and commas between the words",
    "bbh-shapes-option-text": "option text instead of the letter",
    "bbh-shapes-llama-box-letter": "boxed bare letter",
    "bbh-movie-letter-and-text": "letter followed by its own option text",
    "bbh-tracking-text-last-line": "no 'the answer is'; the last line names option A's text",
    "bbh-penguins-name": "option text instead of the letter",
    "bbh-paren-no-period": "drops the last character: '(C' for '(C)' without a period",
}


def _disagreements(task: str, correct) -> dict[str, str]:
    cases = load_corpus_file(CORPUS_DIR / f"{task}.yaml")
    return {
        case.id: case.label
        for case in cases
        if correct(case.response or "", case.gold["answer"]) != case.expected_correct
    }


@pytest.mark.parametrize(
    ("task", "correct", "documented"),
    [
        ("mmlu_pro", lm_eval_mmlu_pro_correct, MMLU_PRO_DIFFERENCES),
        ("bbh", lm_eval_bbh_correct, BBH_DIFFERENCES),
    ],
)
def test_reference_disagrees_with_the_labels_only_where_documented(task, correct, documented) -> None:
    found = _disagreements(task, correct)
    assert set(found) == set(documented)
    assert set(found.values()) == {"right"}  # the reference never grades a wrong or hedged answer right here


def test_restated_rules() -> None:
    assert lm_eval_mmlu_pro("so the answer is (C). Answer: D") == "C"  # the first match
    assert lm_eval_mmlu_pro("Answer: D") is None
    assert lm_eval_bbh("So the answer is (A).") == "(A)"
    assert lm_eval_bbh("the answer is \nSo the answer is True.") == "True"  # an empty rest is passed over
    assert lm_eval_bbh("So the answer is (B)") == "(B"
    assert lm_eval_bbh("no statement") is None
