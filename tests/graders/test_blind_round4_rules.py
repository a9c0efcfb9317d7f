"""Fourth probe round (math and code): reply styles the graders misread before (each row failed before its
fix), with the guard rows that keep each new rule narrow."""

from __future__ import annotations

import pytest

from tests.graders.helpers import run

COLUMN = "\\begin{pmatrix} -1/3 \\\\ 2/3 \\\\ 5/3 \\end{pmatrix}"


@pytest.mark.parametrize(
    ("response", "gold", "reason"),
    [
        # a number with its unit inside one text box
        ("So the answer is $\\boxed{\\text{5 inches}}$.", "5", "right"),
        ("\\boxed{\\text{20 square feet}}", "20", "right"),
        ("\\boxed{\\text{1,000 dollars}}", "1000", "right"),
        ("\\boxed{\\text{5 apples}}", "6", "wrong"),
        # digits grouped by thin spaces
        ("\\boxed{1\\,000}", "1000", "right"),
        ("\\boxed{1\\,000\\,000}", "1000000", "right"),
        ("\\boxed{12\\,345.5}", "12345.5", "right"),
        ("\\boxed{1\\,001}", "1000", "wrong"),
        # a percent gold: the number of percent answers it, the fraction of one does not
        ("So the answer is $\\boxed{0.25}$.", "25\\%", "wrong"),
        ("\\boxed{\\frac14}", "25\\%", "wrong"),
        ("\\boxed{25}", "25\\%", "right"),
        ("\\boxed{25 \\text{ percent}}", "25\\%", "right"),
        ("\\boxed{26}", "25\\%", "wrong"),
        ("\\boxed{25\\%}", "25", "right"),
        # a vector as a tuple or in angle brackets against a column matrix, and the other way round
        ("\\boxed{(-\\frac13, \\frac23, \\frac53)}", COLUMN, "right"),
        ("\\boxed{\\langle -1/3, 2/3, 5/3 \\rangle}", COLUMN, "right"),
        ("\\boxed{\\langle 1, 2, 3 \\rangle}", "\\begin{pmatrix}1\\\\2\\\\3\\end{pmatrix}", "right"),
        ("\\boxed{(1, 2)}", "\\begin{pmatrix}1\\\\2\\end{pmatrix}", "right"),
        ("\\boxed{\\begin{pmatrix}-1/3\\\\2/3\\\\5/3\\end{pmatrix}}", "\\left(-\\frac13, \\frac23, \\frac53\\right)", "right"),
        ("\\boxed{(2, 1)}", "\\begin{pmatrix}1\\\\2\\end{pmatrix}", "wrong"),
        ("\\boxed{(1, 2, 3)}", "\\begin{pmatrix}1\\\\2\\end{pmatrix}", "wrong"),
        ("\\boxed{(1, 2, 3, 4)}", "\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}", "wrong"),
        # a closing line that names the solutions it gives in math spans, with no box
        ("So the solution is $x \\le 2$ or $x > 3$.", "(-\\infty,2]\\cup(3,\\infty)", "right"),
        ("So the solution is $x \\le 2$ or $x \\ge 3$.", "(-\\infty,2]\\cup(3,\\infty)", "wrong"),
        ("Therefore, the solutions are $x = 2$ and $x = 3$.", "2, 3", "right"),
        ("Therefore, the solutions are $x = 2$ and $x = 4$.", "2, 3", "wrong"),
        ("The possible values of $k$ are $2$ and $3$.", "2, 3", "right"),
        ("The roots are $\\pm 2$.", "2,-2", "right"),
        ("The solution is found by factoring.", "2", "no_answer"),
        ("The solution set is $(2, \\infty)$.\n\nI hope this helps.", "(2,\\infty)", "no_answer"),
        # set-builder notation: the set of x with a condition is the condition
        ("\\boxed{\\{x \\mid x < -1 \\text{ or } x > 6\\}}", "$(-\\infty,-1)\\cup(6,+\\infty)$", "right"),
        ("\\boxed{\\{x : x > 6\\}}", "(6,\\infty)", "right"),
        ("\\boxed{\\{x \\in \\mathbb{R} \\mid x > 6\\}}", "(6,\\infty)", "right"),
        ("\\boxed{\\{x \\mid x > 6\\}}", "$(-\\infty,-1)\\cup(6,+\\infty)$", "wrong"),
        ("\\boxed{\\{x \\in \\mathbb{R} \\mid x \\ge 6\\}}", "(6,\\infty)", "wrong"),
        ("\\boxed{\\{2, 3\\}}", "2, 3", "right"),
        # the combination count C_n^k where the gold is a binomial coefficient
        ("\\boxed{C_{m+n-2}^{m-1}}", "$\\binom{m+n-2}{m-1}$", "right"),
        ("\\boxed{C_{10}^3}", "\\binom{10}{3}", "right"),
        ("\\boxed{C_{m+n-2}^{m-2}}", "$\\binom{m+n-2}{m-1}$", "wrong"),
        ("\\boxed{C_{10}^3}", "120", "wrong"),  # no binomial in the gold: C is a constant
        # a union written as its parts ("... and ...", a list); overlapping parts are points, not a union
        ("\\boxed{(-\\infty,-1) \\text{ and } (6, \\infty)}", "(-\\infty,-1)\\cup(6,\\infty)", "right"),
        ("\\boxed{(-\\infty,-1)\\cup(6,\\infty)}", "(-\\infty,-1), (6,\\infty)", "right"),
        ("\\boxed{(-\\infty,-1), (5,\\infty)}", "(-\\infty,-1)\\cup(6,\\infty)", "wrong"),
        ("\\boxed{(-\\infty,-1]\\text{ and }[6, \\infty)}", "(-\\infty,-1)\\cup(6,\\infty)", "wrong"),
        ("\\boxed{(1,4)}", "(1,3),(2,4)", "wrong"),
        # a base subscript on a parenthesised numeral
        ("\\boxed{(1011)_2}", "1011_2", "right"),
        ("\\boxed{(1010)_2}", "1011_2", "wrong"),
        # a closing line without a box: a math span after a verb of result, an equation, a display block
        ("The probability is $\\frac{3}{8}$.", "\\frac38", "right"),
        ("The probability is $\\frac{3}{7}$.", "\\frac38", "wrong"),
        ("After simplification, we get $\\frac{1}{2}$.", "\\frac12", "right"),
        ("So, $x = \\frac{1}{2}$.", "\\frac12", "right"),
        ("So, $x = \\frac{1}{3}$.", "\\frac12", "wrong"),
        ("Therefore the area is\n\\[\n12\\sqrt{3}\n\\]", "12\\sqrt3", "right"),
        ("Therefore the area is\n$$\n12\\sqrt{3}\n$$", "12\\sqrt3", "right"),
        ("Therefore the area is\n\\[\n12\\sqrt{2}\n\\]", "12\\sqrt3", "wrong"),
        ("We expand:\n\\[\n(x+1)^2 = x^2 + 2x + 1\n\\]\nand simplify", "12", "no_answer"),
        ("We substitute $x$ into $f$.", "\\frac12", "no_answer"),
        ("So $x = 3$ is one root; the other is found below.", "3", "no_answer"),
        # several values of one unknown at the end of the closing line are all of the answer
        ("We get $x = 3$ or $x = -2$.", "3,-2", "right"),
        ("We get $x = 3$ or $x = -1$.", "3,-2", "wrong"),
        ("So $a = 2$ and $b = 5$.", "5", "right"),
        ("Since $y = 4$, we get $x = 3$.", "3", "right"),
        # an answer phrase with a plain value, then a reason or a remark
        ("The answer is 12 because 3 times 4 is 12.", "12", "right"),
        ("The answer is 13 because 3 times 4 is 12.", "12", "wrong"),
        ("The answer is 12 (since 3*4).", "12", "right"),
        ("The answer is 12, not 13.", "12", "right"),
        ("The answer is 13, not 12.", "12", "wrong"),
        ("The answer is 12 or 13.", "12", "wrong"),
        ("The answer is 3, and 4.", "3, 4", "right"),
        ("The answer is Monday because it follows Sunday.", "\\text{Monday}", "right"),
        ("The answer is Tuesday because it follows Monday.", "\\text{Monday}", "wrong"),
        # a closing value with its unit words; a word that goes on with the sentence is no unit
        ("So the area is 12 square units.", "12", "right"),
        ("So the area is 13 square units.", "12", "wrong"),
        ("Let me think about $x = 3$ more", "3", "no_answer"),
    ],
)
def test_math_round4(response: str, gold: str, reason: str) -> None:
    assert run("math", response, gold).reason == reason


@pytest.mark.parametrize(
    ("response", "reason"),
    [
        # an option label before the value, with the space inside the bold text
        ("The answer is \\boxed{\\textbf{(A) }12}", "right"),
        ("The answer is \\boxed{\\textbf{(B)}\\ 12}", "right"),
        ("The answer is \\boxed{\\textbf{(A) }13}", "wrong"),
        ("The answer is \\boxed{\\textbf{(A) } 12 \\text{ or } 13}", "wrong"),
        # a remainder written with its modulus
        ("The answer is $\\boxed{12 \\pmod{1000}}$", "right"),
        ("The answer is $\\boxed{12\\text{ (mod 1000)}}$", "right"),
        ("The answer is $\\boxed{1012 \\pmod{1000}}$", "wrong"),
        ("Thus, there are 12 ways.", "right"),
        ("Thus, there are 13 ways.", "wrong"),
    ],
)
def test_integer_answer_round4(response: str, reason: str) -> None:
    assert run("math", response, "12", integer_answer=True).reason == reason


ADD_PROMPT = 'def add(xs: list, k: int) -> list:\n    """Add k to every element."""\n'
ADD_GOLD = {
    "tests": "def check(candidate):\n    assert candidate([1, 2], 1) == [2, 3]\n    assert candidate([], 5) == []\n\ncheck(add)\n",
    "entry_point": "add",
}
INC = "def inc(x, k):\n    return x + k\n"


@pytest.mark.parametrize(
    ("response", "reason"),
    [
        # a Markdown code block indented four spaces (or a tab), no fence
        ("Here is the function:\n\n    def add(xs, k):\n        return [x + k for x in xs]\n\nThis adds k.", "right"),
        (
            "Here is the function:\n\n    def add(xs, k):\n        result = []\n        for x in xs:\n"
            "            result.append(x + k)\n        return result\n",
            "right",
        ),
        ("Here is the function:\n\n\tdef add(xs, k):\n\t\treturn [x + k for x in xs]\n\nDone.", "right"),
        ("Here is the function:\n\n    def add(xs, k):\n        return [x - k for x in xs]\n\nThis adds k.", "wrong"),
        ("    return [x + k for x in xs]\n", "right"),  # a body-only completion stays one
        ("Here is the body:\n\n    return [x + k for x in xs]\n", "wrong"),  # prose in front of a bare body
        # prose between a helper and the function, no fence: the function with its helper
        (INC + "\nNow the main function uses the helper:\n\ndef add(xs, k):\n    return [inc(x, k) for x in xs]\n", "right"),
        (
            INC.replace("+", "-") + "\nNow the main function:\n\ndef add(xs, k):\n    return [inc(x, k) for x in xs]\n",
            "wrong",
        ),
        # prose inside a fence is broken code as written
        ("```python\n" + INC + "\nNow the main function:\n\ndef add(xs, k):\n    return [inc(x, k) for x in xs]\n```", "wrong"),
        # no fence, a draft then its correction: the last definition, as Python would run it
        ("def add(xs, k):\n    return xs\n\nActually that ignores k. Corrected:\n\ndef add(xs, k):\n    return [x + k for x in xs]\n", "right"),
        ("def add(xs, k):\n    return [x + k for x in xs]\n\nA variant:\n\ndef add(xs, k):\n    return xs\n", "wrong"),
        # an imports block, then the body completing the prompt's stub in a block of its own
        ("```python\nfrom typing import List\n```\nThen the body:\n```python\n    return [x + k for x in xs]\n```", "right"),
        ("```python\nfrom typing import List\n```\nThen the body:\n```python\n    return [x * k for x in xs]\n```", "wrong"),
        ("```python\n    return xs\n```\nOr in full:\n```python\ndef add(xs, k):\n    return [x + k for x in xs]\n```", "right"),
        # an interactive session in a fence: the typed source, without prompts and printed results
        ("```pycon\n>>> def add(xs, k):\n...     return [x + k for x in xs]\n```", "right"),
        ("```python\n>>> def add(xs, k):\n...     return [x + k for x in xs]\n...\n>>> add([1, 2], 1)\n[2, 3]\n```", "right"),
        ("```pycon\n>>> def add(xs, k):\n...     return [x * k for x in xs]\n>>> add([1, 2], 1)\n[2, 3]\n```", "wrong"),
    ],
)
def test_code_round4(response: str, reason: str) -> None:
    assert run("code", response, ADD_GOLD, prompt_prefix=ADD_PROMPT, sandbox={"timeout_s": 5}).reason == reason
