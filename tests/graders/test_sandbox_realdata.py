"""Every canonical solution of HumanEval (164) and MBPP (974) passes with the tests outside the sandbox,
and the few items whose tests use objects that cannot cross as plain data are the ones we know of."""

from __future__ import annotations

import copy
import gzip
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from graders.code import build_program, humaneval_gold, mbpp_gold
from graders.sandbox import SandboxLimits, SandboxResult, judge_program
from graders.sandbox.remote import Remote
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
        tests = "".join(
            f"assert {name}({t['input'].strip()}) == {t['output'].strip()}\n" for t in problem["tests"]
        )
        prompt = f'{problem["signature"]}\n    """{problem["working_description"].strip()}"""\n'
        code = problem["code"]
        if name == "pattern":  # the mirror's reference for `pattern` lost its body's indentation
            head, *body = code.splitlines()
            code = "\n".join([head, *("    " + line for line in body)]) + "\n"
        jobs.append((name, code, tests, prompt, name))
        stubs.append((name, prompt + "    return None\n", tests, prompt, name))
    assert len(jobs) == 48
    assert {t: r.why for t, r in _judge_all(jobs).items() if not r.passed} == {}
    assert (
        sum(r.passed for r in _judge_all(stubs).values()) <= 2
    )  # a None-returning stub passes (almost) none


def _record_outputs(candidate, inputs, outputs) -> None:  # noqa: ANN001 - trusted test helper
    outputs.extend(candidate(*copy.deepcopy(args)) for args in inputs)  # as evalplus: solutions may mutate


@pytest.mark.slow  # about 80 s on two busy cores
def test_mbpp_plus_canonical_solutions_pass_their_evalplus_inputs(data_dir: Path) -> None:
    """MBPP+ (evalplus, 399 tasks in the mirror): expected outputs come from the canonical solution run in the
    sandbox (as evalplus computes them from it), then the canonical passes and the next task's fails."""
    from evalplus.data.mbpp import mbpp_deserialize_inputs

    from graders import GradeRequest
    from graders.code import evalplus_gold
    from graders.pool import grade_request

    path = data_dir / "mbpp" / "mbpp_plus" / "MbppPlus-evalplus_767efcc_pre-v0.1.0.jsonl"
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert len(records) == 399
    limits = SandboxLimits(timeout_s=30)

    def expected_of(rec: dict) -> tuple[list, list]:
        plus = rec["plus_input"] or []  # Mbpp/793 has {} here
        inputs = [*rec["base_input"], *plus[:10]]  # a few of the plus inputs keep this fast
        inputs = mbpp_deserialize_inputs(rec["task_id"], inputs)
        outputs: list = []
        tests = f"_record({rec['entry_point']}, _inputs, _outputs)\n"
        trusted = {"_record": _record_outputs, "_inputs": inputs, "_outputs": outputs}
        result = judge_program(rec["canonical_solution"], tests, entry_point=rec["entry_point"],
                               limits=limits, trusted=trusted)  # fmt: skip
        return inputs, outputs if result.passed else []

    with ThreadPoolExecutor(max_workers=2) as pool:
        cases = list(pool.map(expected_of, records))
    no_outputs = [rec["task_id"] for rec, (_, outputs) in zip(records, cases, strict=True) if not outputs]
    assert no_outputs == []
    # The canonical solutions of 737, 787 and 794 return re.Match objects (their asserts test truthiness):
    # such outputs cannot be stored in a gold, so those three are graded by their assertion lines instead.
    by_reference = {
        rec["task_id"] for rec, (_, outputs) in zip(records, cases, strict=True)
        if any(isinstance(o, Remote) for o in outputs)
    }  # fmt: skip
    assert by_reference == {"Mbpp/737", "Mbpp/787", "Mbpp/794"}
    for rec in records:
        if rec["task_id"] in by_reference:
            result = judge_program(
                rec["canonical_solution"], rec["assertion"], entry_point=rec["entry_point"]
            )
            assert result.passed, result.why
    keep = [i for i, rec in enumerate(records) if rec["task_id"] not in by_reference]
    records, cases = [records[i] for i in keep], [cases[i] for i in keep]

    def grade(pair: tuple[int, int]) -> bool:
        solution, task = records[pair[0]], records[pair[1]]
        gold = evalplus_gold(task, cases[pair[1]][1], cases[pair[1]][0]).model_dump(mode="json")  # as stored
        request = GradeRequest(grader="code", response=f"```python\n{solution['canonical_solution']}\n```",
                               gold=json.loads(json.dumps(gold)), options={"sandbox": {"timeout_s": 30}})  # fmt: skip
        return grade_request(request).correct

    with ThreadPoolExecutor(max_workers=2) as pool:
        own = list(pool.map(grade, [(i, i) for i in range(len(records))]))
        shifted = list(pool.map(grade, [((i + 1) % len(records), i) for i in range(len(records))]))
    assert [records[i]["task_id"] for i, ok in enumerate(own) if not ok] == []
    assert sum(shifted) == 0
