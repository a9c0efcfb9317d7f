"""Math answers in the forms real models write them (issue 7): AIME integers with wrappers, inequalities
for interval golds, tentative boxes, hedged boxes, reasoning blocks."""

from __future__ import annotations

import pytest

from tests.graders.helpers import run


@pytest.mark.parametrize(
    "boxed",
    [
        r"x = 33",
        r"m+n=33",
        r"\$33",
        r"\textbf{33}",
        r"33\text{ ways}",
        r"\frac{66}{2}",
        r"\mathbf{33}",
        r"33 \text{ ways}",
        r"\text{33}",
        r"33.",
    ],
)
def test_aime_integer_path_reads_wrapped_integers(boxed: str) -> None:
    result = run("math", f"Adding them up, the total is \\boxed{{{boxed}}}.", "33", integer_answer=True)
    assert result.reason == "right", result


def test_aime_units_and_plain_final_answer() -> None:
    assert run("math", r"The walk takes $\boxed{204 \text{ minutes}}$.", "204", integer_answer=True).correct
    assert run("math", "The final answer is: $\\boxed{204}$", "204", integer_answer=True).correct


@pytest.mark.parametrize(
    "boxed",
    [r"33 \text{ or } 34", r"33.5", r"\frac{67}{2}", r"33\sqrt{2}", r"x = 34", r"1033"],
)
def test_aime_integer_path_still_rejects_non_answers(boxed: str) -> None:
    assert run("math", f"So \\boxed{{{boxed}}}.", "33", integer_answer=True).reason == "wrong"


@pytest.mark.parametrize(
    ("gold", "answer"),
    [
        ("(3,4]", r"3 < \lambda \le 4"),
        ("(-\\infty, -1) \\cup (6, \\infty)", r"x < -1 \text{ or } x > 6"),
        ("(5,\\infty)", "x > 5"),
        ("(-\\sqrt{3}, \\sqrt{3})", r"-\sqrt{3} < x < \sqrt{3}"),
        ("\\left(\\frac{3}{5},\\frac{8}{3}\\right]", r"\frac{3}{5} < p \le \frac{8}{3}"),
        ("(0,9) \\cup (9,36)", r"0<x<9 \text{ or } 9<x<36"),
    ],
)
def test_inequalities_equal_to_the_gold_interval_are_right(gold: str, answer: str) -> None:
    assert run("math", f"Therefore \\boxed{{{answer}}}.", gold).reason == "right"


@pytest.mark.parametrize(
    ("gold", "answer"),
    [
        ("(3,4]", r"3 \le \lambda \le 4"),
        ("(5,\\infty)", "x \\ge 5"),
        ("(-\\infty, -1) \\cup (6, \\infty)", "x > 6"),
    ],
)
def test_inequalities_for_a_different_set_are_wrong(gold: str, answer: str) -> None:
    assert run("math", f"Therefore \\boxed{{{answer}}}.", gold).reason == "wrong"


def test_unstated_plain_inequality_in_a_final_answer_line() -> None:
    assert run(
        "math",
        "So the solution set is all x with x < -1 or x > 6.\n\nFinal answer: $x < -1$ or $x > 6$",
        "(-\\infty,-1)\\cup(6,\\infty)",
    ).correct


def test_a_tentative_box_in_a_cut_off_response_is_not_an_answer() -> None:
    cut = (
        "The volume of the sphere is $\\frac{4}{3}\\pi r^3$ with $r = 6$, so $\\boxed{288\\pi}$? Wait, the radius "
        "is half the diameter, which means r = 3, so the volume"
    )
    assert run("math", cut, "288\\pi", finish_reason="length").reason == "truncated"
    # the same text inside an unclosed reasoning block
    assert run("math", "<think>\n" + cut, "288\\pi", finish_reason="length").reason == "truncated"


def test_a_tentative_box_is_superseded_by_a_later_answer_phrase() -> None:
    text = "So \\boxed{288\\pi}? Wait, no: r = 3, so the answer is $36\\pi$."
    assert run("math", text, "36\\pi").correct
    assert not run("math", text, "288\\pi").correct


def test_the_answer_after_a_closed_reasoning_block_is_read() -> None:
    text = "<think>\nMaybe \\boxed{5}? No, recount: 6.\n</think>\n\nThe count is 6, so the answer is $\\boxed{6}$."
    assert run("math", text, "6").correct
    assert (
        run("math", "<think>\nIt is \\boxed{6}.\n</think>\n\nI could not finish.", "6").reason == "no_answer"
    )


def test_hedged_boxes_are_wrong_and_listed_boxes_are_a_list() -> None:
    assert run("math", "The answer is \\boxed{3} or \\boxed{4}.", "3").reason == "wrong"
    assert run("math", "The solutions are \\boxed{3} and \\boxed{4}.", "3, 4").correct
    assert run("math", "The answer is \\boxed{3} or \\boxed{4}.", "3", integer_answer=True).reason == "wrong"


def test_a_hedged_answer_phrase_without_a_box_is_not_an_answer() -> None:
    assert (
        run(
            "math", "I am not sure; maybe the answer is 12. Let me check by", "12", finish_reason="length"
        ).reason
        == "truncated"
    )
    assert (
        run("math", "Suppose that the answer is 12. Then the sum", "12", finish_reason="length").reason
        == "truncated"
    )
    assert run("math", "If the answer is 12, the check fails.", "12").reason == "no_answer"
    assert run("math", "Checking again, the answer is 12.", "12").correct


def test_a_box_offered_as_an_alternative_is_a_hedge() -> None:
    text = "So \\boxed{371}.\n\nOr possibly \\boxed{369}, if the all-blue coloring counts."
    assert run("math", text, "369", integer_answer=True).reason == "wrong"
    assert run("math", text, "371", integer_answer=True).reason == "wrong"
    # a corrected answer on a later line is not a hedge
    assert run("math", "First guess \\boxed{371}.\n\n\\boxed{369}", "369", integer_answer=True).correct


def test_aime_chained_equation_takes_the_last_value() -> None:
    assert run("math", "\\boxed{m + n = 25 + 8 = 33}", "33", integer_answer=True).correct


def test_aime_choice_label_and_scientific_notation_in_the_box() -> None:
    assert run("math", "\\[ \\boxed{\\textbf{(B)}\\ 204} \\]", "204", integer_answer=True).correct
    assert run("math", "\\boxed{2.04 \\times 10^2}", "204", integer_answer=True).correct


def test_a_bare_final_line_or_final_equation_is_the_answer_of_a_complete_reply() -> None:
    assert run("math", "So the total time is 204 minutes.\n\n204", "204", integer_answer=True).correct
    assert run("math", "The probability is 1/115, so m + n = 116.", "116", integer_answer=True).correct
    assert run("math", "So the total is\n$$\\frac{14}{3}$$", "\\frac{14}{3}").correct
    cut = "First, 196 = 2^2 * 7^2, so the count is (2+1)(2+1) = 9"
    assert run("math", cut, "9", finish_reason="length").reason == "truncated"
    assert (
        run("math", "I computed several values but could not finish the problem.", "9").reason == "no_answer"
    )


@pytest.mark.parametrize(
    ("answer", "right"),
    [(r"\text{(C) Parabola}", True), ("(C) Parabola", True), (r"\textbf{(C)}", True), ("C", True),
     (r"\text{(D)}", False), ("(D) Circle", False), ("Parabola", False)],
)
def test_letter_golds_compare_the_option_letter(answer: str, right: bool) -> None:
    assert run("math", f"The answer is \\boxed{{{answer}}}.", "\\text{(C)}").correct is right
