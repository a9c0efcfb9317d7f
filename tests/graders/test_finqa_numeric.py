"""FinQA numbers: the final quantity of the answer statement (issue 7)."""

from __future__ import annotations

import pytest

from tests.graders.helpers import run

FINQA = {"rel_tol": 0.01, "percent": "either"}


@pytest.mark.parametrize(
    ("response", "gold", "reason"),
    [
        ("The ratio is \\frac{1}{4}.\n\nAnswer: \\frac{1}{4}", 0.25, "right"),
        ("Answer: $\\frac{1}{4}$", 0.25, "right"),
        ("Answer: the change from 2019 to 2020 is 5.3%", 0.053, "right"),
        ("Answer: the change from 2019 to 2020 is 5.3%", 2019, "wrong"),
        ("Answer: 5.3 - 2.1 = 3.2", 3.2, "right"),
        ("Answer: 5.3 - 2.1 = 3.2", 5.3, "wrong"),
        ("The total grew from 120 to 150, an increase of 30.", 30, "right"),
        ("Answer: 25% (from 2018 to 2019)", 0.25, "right"),
        ("Answer: 3.2 or 3.5", 3.2, "wrong"),
        ("Answer: 5.3% (or 0.053)", 0.053, "right"),  # one value restated, not a hedge
        ("Answer: \u22123.2", -3.2, "right"),
        ("**Answer:** $1,234.5 million", 1234.5, "right"),
        ("Answer: approximately $3.2 billion", 3200, "right"),  # the table is in millions
        ("Answer: 60 / 1131 = 0.053", 0.053, "right"),
        ("Answer: In 2020, revenue was 1,191", 1191, "right"),
        ("The growth rate was 5.3%, which was higher than in 2019.", 0.053, "right"),
    ],
)
def test_final_quantity(response: str, gold, reason: str) -> None:
    assert run("numeric", response, gold, **FINQA).reason == reason


def test_cut_off_numeric_response_needs_a_final_statement() -> None:
    cut = "Revenue in 2019 was 120 and in 2020 it was 150, so the change is 150 - 120 ="
    assert run("numeric", cut, 30, finish_reason="length", **FINQA).reason == "truncated"
    assert run("numeric", "Answer: 30\n\nTo explain", 30, finish_reason="length", **FINQA).reason == "right"
