"""Code extraction from real replies (graders/code_extract.py): fences of every kind, unfenced code among prose,
test blocks and example calls left out, and no code at all."""

from __future__ import annotations

from graders.code import extract_code
from tests.graders.helpers import run

FN = "def add(xs, k):\n    return [x + k for x in xs]"
GOLD = {"tests": "assert add([1, 2], 1) == [2, 3]\nassert add([], 5) == []\n", "entry_point": "add"}


def test_unfenced_reply_with_prose_around_the_code() -> None:
    text = f"Sure! Here is the function you asked for:\n\n{FN}\n\nThis adds k to each element in one pass."
    assert extract_code(text, "add") == FN


def test_closing_fence_on_the_last_code_line() -> None:
    text = "```python\ndef add(xs, k):\n    return [x + k for x in xs]```\nDone."
    assert extract_code(text, "add") == FN


def test_tilde_fences_and_indented_fences() -> None:
    assert extract_code(f"~~~python\n{FN}\n~~~", "add") == FN
    indented = "1. Define it:\n   ```python\n   def add(xs, k):\n       return [x + k for x in xs]\n   ```"
    assert extract_code(indented, "add") == FN


def test_a_test_block_next_to_the_solution_is_not_the_solution() -> None:
    text = (
        f"```python\n{FN}\n```\n\nTests:\n\n```python\nassert add([1], 1) == [2]\nprint(add([1, 2], 3))\n```"
    )
    assert extract_code(text, "add") == FN
    tests_first = f"```python\nimport pytest\n\ndef test_add():\n    assert add([1], 1) == [2]\n```\n\n```python\n{FN}\n```"
    assert extract_code(tests_first, "add") == FN


def test_example_usage_inside_the_solution_block_is_dropped() -> None:
    text = f"```python\nimport math\n\n{FN}\n\n# Example usage\nprint(add([1, 2], 1))\nassert add([], 1) == []\n```"
    assert extract_code(text, "add") == f"import math\n{FN}"
    main_guard = f"```python\n{FN}\n\nif __name__ == '__main__':\n    print(add([1], 2))\n```"
    assert extract_code(main_guard, "add") == FN


def test_body_only_and_broken_code_are_kept_for_the_sandbox_to_judge() -> None:
    assert (
        extract_code("```python\n    return [x + k for x in xs]\n```", "add")
        == "    return [x + k for x in xs]"
    )
    assert (
        extract_code("```python\ndef add(xs, k):\n    return [x +", "add")
        == "def add(xs, k):\n    return [x +"
    )


def test_a_reply_without_code_is_no_answer() -> None:
    assert extract_code("I'm sorry, but I can't help with that request.", "add") is None
    assert extract_code("The function should add k to every element of the list.", "add") is None
    assert run("code", "I am not able to write this function.", GOLD).reason == "no_answer"
    assert (
        run("code", "Let me think about the edge cases first", GOLD, finish_reason="length").reason
        == "truncated"
    )


def test_unfenced_reply_runs_right() -> None:
    text = f"Here's my solution.\n\n{FN}\n\nprint(add([1, 2, 3], 1))  # [2, 3, 4]\n\nIt runs in O(n)."
    assert run("code", text, GOLD, sandbox={"timeout_s": 5}).reason == "right"


def test_a_fence_opened_at_the_end_of_a_prose_line() -> None:
    text = f"To install: ```bash\npip install numpy\n```\n```python\nimport numpy as np\n{FN}\n```"
    assert extract_code(text, "add") == f"import numpy as np\n{FN}"


def test_an_input_read_after_the_function_is_an_example() -> None:
    text = f"```python\nimport re\nPATTERN = re.compile('a')\n{FN}\n\nprint(add([1], 2))\nx = int(input())\nprint(add([x], 1))\n```"
    assert extract_code(text, "add") == f"import re\nPATTERN = re.compile('a')\n{FN}"


def test_windows_line_endings() -> None:
    assert extract_code(f"Here:\r\n```python\r\n{FN}\r\n```\r\nDone.".replace("\n    ", "\r\n    "), "add") == FN
