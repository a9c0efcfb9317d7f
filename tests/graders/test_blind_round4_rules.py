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
    ],
)
def test_math_round4(response: str, gold: str, reason: str) -> None:
    assert run("math", response, gold).reason == reason
