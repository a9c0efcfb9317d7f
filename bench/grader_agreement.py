"""Agreement of the graders with the labelled corpus (tests/graders/corpus/*.yaml), and of reference graders
that run offline on the same responses.

    PYTHONPATH=$PWD python bench/grader_agreement.py [--korbench-checkout DIR] [--differences] [--corpus DIR ...]

One table: per task, then overall, for our graders and for each reference: cases, agreement with the labels,
false positives (labelled not right, graded right) and false negatives (labelled right, graded not right).
References:
  math-verify (bare)     math tasks: math_verify.verify(parse(gold), parse(whole response)), no reasoning-block
                         rule, no integer path, no length rule
  evalplus sanitize      code tasks: evalplus.sanitize(response, entry_point), then our sandbox on that code
  lm-eval extraction     MMLU-Pro / BBH: bench/reference_extractors.py (lm-eval's documented filters), when present
  KOR-Bench official     korbench: eval/eval_utils.py:evaluate_response_vs_answer of a KOR-Bench checkout
                         (--korbench-checkout, or $KORBENCH_CHECKOUT), run on the whole response
Then, per reference, every case where it and ours disagree, with the label and the case's reason: this is
where we deliberately differ (--differences also lists the cases where ours disagrees with the label).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from graders import GradeRequest, GradeResult, grade  # noqa: E402
from tests.graders.corpus import BLIND_CORPUS_DIR, CORPUS_DIR, CorpusCase, load_corpus  # noqa: E402

Verdict = Callable[[CorpusCase], bool]  # True when the reference grades the response right


@dataclass
class Tally:
    cases: int = 0
    agree: int = 0
    false_pos: int = 0
    false_neg: int = 0
    disagreements: list[str] = field(default_factory=list)

    def add(self, case: CorpusCase, graded_right: bool) -> None:
        self.cases += 1
        if graded_right == case.expected_correct:
            self.agree += 1
        elif graded_right:
            self.false_pos += 1
        else:
            self.false_neg += 1

    def merge(self, other: Tally) -> None:
        self.cases += other.cases
        self.agree += other.agree
        self.false_pos += other.false_pos
        self.false_neg += other.false_neg

    def row(self, task: str, grader: str) -> str:
        pct = f"{100 * self.agree / self.cases:6.1f}" if self.cases else "     -"
        return f"{task:<20} {grader:<22} {self.cases:>5} {pct:>8} {self.false_pos:>5} {self.false_neg:>5}"


# ---- references ------------------------------------------------------------------------------


def math_verify_bare(case: CorpusCase) -> bool:
    from math_verify import parse, verify

    gold = case.gold["answer"] if isinstance(case.gold, dict) else str(case.gold)
    try:
        return bool(verify(parse("\\boxed{" + gold + "}"), parse(case.response or "")))
    except Exception:
        return False


def evalplus_sanitized(case: CorpusCase) -> bool:
    from evalplus.sanitize import sanitize

    code = (
        sanitize(case.response or "", case.gold.get("entry_point")) if (case.response or "").strip() else ""
    )
    fenced = f"```python\n{code}\n```" if code.strip() else ""
    request = GradeRequest(
        grader="code", response=fenced, finish_reason=case.finish_reason, gold=case.gold, options=case.options
    )
    return grade(request).correct


def lm_eval_reference(kind: str) -> Verdict | None:
    try:
        from bench import reference_extractors as ref
    except ImportError:
        return None

    def gold_of(case: CorpusCase) -> str:
        return str(case.gold["answer"] if isinstance(case.gold, dict) else case.gold)

    if kind == "mmlu_pro":

        def mmlu_pro(case: CorpusCase) -> bool:
            letter = ref.lm_eval_mmlu_pro(case.response or "")
            return letter is not None and letter.upper() == gold_of(case).strip().strip("()").upper()

        return mmlu_pro

    def bbh(case: CorpusCase) -> bool:
        return ref.lm_eval_bbh(case.response or "") == gold_of(case)

    return bbh


def korbench_official(checkout: Path | None) -> Verdict | None:
    if checkout is None or not (checkout / "eval" / "eval_utils.py").is_file():
        return None
    sys.path[:0] = [str(checkout), str(checkout / "eval")]
    spec = importlib.util.spec_from_file_location(
        "korbench_official_eval", checkout / "eval" / "eval_utils.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    def official(case: CorpusCase) -> bool:
        gold = case.gold
        try:
            return bool(
                module.evaluate_response_vs_answer(
                    case.response or "",
                    gold["answer"],
                    gold["category"],
                    gold["rule_id"],
                    gold.get("idx", ""),
                )
            )
        except Exception:  # the official code raises on some inputs; it would then count nothing as right
            return False

    return official


# Why ours differs from each reference, by design (the per-case list below shows each instance).
DELIBERATE = {
    "math-verify (bare)": "it reads the whole response (an answer inside an unfinished <think> block or a tentative "
    "box in a cut-off reply counts), and an inequality is never equal to an interval",
    "evalplus sanitize": "it keeps the longest parsable stretch of lines, which loses a fence closed on the code line "
    "and can pick a test block; it has no body-only completions (the official HumanEval program has)",
    "KOR-Bench official": "it reads the first [[...]] (our prompt asks for reasoning, then the final answer); its "
    "sympy path needs antlr4 4.11 (else string equality); logic rule 5 keeps the outer brackets on the parts",
    "lm-eval extraction": "see bench/reference_extractors.py",
}


def references(korbench_checkout: Path | None) -> dict[str, tuple[str, Verdict | None, str]]:
    """task -> (reference name, verdict or None, why unavailable)."""
    math = ("math-verify (bare)", math_verify_bare, "")
    code = ("evalplus sanitize", evalplus_sanitized, "")
    korbench = korbench_official(korbench_checkout)
    lm_missing = "bench/reference_extractors.py not importable"
    return {
        "aime": math,
        "math500": math,
        "livemathbench": math,
        "humaneval": code,
        "mbpp": code,
        "mmlu_pro": ("lm-eval extraction", lm_eval_reference("mmlu_pro"), lm_missing),
        "bbh": ("lm-eval extraction", lm_eval_reference("bbh"), lm_missing),
        "korbench": (
            "KOR-Bench official",
            korbench,
            "pass --korbench-checkout (a KOR-Bench/KOR-Bench work tree)",
        ),
    }


# ---- report ----------------------------------------------------------------------------------


def describe(case: CorpusCase, ours: bool, theirs: bool) -> str:
    verdict = {True: "right", False: "not right"}
    return f"  {case.id}: label {case.label}; ours {verdict[ours]}, reference {verdict[theirs]} -- {case.why}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--korbench-checkout", type=Path, default=os.environ.get("KORBENCH_CHECKOUT"))
    parser.add_argument(
        "--differences", action="store_true", help="also list where ours disagrees with a label"
    )
    parser.add_argument(
        "--corpus",
        type=Path,
        nargs="+",
        default=[CORPUS_DIR, BLIND_CORPUS_DIR],
        help="folders of corpus YAML files (default: the corpus and the blind corpus, pooled per task)",
    )
    args = parser.parse_args()

    corpus: dict[str, list[CorpusCase]] = {}
    for folder in args.corpus:
        for task, cases in load_corpus(folder).items():
            tag = "" if folder == args.corpus[0] else f"{folder.name}/"  # ids are unique per folder only
            corpus.setdefault(task, []).extend(c.model_copy(update={"id": tag + c.id}) for c in cases)
    corpus = dict(sorted(corpus.items()))
    refs = references(args.korbench_checkout)
    print(f"{'task':<20} {'grader':<22} {'cases':>5} {'agree%':>8} {'FP':>5} {'FN':>5}")
    overall = Tally()
    ref_overall: dict[str, Tally] = {}
    ours_verdicts: dict[tuple[str, str], bool] = {}
    ours_misses: list[str] = []
    ref_rows: list[str] = []
    ref_differences: dict[str, list[str]] = {}
    for task, cases in corpus.items():
        tally = Tally()
        for case in cases:
            try:
                result = case.grade()
            except ValueError as exc:  # a case the grader cannot read (its gold/options): listed, not hidden
                result = GradeResult(score=0.0, reason="error", detail=f"config error: {exc}"[:300])
            ours_verdicts[task, case.id] = result.correct
            tally.add(case, result.correct)
            if result.correct != case.expected_correct:
                ours_misses.append(
                    f"  {task}:{case.id}: label {case.label}, graded {result.reason}"
                    f" (extracted {result.extracted!r}; {result.detail[:200]}) -- {case.why}"
                )
        overall.merge(tally)
        print(tally.row(task, "ours"), flush=True)
        name, verdict, missing = refs.get(task, (None, None, "no offline reference"))
        if name is None:
            continue
        if verdict is None:
            ref_rows.append(f"{task:<20} {name:<22} not available: {missing}")
            continue
        ref_tally = Tally()
        for case in cases:
            theirs = verdict(case)
            ref_tally.add(case, theirs)
            if theirs != ours_verdicts[task, case.id]:
                ref_differences.setdefault(f"{task} vs {name}", []).append(
                    describe(case, ours_verdicts[task, case.id], theirs)
                )
        ref_overall.setdefault(name, Tally()).merge(ref_tally)
        ref_rows.append(ref_tally.row(task, name))
    print(overall.row("overall", "ours"))
    print()
    print("reference graders on the same responses")
    for row in ref_rows:
        print(row)
    for name, tally in ref_overall.items():
        print(tally.row("overall", name))
    print()
    print("where ours and a reference disagree (case label, both verdicts, the case's reason):")
    for title, lines in ref_differences.items():
        print(f"{title} (by design: {DELIBERATE.get(title.split(' vs ', 1)[1], '')}):")
        print("\n".join(lines))
    if args.differences or ours_misses:
        print()
        print(f"where ours disagrees with the label ({len(ours_misses)}):")
        print("\n".join(ours_misses) if ours_misses else "  none")


if __name__ == "__main__":
    main()
