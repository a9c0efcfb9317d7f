"""Grader throughput: math-verify grading and the code sandbox, each next to a peer run here.

    HARNESS_DATA_DIR=../shared/datasets python bench/grader_speed.py [--copies 10] [--workers 2] [--rounds 2]

math:  MATH500 gold answers rewritten into an equivalent but different form (an integer n as "n.0",
       \\frac as \\dfrac and back, a radical or pi expression e as "1 \\cdot (e)"; golds with no such
       form are left out and counted), in a model-style reply ("... so the answer is \\boxed{X}"), so
       every answer reaches math-verify (an answer identical to the gold never does: the grader
       matches it as a string first). Graded by graders.grade (serial, and grade_many over a process
       pool); peer = bare math_verify.verify(parse(gold), parse(reply)) on the same replies, serial.
       The quoted ratio is throughput ours/peer on these equivalent-but-different answers.
code:  HumanEval canonical solutions x copies, graded by grade_many (our sandbox in its strongest
       mode here, printed: the solution in the jail, the full HumanEval `check` tests outside it);
       peer = evalplus' untrusted_check on the same solutions with
       inputs read from the same `check` functions (the calls whose arguments are literals) and
       expected outputs from the canonical solution. Both use the same worker count and the
       same tasks (those whose check calls could be read as literal inputs).
"""

from __future__ import annotations

import argparse
import ast
import copy
import gzip
import json
import multiprocessing
import os
import re
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from graders import GradeRequest, grade, grade_many  # noqa: E402
from graders.code import humaneval_canonical_request  # noqa: E402
from graders.sandbox import isolation_mode  # noqa: E402
from harness.settings import data_dir  # noqa: E402


def rate(n: int, seconds: float) -> str:
    return f"{n / seconds:8.1f} samples/s ({n} in {seconds:.2f} s)"


def equivalent_variant(gold: str) -> str | None:
    """The gold in an equivalent but textually different form that string matching cannot equate, or None."""
    g = gold.strip()
    if re.fullmatch(r"-?\d+", g):
        return f"{g}.0"
    if "\\dfrac" in g:
        return g.replace("\\dfrac", "\\frac")
    if "\\frac" in g:
        return g.replace("\\frac", "\\dfrac")
    if ("\\sqrt" in g or "\\pi" in g) and not re.search(r"[,=<>]|\\text|\\cup|\\in|\\pm", g):
        return f"1 \\cdot ({g})"
    return None


def math_cases(answers: list[str]) -> list[tuple[str, str]]:
    """(gold, model-style reply holding an equivalent but different answer)."""
    cases = []
    for gold in answers:
        variant = equivalent_variant(gold)
        if variant is not None and re.sub(r"\s+", "", variant.lower()) != re.sub(r"\s+", "", gold.lower()):
            cases.append((gold, f"Working through it carefully, so the answer is \\boxed{{{variant}}}."))
    return cases


def _time_math(kind: str, cases: list[tuple[str, str]]) -> tuple[float, int]:
    """Run in a fresh process so neither side inherits the other's sympy/math-verify caches."""
    from math_verify import parse, verify

    verify(parse("\\boxed{\\frac{7}{9}}"), parse("\\boxed{0.7}"))  # warm up imports and grammars
    start = time.perf_counter()
    if kind == "ours":
        right = sum(grade(GradeRequest(grader="math", response=reply, gold=gold)).correct for gold, reply in cases)
    else:
        right = sum(bool(verify(parse(f"\\boxed{{{gold}}}"), parse(reply))) for gold, reply in cases)
    return time.perf_counter() - start, right


def bench_math(root: Path, workers: int) -> None:
    with (root / "math500" / "test.jsonl").open() as lines:
        answers = [json.loads(line)["answer"] for line in lines]
    cases = math_cases(answers)
    timings = {}
    for kind in ("bare math-verify", "ours"):
        with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as fresh:
            timings[kind] = fresh.submit(_time_math, kind, cases).result()
    requests = [GradeRequest(grader="math", response=reply, gold=gold) for gold, reply in cases]
    start = time.perf_counter()
    pooled = grade_many(requests, workers=workers)
    pooled_s = time.perf_counter() - start
    n = len(cases)
    print(f"math  MATH500 golds with an equivalent-but-different form: {n}/{len(answers)} (all reach math-verify)")
    for kind, label in [("ours", "ours (graders.grade)"), ("bare math-verify", "bare math-verify")]:
        seconds, right = timings[kind]
        print(f"math  {label:<28}: {rate(n, seconds)}  right {right}/{n}")
    print(f"math  ours grade_many({workers}) {'':<13}: {rate(n, pooled_s)}  right {sum(r.correct for r in pooled)}/{n}"
          "  (includes worker start-up)")  # fmt: skip
    print(f"math  throughput ratio ours/bare math-verify, equivalent-but-different answers: "
          f"{timings['bare math-verify'][0] / timings['ours'][0]:.2f}")


def literal_inputs(test_source: str) -> list[list[object]]:
    """Argument lists of `candidate(...)` calls in a HumanEval check() whose arguments are literals."""
    inputs = []
    for node in ast.walk(ast.parse(test_source)):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "candidate"
            and not node.keywords
        ):
            try:
                inputs.append([ast.literal_eval(arg) for arg in node.args])
            except (ValueError, SyntaxError, TypeError):
                continue
    return inputs


def expected_outputs(code: str, entry_point: str, inputs: list[list[object]]) -> list[object] | None:
    namespace: dict[str, object] = {}
    try:
        exec(compile(code, "<canonical>", "exec"), namespace)  # trusted: the dataset's canonical solution
        fn = namespace[entry_point]
        return [fn(*copy.deepcopy(args)) for args in inputs]
    except Exception:
        return None


def _evalplus_check(args: tuple) -> bool:
    from evalplus.eval import PASS, untrusted_check

    code, inputs, entry_point, expected = args
    status, _ = untrusted_check("humaneval", code, inputs, entry_point, expected=expected, atol=0,
                                ref_time=[0.05] * len(inputs), fast_check=True)  # fmt: skip
    return status == PASS


def bench_code(root: Path, copies: int, workers: int, rounds: int) -> None:
    path = root / "humaneval" / "HumanEval.jsonl.gz"
    os.environ.setdefault("HUMANEVAL_OVERRIDE_PATH", str(path))  # evalplus cannot download here
    with gzip.open(path, "rt") as lines:
        records = [json.loads(line) for line in lines]
    cases = []
    for rec in records:
        code = rec["prompt"] + rec["canonical_solution"]
        inputs = literal_inputs(rec["test"])
        expected = expected_outputs(code, rec["entry_point"], inputs) if inputs else None
        if expected is not None:
            cases.append((rec, code, inputs, expected))
    print(
        f"code  tasks with literal check inputs: {len(cases)}/{len(records)}; copies {copies}; isolation {isolation_mode()}"
    )

    requests = [humaneval_canonical_request(rec) for rec, *_ in cases for _ in range(copies)]
    jobs = [
        (code, inputs, rec["entry_point"], expected)
        for rec, code, inputs, expected in cases
        for _ in range(copies)
    ]
    # Rounds alternate ours/evalplus so that a change in machine load hits both sides alike.
    ours_total = peer_total = 0.0
    for number in range(1, rounds + 1):
        start = time.perf_counter()
        ours = grade_many(requests, workers=workers)
        ours_s = time.perf_counter() - start
        failed = [r.detail for r in ours if not r.correct]
        start = time.perf_counter()
        with ProcessPoolExecutor(max_workers=workers) as pool:
            peer = list(pool.map(_evalplus_check, jobs, chunksize=4))
        peer_s = time.perf_counter() - start
        ours_total, peer_total = ours_total + ours_s, peer_total + peer_s
        print(f"code  round {number} ours (sandbox, {workers} workers)   : {rate(len(requests), ours_s)}  "
              f"passed {len(requests) - len(failed)}/{len(requests)}")  # fmt: skip
        print(f"code  round {number} evalplus untrusted_check ({workers}): {rate(len(jobs), peer_s)}  "
              f"passed {sum(peer)}/{len(jobs)}")  # fmt: skip
        if failed:
            print("code  our failures (first 3):", failed[:3])
    print(f"code  ours        : {rate(rounds * len(requests), ours_total)}")
    print(f"code  evalplus    : {rate(rounds * len(jobs), peer_total)}")
    print(f"code  ratio ours/evalplus throughput: {peer_total / ours_total:.2f} (isolation {isolation_mode()})")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--copies", type=int, default=10, help="copies of each HumanEval canonical solution")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--only", choices=["math", "code"])
    parser.add_argument("--rounds", type=int, default=2, help="alternating ours/evalplus rounds (code)")
    args = parser.parse_args()
    root = data_dir() or Path(__file__).resolve().parents[2] / "shared" / "datasets"
    if not root.is_dir():
        sys.exit("benchmark data not found: set HARNESS_DATA_DIR")
    if args.only in (None, "math"):
        bench_math(root, args.workers)
    if args.only in (None, "code"):
        bench_code(root, args.copies, args.workers, args.rounds)


if __name__ == "__main__":
    main()
