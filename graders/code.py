"""Code answers: extract the program, run it in the sandbox and its tests outside it (graders/sandbox/)."""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field, model_validator

from graders.base import GradeRequest
from graders.code_extract import complete_prefix, extract_program, parses, strip_top_level_runs
from graders.code_io import IO_TESTS, io_namespace
from graders.registry import Grader, Judgement, StrictModel, register
from graders.sandbox import SandboxLimits, judge_program
from graders.sandbox.wire import plain_from_json, plain_to_json


class CodeGold(StrictModel):
    """Gold: test code, e.g. HumanEval's `test` plus ``check(entry_point)``, or MBPP's assert lines; it runs
    outside the sandbox, and the names it takes from the solution are calls into the sandbox (see
    graders/sandbox/judge.py); optional setup code run before the solution (and before the tests);
    optional per-item prompt_prefix (see CodeOptions.prompt_prefix, which takes precedence). Instead of
    `tests`, evalplus-style golds give `inputs` and `expected` (see graders/code_io.py)."""

    tests: str = Field(
        default="", description="trusted test code run against the solution; must raise on failure"
    )
    inputs: list[list[Any]] | None = Field(
        default=None, description="argument lists for the entry point, in the same tagged JSON as `expected`"
    )
    expected: list[Any] | None = Field(
        default=None,
        description="the expected output for each argument list, in the sandbox's tagged JSON (wire.plain_to_json) "
        "so that tuples, sets and big ints survive storage",
    )
    atol: float = Field(
        default=0.0, ge=0, description="absolute tolerance for float outputs (evalplus' atol)"
    )
    setup: str = Field(
        default="",
        description="run before the solution. (MBPP's test_setup_code uses the solution's classes, so it belongs "
        "at the start of `tests` instead; see mbpp_gold.)",
    )
    entry_point: str | None = Field(default=None, description="name of the function under test")
    prompt_prefix: str | None = Field(
        default=None, description="per-item prompt code (e.g. HumanEval's prompt)"
    )

    @model_validator(mode="after")
    def _tests_or_io(self) -> CodeGold:
        if self.inputs is None and self.expected is None:
            if not self.tests.strip():
                raise ValueError("a code gold needs `tests`, or `inputs` and `expected`")
            return self
        if self.inputs is None or self.expected is None or len(self.inputs) != len(self.expected):
            raise ValueError("`inputs` and `expected` must both be given, with one expected output per input")
        if not self.entry_point:
            raise ValueError("`inputs`/`expected` need the `entry_point` they are passed to")
        return self


class CodeOptions(StrictModel):
    prompt_prefix: str | None = Field(
        default=None,
        description="the prompt's code (signature, imports, helpers); prepended to the extracted code, so a "
        "body-only completion becomes a full function and a full function still sees the prompt's imports",
    )
    sandbox: SandboxLimits = Field(default_factory=SandboxLimits)


def _defines(code: str, name: str) -> bool:
    return re.search(rf"^\s*(?:async\s+)?def\s+{re.escape(name)}\s*\(", code, re.MULTILINE) is not None


def extract_code(response: str, entry_point: str | None = None) -> str | None:
    """The program in a reply, or None when it has no code (see graders/code_extract.py): the fenced Python
    block that defines the entry point (the last one), else the first; else the code among the prose; the
    model's own tests and example calls are left out. An unclosed fence (cut-off reply) runs to the end."""
    return extract_program(response, entry_point)


def build_program(code: str, entry_point: str | None, prompt_prefix: str | None) -> str:
    if not prompt_prefix:
        return code
    if entry_point and _defines(code, entry_point):
        return prompt_prefix.rstrip() + "\n\n" + code + "\n"  # the model's def replaces the prompt's stub
    return prompt_prefix + code + "\n"  # a body-only completion continues the prompt


def mbpp_gold(record: dict[str, Any]) -> CodeGold:
    """CodeGold for an MBPP record: test_setup_code (it builds fixtures from the solution's classes, so it
    runs after the solution, as in the original MBPP evaluation) then the test_list asserts."""
    setup = (record.get("test_setup_code") or "").strip()
    asserts = "\n".join(record["test_list"])
    return CodeGold(tests=f"{setup}\n{asserts}\n" if setup else f"{asserts}\n")


def humaneval_gold(record: dict[str, Any]) -> CodeGold:
    """CodeGold for a HumanEval/HumanEval+ record (test defines check(candidate))."""
    return CodeGold(
        tests=f"{record['test']}\n\ncheck({record['entry_point']})\n", entry_point=record["entry_point"]
    )


def evalplus_gold(
    record: dict[str, Any], expected: list[Any], inputs: list[list[Any]] | None = None
) -> CodeGold:
    """CodeGold for a HumanEval+/MBPP+ record (evalplus' base_input + plus_input, atol, entry_point) and the
    expected outputs as Python values (evalplus computes them by running the canonical solution). MBPP+
    inputs get evalplus' own deserialisation first (some tuple arguments are stored as JSON lists).
    An expected output that is not plain data raises WireError: MBPP+ 737, 787 and 794 return re.Match
    objects and assert only their truthiness, so grade those three by their `assertion` lines."""
    if inputs is None:
        inputs = [*record["base_input"], *(record.get("plus_input") or [])]  # MBPP+ 793 has {} there
        if str(record["task_id"]).startswith("Mbpp/"):
            from evalplus.data.mbpp import mbpp_deserialize_inputs

            inputs = mbpp_deserialize_inputs(record["task_id"], inputs)
    return CodeGold(
        inputs=[plain_to_json(list(args)) for args in inputs],
        expected=[plain_to_json(value) for value in expected],
        atol=record.get("atol") or 0.0,
        entry_point=record["entry_point"],
    )


def humaneval_canonical_request(record: dict[str, Any]) -> GradeRequest:
    """A grading request for a HumanEval record's own canonical solution (a body, completed by its prompt)."""
    return GradeRequest(
        grader="code",
        response=record["canonical_solution"],
        gold=humaneval_gold(record).model_dump(),
        options={"prompt_prefix": record["prompt"]},
    )


@register
class CodeGrader(Grader):
    name = "code"
    Gold = CodeGold
    Options = CodeOptions
    waits_on_subprocess = True
    votable = False

    def extract(self, response: str, options: CodeOptions, gold: CodeGold) -> str | None:
        return extract_code(response, gold.entry_point)

    def extract_final(self, response: str, options: CodeOptions, gold: CodeGold) -> str | None:
        """A cut-off reply: its program if that parses; else the complete definitions before the cut when
        the cut fell in a later top-level statement; else None (graded "truncated", not a SyntaxError)."""
        code = self.extract(response, options, gold)
        if code is None:
            return None
        prompt = options.prompt_prefix or gold.prompt_prefix
        if parses(build_program(code, gold.entry_point, prompt)):
            return code
        kept = complete_prefix(code)
        if kept is None or (gold.entry_point and not _defines(kept, gold.entry_point)):
            return None
        return strip_top_level_runs(kept)

    def judge(self, extracted: str, gold: CodeGold, options: CodeOptions, request: GradeRequest) -> Judgement:
        prompt = options.prompt_prefix or gold.prompt_prefix
        program = build_program(extracted, gold.entry_point, prompt)
        tests, trusted = gold.tests, None
        if gold.inputs is not None and gold.expected is not None:
            tests = gold.tests + IO_TESTS.format(entry_point=gold.entry_point)
            inputs = [plain_from_json(args) for args in gold.inputs]
            expected = [plain_from_json(value) for value in gold.expected]
            trusted = io_namespace(inputs, expected, gold.atol)
        result = judge_program(
            program,
            tests,
            trusted=trusted,
            setup=gold.setup,
            prompt=prompt,
            entry_point=gold.entry_point,
            limits=options.sandbox,
        )
        detail = result.summary()
        if not result.passed and request.finish_reason == "length":
            detail += " (response was cut off by the length limit)"
        if result.isolation == "plain":  # every graded sample says that the host was not isolated
            detail += " [plain sandbox: host files and network not isolated]"
        return Judgement(correct=result.passed, detail=detail)

    def same_answer(self, a: str, b: str, options: CodeOptions) -> bool:
        raise ValueError("code answers are programs judged by their tests; they are not votable by equality")
