"""Rules found by rounds 2 and 3 of the blind corpus (tests/graders/corpus_blind): a K&K answer given as a JSON map,
KOR-Bench option letters in lower case, boxes listing two values of one unknown, AIME replies that box an
intermediate result and close with the asked integer, code whose helper sits in another block (round 2);
K&K roles hedged with "not certain", text answers with a leading article (round 3)."""

from __future__ import annotations

import pytest

from graders import GradeRequest, grade

F = "```"


def _grade(grader: str, gold, response: str, **options):
    return grade(GradeRequest(grader=grader, response=response, gold=gold, options=options))


@pytest.mark.parametrize(
    ("response", "reason"),
    [
        ("Final answer:\n{'Ava': 'knight', 'Liam': 'knave'}", "right"),
        ('CONCLUSION:\n{"Ava": "Knight", "Liam": "Knave"}', "right"),
        ('CONCLUSION:\n{"Ava": "knight", "Liam": "knight"}', "wrong"),
        # a quoted claim of an inhabitant is still not the model's answer
        ('Liam says "Ava is a knave".\n\nCONCLUSION:\n(1) Ava is a knight\n(2) Liam is a knave', "right"),
    ],
)
def test_knights_knaves_json_map(response, reason):
    assert _grade("knights_knaves", {"Ava": "knight", "Liam": "knave"}, response).reason == reason


@pytest.mark.parametrize(
    ("category", "response", "reason"),
    [("logic", "The answer is [[b]]", "right"), ("counterfactual", "The answer is [[d]].", "wrong"),
     ("counterfactual", "The answer is [[ b. ]]", "right")],
)
def test_korbench_option_letter_in_lower_case(category, response, reason):
    gold = {"answer": "[[B]]", "category": category, "rule_id": "3", "idx": "30"}
    assert _grade("korbench", gold, response).reason == reason


@pytest.mark.parametrize(
    ("response", "reason"),
    [
        ("So $x = \\boxed{3}$ or $x = \\boxed{-4}$.", "right"),
        ("Hence $x = \\boxed{3}$, and $y = \\boxed{-4}$.", "wrong"),  # two unknowns: the last box is y
    ],
)
def test_boxes_listing_one_unknown_are_one_answer(response, reason):
    assert _grade("math", {"answer": "3, -4"}, response).reason == reason


@pytest.mark.parametrize(
    ("response", "reason"),
    [
        ("The ratio is $\\boxed{\\frac{5}{12}}$; so $m + n = 17$.", "right"),
        ("The ratio is $\\boxed{\\frac{5}{12}}$.", "wrong"),
        ("So $m+n = \\boxed{17}$, and checking, $5 + 12 = 17$.", "right"),
        ("So $m+n = \\boxed{18}$; indeed $5 + 12 = 17$.", "wrong"),  # an integer box is the answer
    ],
)
def test_aime_integer_after_an_intermediate_box(response, reason):
    assert _grade("math", {"answer": "17"}, response, integer_answer=True).reason == reason


MBPP_GOLD = {"tests": "assert count_vowels('banana') == 3\nassert count_vowels('xyz') == 0", "entry_point": "count_vowels"}


@pytest.mark.parametrize(
    ("response", "reason"),
    [
        (f"{F}python\nimport re\n{F}\nThen:\n{F}python\ndef count_vowels(s):\n    return len(re.findall('[aeiou]', s))\n{F}",
         "right"),
        (f"{F}python\nVOWELS = set('aeiou')\n\ndef is_vowel(c):\n    return c in VOWELS\n{F}\n\n"
         f"{F}python\ndef count_vowels(s):\n    return sum(is_vowel(c) for c in s)\n{F}", "right"),
        (f"{F}python\ndef is_vowel(c):\n    return c in 'aeiou'\n{F}\n\n"
         f"{F}python\ndef count_vowels(s):\n    return sum(is_vowel(c) for c in s)\n{F}", "right"),
    ],
)
def test_code_helper_from_another_block(response, reason):
    assert _grade("code", MBPP_GOLD, response).reason == reason


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("(2) Liam: I believe he is a knave, but I am not entirely certain", "wrong"),
        ("(2) Liam is a knave, though I can't be sure", "wrong"),
        ("(2) Liam is a knave (I am not confident about this)", "wrong"),
        ("(2) Liam is a knave, which makes Ava's statement true", "right"),
    ],
)
def test_knights_knaves_uncertain_role_is_missing(line, reason):
    response = f"CONCLUSION:\n(1) Ava is a knight\n{line}"
    assert _grade("knights_knaves", {"Ava": "knight", "Liam": "knave"}, response).reason == reason


@pytest.mark.parametrize(
    ("answer", "reason"),
    [("\\boxed{\\text{the ellipse}}", "right"), ("\\boxed{\\text{an ellipse}}", "right"),
     ("\\boxed{\\text{a hyperbola}}", "wrong")],
)
def test_text_answer_with_a_leading_article(answer, reason):
    assert _grade("math", {"answer": "\\text{ellipse}"}, answer).reason == reason
