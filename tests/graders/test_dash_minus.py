"""A minus sign typed as a dash (en dash, hyphen variants) before a number, as word processors and some
models write it: read as minus for numbers and math, never as a dash's other uses (ranges, punctuation)."""

from __future__ import annotations

import pytest

from tests.graders.helpers import run


@pytest.mark.parametrize(
    ("grader", "response", "gold", "correct"),
    [
        ("numeric", "The net change is \u20131,234.5 million.\n\nAnswer: \u20131,234.5", -1234.5, True),  # before
        # before: the sign was dropped and a negative answer credited for a positive gold
        ("numeric", "The net change is \u20131,234.5 million.\n\nAnswer: \u20131,234.5", 1234.5, False),
        ("numeric", "Answer: \u201312.5%", -12.5, True),  # before
        ("numeric", "Answer: \u201312.5%", 12.5, False),  # before
        ("numeric", "Answer: \u2010 0.5", 0.5, True),  # a dash with a space after it is punctuation
        ("numeric", "Revenue grew over 2019\u20132020 by 12.5%.\n\nAnswer: 12.5%", 12.5, True),
        ("numeric", "The range is 5\u20137, so the midpoint is 6.\n\nAnswer: 6", 6, True),
        ("numeric", "The answer is \u2013 3.2", 3.2, True),
        ("numeric", "Answer: \u22123.2", -3.2, True),
        ("math", "So $x = \u20133$.\n\nThe answer is \u20133.", "-3", True),  # before
        ("math", "So x = \u20133.\n\nThe answer is \u20133.", "3", False),
        ("math", "The answer is \\boxed{\u20133}", "-3", True),  # before
        ("math", "The answer is \\boxed{\u20103}", "-3", True),  # before
        ("math", "The answer is \\boxed{(\u20132, 5)}", "(-2,5)", True),  # before
        ("math", "The answer is \\boxed{[2\u20135]}", "[2,5]", False),  # a range typed with a dash is no list
        ("math", "The answer is \\boxed{3\u20132i}", "3-2i", False),  # between two terms: not read as minus
    ],
)
def test_a_dash_before_a_number_is_its_minus_sign(grader, response, gold, correct):
    result = run(grader, response, gold)
    assert (result.score == 1.0) is correct, result
