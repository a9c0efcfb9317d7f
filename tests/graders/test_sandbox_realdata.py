"""Every canonical solution of HumanEval (164) and MBPP (974) passes with the tests outside the sandbox,
and the few items whose tests use objects that cannot cross as plain data are the ones we know of."""

from __future__ import annotations

import gzip
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from graders.code import build_program, humaneval_gold, mbpp_gold
from graders.sandbox import SandboxLimits, SandboxResult, judge_program
from tasks.custom.mbpp import entry_point

pytestmark = pytest.mark.realdata

# MBPP 367 and 927 build trees of the solution's Node class, 601 makes Pair objects: those stay in the
# sandbox and the tests use them by reference (attribute reads/writes, passing them back).
USED_BY_REFERENCE = {"MBPP/367", "MBPP/601", "MBPP/927"}


def _judge_all(jobs: list[tuple[str, str, str, str | None, str | None]]) -> dict[str, SandboxResult]:
    def one(job: tuple[str, str, str, str | None, str | None]) -> tuple[str, SandboxResult]:
        task_id, program, tests, prompt, entry = job
        limits = SandboxLimits(timeout_s=30)  # MBPP 123's reference solution alone takes ~8 s
        return task_id, judge_program(program, tests, prompt=prompt, entry_point=entry, limits=limits)

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(one, jobs))


def test_every_canonical_solution_passes(data_dir: Path) -> None:
    with gzip.open(data_dir / "humaneval" / "HumanEval.jsonl.gz", "rt") as lines:
        humaneval = [json.loads(line) for line in lines]
    with (data_dir / "mbpp" / "mbpp.jsonl").open() as lines:
        mbpp = [json.loads(line) for line in lines]
    assert (len(humaneval), len(mbpp)) == (164, 974)
    jobs = [
        (r["task_id"], build_program(r["canonical_solution"], r["entry_point"], r["prompt"]),
         humaneval_gold(r).tests, r["prompt"], r["entry_point"])
        for r in humaneval
    ] + [
        (f"MBPP/{r['task_id']}", r["code"], mbpp_gold(r).tests, None, entry_point(r["code"], r["test_list"][0]))
        for r in mbpp
    ]  # fmt: skip
    results = _judge_all(jobs)
    failed = {task: r.why for task, r in results.items() if not r.passed}
    assert failed == {}
    assert {task for task, r in results.items() if r.remote_objects} == USED_BY_REFERENCE
    # Solutions that change a list/dict argument in place (the tests' copies change the same way).
    mutating = {task for task, r in results.items() if r.mutated_arguments}
    assert {"HumanEval/70", "HumanEval/120", "HumanEval/149"} <= mutating and len(mutating) == 51
    # The same tests fail a wrong answer.
    first = humaneval[0]
    wrong = f"def {first['entry_point']}(*args):\n    return None\n"
    broken = judge_program(wrong, humaneval_gold(first).tests, entry_point=first["entry_point"])
    assert not broken.passed


def test_studenteval_reference_solutions_pass(data_dir: Path) -> None:
    """The mirror has StudentEval's 48 problems (not the student prompts): each reference solution passes its
    tests written as StudentEval's assertions, with the signature as the (trusted) prompt; a stub fails."""
    import yaml

    problems = yaml.safe_load((data_dir / "studenteval" / "problems.yaml").read_text())
    jobs, stubs = [], []
    for name, problem in problems.items():
        tests = "".join(f"assert {name}({t['input'].strip()}) == {t['output'].strip()}\n" for t in problem["tests"])
        prompt = f'{problem["signature"]}\n    """{problem["working_description"].strip()}"""\n'
        code = problem["code"]
        if name == "pattern":  # the mirror's reference for `pattern` lost its body's indentation
            head, *body = code.splitlines()
            code = "\n".join([head, *("    " + line for line in body)]) + "\n"
        jobs.append((name, code, tests, prompt, name))
        stubs.append((name, prompt + "    return None\n", tests, prompt, name))
    assert len(jobs) == 48
    assert {t: r.why for t, r in _judge_all(jobs).items() if not r.passed} == {}
    assert sum(r.passed for r in _judge_all(stubs).values()) <= 2  # a None-returning stub passes (almost) none
