"""The code grader: extraction, HumanEval/MBPP-style golds, how tests see the solution. Hostile programs:
test_sandbox_attacks.py."""

from __future__ import annotations

import pytest

from graders import same_answer
from graders.code import build_program, extract_code
from tests.graders.helpers import run

PROMPT = 'from typing import List\n\n\ndef add(xs: List[int], k: int) -> List[int]:\n    """Add k to every element."""\n'
GOLD = {
    "tests": "def check(candidate):\n    assert candidate([1, 2], 1) == [2, 3]\n    assert candidate([], 5) == []\n\ncheck(add)\n",
    "entry_point": "add",
}
GOOD = "```python\ndef add(xs: List[int], k: int) -> List[int]:\n    return [x + k for x in xs]\n```"
FAST = {"timeout_s": 3}


def grade_code(response: str, *, sandbox: dict | None = None, gold: dict | None = None, **options):
    return run("code", response, gold or GOLD, prompt_prefix=PROMPT, sandbox=sandbox or FAST, **options)


def test_extracts_the_block_defining_the_entry_point() -> None:
    response = "Here:\n```python\nimport math\n```\nand\n```python\ndef add(xs, k):\n    return xs\n```\n```python\nprint(add([1], 2))\n```"
    assert extract_code(response, "add") == "def add(xs, k):\n    return xs"
    assert extract_code("```python\ndef add(xs, k):\n    return [", "add") == "def add(xs, k):\n    return ["
    assert extract_code("def add(xs, k): return xs", "add") == "def add(xs, k): return xs"


def test_body_only_completion_gets_the_prompt_prefix() -> None:
    body = "    return [x + k for x in xs]"
    assert build_program(body, "add", PROMPT).startswith(PROMPT + body)
    assert grade_code(body).reason == "right"


def test_full_function_sees_the_prompts_imports() -> None:
    result = grade_code(GOOD)
    assert (result.reason, result.score, result.detail) == ("right", 1.0, "passed")


def test_wrong_solution_and_syntax_error() -> None:
    wrong = grade_code("```python\ndef add(xs, k):\n    return xs\n```")
    assert wrong.reason == "wrong" and "AssertionError" in wrong.detail
    assert grade_code("```python\ndef add(xs, k)\n    return xs\n```").reason == "wrong"


def test_setup_runs_before_the_solution() -> None:
    gold = {"tests": "assert first_word('hi there') == 'hi'\n", "setup": "import re\n"}
    response = "```python\nsplit = re.split\n\ndef first_word(s):\n    return split(' ', s)[0]\n```"
    assert run("code", response, gold).reason == "right"


def test_per_item_prompt_prefix_in_gold() -> None:
    gold = {**GOLD, "prompt_prefix": PROMPT}
    assert run("code", "    return [x + k for x in xs]", gold).reason == "right"
    assert run("code", "    return [x + k for x in xs]", GOLD).reason == "wrong"  # no prefix: a bare body


def test_mbpp_gold_runs_setup_code_after_the_solution() -> None:
    from graders.code import mbpp_gold

    record = {"test_list": ["assert depth(root) == 2"], "test_setup_code": "root = Node(Node(None))"}
    response = (
        "```python\nclass Node:\n    def __init__(self, child):\n        self.child = child\n\n"
        "def depth(node):\n    return 0 if node is None else 1 + depth(node.child)\n```"
    )
    assert run("code", response, mbpp_gold(record).model_dump()).reason == "right"


def test_empty_and_cut_off_responses() -> None:
    assert grade_code("").reason == "no_answer"
    assert run("code", "   ", GOLD, finish_reason="length").reason == "truncated"
    cut = run("code", "```python\ndef add(xs, k):\n    return [x +", GOLD, finish_reason="length")
    assert cut.reason == "truncated" and cut.score == 0.0  # an unfinished function is no answer, not a bug


def test_cut_off_in_the_models_own_example_grades_the_finished_function() -> None:
    reply = "```python\ndef add(xs, k):\n    return [x + k for x in xs]\n\n\nprint(add([1, 2],"
    assert run("code", reply, GOLD, finish_reason="length").reason == "right"
    wrong = "```python\ndef add(xs, k):\n    return xs\n\nassert add([1], 1) == ["
    assert run("code", wrong, GOLD, finish_reason="length").reason == "wrong"


def test_cut_off_inside_a_later_definition_or_body_completion_is_truncated() -> None:
    helper_cut = "```python\ndef add(xs, k):\n    return [x + k for x in xs]\n\ndef other(y):\n    return (y +"
    assert run("code", helper_cut, GOLD, finish_reason="length").reason == "truncated"
    body_cut = "    return [x + k for x in"
    assert grade_code(body_cut, finish_reason="length").reason == "truncated"
    before_def = "```python\nimport math\nvalues = [1,"
    assert run("code", before_def, GOLD, finish_reason="length").reason == "truncated"


def test_a_finished_reply_with_broken_code_is_still_wrong() -> None:
    broken = run("code", "```python\ndef add(xs, k):\n    return [x +\n```", GOLD)
    assert broken.reason == "wrong" and "SyntaxError" in broken.detail


def test_code_is_not_votable() -> None:
    with pytest.raises(ValueError, match="not votable"):
        same_answer("code", "a", "b")


def test_bad_sandbox_option_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="timeout_s"):
        grade_code(GOOD, sandbox={"timeout_s": -1})


def test_tests_use_trusted_prompt_helpers_not_the_answers() -> None:
    """HumanEval/32-style: the tests call `poly` from the prompt; an answer redefining it cannot change the check."""
    prompt = 'def poly(x):\n    return x - 3\n\n\ndef root():\n    """A root of poly."""\n'
    gold = {"tests": "assert poly(root()) == 0\n", "entry_point": "root", "prompt_prefix": prompt}
    assert run("code", "```python\ndef root():\n    return 3\n```", gold).reason == "right"
    cheat = "```python\ndef poly(x):\n    return 0\n\ndef root():\n    return 7\n```"
    assert run("code", cheat, gold).reason == "wrong"


def test_objects_that_cannot_cross_are_used_by_reference() -> None:
    """MBPP 367/927-style: the tests build trees from the solution's class; generators are iterated."""
    gold = {
        "tests": "root = Node(1)\nroot.left = Node(2)\nassert depth(root) == 2\nassert list(evens(5)) == [0, 2, 4]\n"
    }
    response = (
        "```python\nclass Node:\n    def __init__(self, v):\n        self.v, self.left = v, None\n\n"
        "def depth(n):\n    return 0 if n is None else 1 + depth(n.left)\n\n"
        "def evens(n):\n    return (i for i in range(n) if i % 2 == 0)\n```"
    )
    assert run("code", response, gold).reason == "right"


def test_in_place_changes_to_arguments_reach_the_tests() -> None:
    gold = {"tests": "xs = [3, 1, 2]\nsort_in_place(xs)\nassert xs == [1, 2, 3]\n"}
    assert run("code", "```python\ndef sort_in_place(xs):\n    xs.sort()\n```", gold).reason == "right"
    assert (
        run("code", "```python\ndef sort_in_place(xs):\n    return sorted(xs)\n```", gold).reason == "wrong"
    )


def test_exceptions_cross_as_builtin_types() -> None:
    gold = {
        "tests": "try:\n    parse('x')\nexcept ValueError:\n    pass\nelse:\n    raise AssertionError('no error')\n"
    }
    assert run("code", "```python\ndef parse(s):\n    return int(s)\n```", gold).reason == "right"
    assert run("code", "```python\ndef parse(s):\n    return 0\n```", gold).reason == "wrong"


def test_stdlib_modules_the_tests_use_come_from_the_grader() -> None:
    """An MBPP assert may use math without importing it; it is the real math, not the answer's."""
    gold = {"tests": "assert math.isclose(area(1), 3.14159, rel_tol=1e-3)\n"}
    honest = "```python\nimport math\n\ndef area(r):\n    return math.pi * r * r\n```"
    assert run("code", honest, gold).reason == "right"
    patched = (
        "```python\nimport math\nmath.isclose = lambda *a, **k: True\n\ndef area(r):\n    return 1.0\n```"
    )
    assert run("code", patched, gold).reason == "wrong"


def test_output_is_capped() -> None:
    from graders.sandbox import SandboxLimits, judge_program

    result = judge_program("print('x' * 10_000_000)\n", "pass\n", limits=SandboxLimits(output_bytes=1000))
    assert result.passed and len(result.stdout) == 1000


def test_evalplus_style_inputs_and_expected_outputs() -> None:
    from graders.code import evalplus_gold

    gold = {"inputs": [[1.0, 2.0], [0.1, 0.2]], "expected": [3.0, 0.3], "entry_point": "plus"}
    assert (
        run("code", "```python\ndef plus(a, b):\n    return a + b\n```", gold).reason == "right"
    )  # 0.1+0.2 ~ 0.3
    wrong = run("code", "```python\ndef plus(a, b):\n    return a * b\n```", gold)
    assert wrong.reason == "wrong" and "input 0" in wrong.detail
    text = run("code", "```python\ndef plus(a, b):\n    return str(a + b)\n```", gold)
    assert text.reason == "wrong"  # evalplus' rule: a tolerance applies only to outputs of the same type
    calls = "```python\nseen = []\ndef plus(a, b):\n    seen.append(a)\n    return a + b + len(seen) - 1\n```"
    assert run("code", calls, gold).reason == "wrong"  # one sandbox run per sample: state carries over
    # Tagged JSON keeps tuples and infinities through storage (MBPP+ has both).
    record = {"task_id": "HumanEval/0", "entry_point": "pair", "base_input": [[float("inf")]], "atol": 0}
    stored = evalplus_gold(record, [(float("inf"), 1)]).model_dump(mode="json")
    pair = "```python\ndef pair(x):\n    return (x, 1)\n```"
    assert run("code", pair, stored).reason == "right"
    assert run("code", pair.replace("(x, 1)", "[x, 1]"), stored).reason == "wrong"
    with pytest.raises(ValueError, match="one expected output per input"):
        run("code", "x", {"inputs": [[1]], "expected": [], "entry_point": "f"})


HUMANEVAL_PLUS_STYLE_TEST = """
import numpy as np

def _floats(x):
    return isinstance(x, float) or (isinstance(x, (list, tuple)) and bool(x) and all(isinstance(i, float) for i in x))

def assertion(out, exp, atol):
    exact = out == exp
    if atol == 0 and _floats(exp):
        atol = 1e-6
    if not exact and atol != 0:
        assert np.allclose(out, exp, rtol=1e-07, atol=atol)
    else:
        assert exact

def check(candidate):
    inputs = [[[1.0, 2.0], 0.5], [[], 1.0]]
    results = [[1.5, 2.5], []]
    for inp, exp in zip(inputs, results):
        assertion(candidate(*inp), exp, 0)

check(shift)
"""


def test_humaneval_plus_style_check_with_numpy_runs_outside() -> None:
    """HumanEval+'s `test` field is check(candidate) code with inputs, results and a numpy assertion helper."""
    gold = {"tests": HUMANEVAL_PLUS_STYLE_TEST, "entry_point": "shift"}
    right = "```python\ndef shift(xs, d):\n    return [x + d for x in xs]\n```"
    assert run("code", right, gold).reason == "right"
    assert run("code", right.replace("x + d", "x + d + 1e-3"), gold).reason == "wrong"


def test_plain_mode_says_so_in_every_detail(monkeypatch: pytest.MonkeyPatch) -> None:
    import graders.code

    def plain(*args, **kwargs):
        from graders.sandbox import judge_program

        return judge_program(*args, **{**kwargs, "mode": "plain"})

    monkeypatch.setattr(graders.code, "judge_program", plain)  # the fallback, forced on a machine that has more
    result = grade_code(GOOD)
    assert result.reason == "right" and "plain sandbox" in result.detail
