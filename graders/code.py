"""Code answers: extract the program, run it with its tests in the sandbox (graders/sandbox.py)."""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field

from graders.base import GradeRequest
from graders.code_extract import extract_program
from graders.registry import Grader, Judgement, StrictModel, register
from graders.sandbox import SandboxLimits, run_program


class CodeGold(StrictModel):
    """Gold: test code run after the solution in the same namespace, e.g. HumanEval's `test` plus
    ``check(entry_point)``, or MBPP's assert lines; optional setup code run before the solution;
    optional per-item prompt_prefix (see CodeOptions.prompt_prefix, which takes precedence)."""

    tests: str = Field(
        min_length=1, description="program text appended after the solution; must raise on failure"
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

    def judge(self, extracted: str, gold: CodeGold, options: CodeOptions, request: GradeRequest) -> Judgement:
        program = build_program(extracted, gold.entry_point, options.prompt_prefix or gold.prompt_prefix)
        parts = [("setup", gold.setup)] if gold.setup.strip() else []
        parts += [("solution", program), ("tests", gold.tests)]
        result = run_program(parts, options.sandbox)
        detail = result.summary()
        if not result.passed and request.finish_reason == "length":
            detail += " (response was cut off by the length limit)"
        return Judgement(correct=result.passed, detail=detail)

    def same_answer(self, a: str, b: str, options: CodeOptions) -> bool:
        raise ValueError("code answers are programs judged by their tests; they are not votable by equality")
