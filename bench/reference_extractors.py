"""Reference answer extractors that run offline: our re-statement of lm-evaluation-harness' documented rules.

These are not lm-eval's code; they restate, from its task configs, what its filters do, so that
`bench/grader_agreement.py` and `tests/graders/test_reference_extractors.py` can show on the same labelled
responses where our graders agree with the widely used reference and where they deliberately differ.

- MMLU-Pro (lm_eval/tasks/mmlu_pro, filter "custom-extract"): the *first* place where "answer is" is
  followed by an option letter A-J, optionally in parentheses; no match gives lm-eval's "[invalid]"
  (None here). The letter is then compared with the gold letter (exact match, case and punctuation
  ignored).
- BBH chain-of-thought (lm_eval/tasks/bbh/cot_fewshot, filter "get-answer"): the *first* place where
  "the answer is " (lower case, one space) occurs; the answer is the rest of that line without its last
  character (meant to drop the closing period), stripped. No match gives None. The string is then
  compared with the target by exact, case-sensitive string equality.
"""

from __future__ import annotations

import re

_MMLU_PRO = re.compile(r"answer is \(?([A-J])\)?")
_BBH = re.compile(r"the answer is ([^\n]+)")


def lm_eval_mmlu_pro(response: str) -> str | None:
    """The option letter lm-eval's MMLU-Pro filter would read from `response`, or None ("[invalid]")."""
    match = _MMLU_PRO.search(response or "")
    return match.group(1) if match else None


def lm_eval_bbh(response: str) -> str | None:
    """The answer string lm-eval's BBH chain-of-thought filter would read from `response`, or None.

    An occurrence that ends its line is passed over (lm-eval's pattern needs one more character after the
    captured text); of the first other one, the rest of the line loses its last character.
    """
    match = _BBH.search(response or "")
    return match.group(1)[:-1].strip() if match else None


def lm_eval_mmlu_pro_correct(response: str, gold_letter: str) -> bool:
    """lm-eval's MMLU-Pro verdict: the extracted letter equals the gold (case and punctuation ignored)."""
    letter = lm_eval_mmlu_pro(response)
    return letter is not None and letter.upper() == gold_letter.strip().strip("()").upper()


def lm_eval_bbh_correct(response: str, target: str) -> bool:
    """lm-eval's BBH verdict: exact, case-sensitive equality of the extracted string with the target."""
    return lm_eval_bbh(response) == target
