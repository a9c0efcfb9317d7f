"""Fifth probe round (BBH, labels, choice, FinQA): reply styles the graders misread before (each row marked
"before" failed before its fix), with the guard rows that keep each new rule narrow."""

from __future__ import annotations

import pytest

from tests.graders.helpers import run

BBH = {"ignore_whitespace": True, "words": True}  # tasks/bbh.yaml's grader options
DATES = ["12/14/2026", "12/21/2026", "12/07/2026", "01/14/2027"]
LEFTMOST = ["The owl is the leftmost", "The robin is the leftmost", "The crow is the leftmost"]
HYPERBATON = ["rubber terrible ship", "terrible rubber ship"]
BOOKS = ["Frankenstein", "Moby Dick", "The Odyssey"]


@pytest.mark.parametrize(
    ("response", "target", "choices", "correct"),
    [
        # date understanding: a MM/DD/YYYY option written out in words
        ("So the answer is December 21, 2026.", "(B)", DATES, True),  # before
        ("So the answer is December 21st, 2026.", "(B)", DATES, True),  # before
        ("So the answer is Dec 21, 2026.", "(B)", DATES, True),  # before
        ("So the answer is 21 December 2026.", "(B)", DATES, True),  # before
        ("So the answer is 12/21/2026.", "(B)", DATES, True),
        ("So the answer is December 14, 2026.", "(B)", DATES, False),
        ("So the answer is December 21, 2025.", "(B)", DATES, False),
        ("So the answer is December 21.", "(B)", DATES, False),
        ("So the answer is January 14, 2027.", "(D)", DATES, True),  # before
        ("So the answer is January 14, 2027.", "(A)", DATES, False),
        # logical deduction: the part that sets one option apart from options sharing their ending
        ("So the answer is the robin.", "(B)", LEFTMOST, True),  # before
        ("So the answer is Robin.", "(B)", LEFTMOST, True),  # before
        ("So the answer is the owl.", "(B)", LEFTMOST, False),
        ("So the answer is the robin or the crow.", "(B)", LEFTMOST, False),
        ("So the answer is the robin is the rightmost.", "(B)", LEFTMOST, False),
        ("So the answer is robin is.", "(B)", LEFTMOST, False),
        ("So the answer is terrible rubber.", "(B)", HYPERBATON, True),  # before
        ("So the answer is ship.", "(B)", HYPERBATON, False),
        # options with no shared ending keep reading by whole text only
        ("So the answer is Moby.", "(B)", BOOKS, False),
        ("So the answer is Moby Dick.", "(B)", BOOKS, True),
    ],
)
def test_bbh_option_read_from_its_words(response: str, target: str, choices: list[str], correct: bool) -> None:
    result = run("exact", response, {"answer": target, "choices": choices}, **BBH)
    assert result.correct is correct, result


@pytest.mark.parametrize(
    ("response", "target", "correct"),
    [
        # multistep arithmetic: a negative result written in parentheses
        ("So the answer is (-42).", "-42", True),  # before
        ("So the answer is (-4.5).", "-4.5", True),  # before
        ("So the answer is (42).", "-42", False),
        ("So the answer is (-42).", "42", False),
        ("So the answer is -42.", "-42", True),
        ("So the answer is 42.", "-42", False),
    ],
)
def test_bbh_free_answers(response: str, target: str, correct: bool) -> None:
    result = run("exact", response, {"answer": target}, **BBH)
    assert result.correct is correct, result


FINQA = {"rel_tol": 0.01, "percent": "either"}  # tasks/finqa.yaml's grader options


@pytest.mark.parametrize(
    ("response", "gold", "correct"),
    [
        # an unsigned amount said to fall, against FinQA's signed change
        ("Answer: a decrease of 12.5%", "-12.5", True),  # before
        ("Answer: 12.5% decrease", "-12.5", True),  # before
        ("Answer: revenue declined by 12.5%", "-0.125", True),  # before
        ("Answer: down 12.5%", "-12.5", True),  # before
        ("Answer: 12.5% lower", "-12.5", True),  # before
        ("The net income fell from 80 to 70, a decrease of 12.5%.", "-12.5", True),  # before
        # the unsigned gold of a question about the fall keeps taking it; other values and rises do not
        ("Answer: a decrease of 12.5%", "12.5", True),
        ("Answer: a decrease of 12.5%", "-13.5", False),
        ("Answer: an increase of 12.5%", "-12.5", False),
        ("Answer: 12.5% increase", "-12.5", False),
        ("Answer: 12.5% higher", "-12.5", False),
        ("Answer: a decrease of -12.5%", "-12.5", True),
        ("Answer: a decrease of -12.5%", "12.5", False),
        ("Answer: 12.5%", "-12.5", False),
        ("Net income fell to 70.\nAnswer: 70", "-70", False),
        ("Answer: 3.2% down", "-3.2", True),  # before
        ("Answer: 3.2% down", "3.2", True),
        ("Answer: 3.2% up", "-3.2", False),
        # a sign written as a word
        ("Answer: negative 3.2", "-3.2", True),  # before
        ("The growth was negative 3.2 percent.", "-3.2", True),  # before
        ("Answer: negative 3.2", "3.2", False),  # before: read as 3.2
        ("Answer: non-negative 3.2", "3.2", True),
        ("Answer: negative", "-3.2", False),
    ],
)
def test_finqa_fall_words(response: str, gold: str, correct: bool) -> None:
    result = run("numeric", response, {"answer": gold}, **FINQA)
    assert result.correct is correct, result


NAMES = ["Sarah", "Maria"]
BALD = ["He was bald.", "He was wearing a hat.", "He was asleep.", "None of above."]
TEN = [f"option text {c}" for c in "abcdefghij"]


@pytest.mark.parametrize(
    ("response", "gold", "choices", "letters", "correct"),
    [
        # an option named by its position (Winogrande's own option1 / option2)
        ("Answer: Option 1", "A", NAMES, "AB", True),  # before
        ("Answer: option1", "A", NAMES, "AB", True),  # before
        ("The answer is option 2.", "B", NAMES, "AB", True),  # before
        ("Answer: Option 2 (Maria)", "B", NAMES, "AB", True),
        ("Answer: Option 1", "A", TEN, "A-J", True),  # before
        ("Answer: Option 9", "I", TEN, "A-J", True),  # before
        ("Answer: Option 2", "A", NAMES, "AB", False),
        ("Answer: Option 2: Sarah", "A", NAMES, "AB", False),  # before: a contradiction, as "B: Sarah" is
        ("Answer: Option 2: Sarah", "B", NAMES, "AB", False),
        ("Answer: Option 1 or Option 2", "A", NAMES, "AB", False),
        ("Answer: Option 3", "A", NAMES, "AB", False),
        ("Answer: Option 12", "A", TEN, "A-J", False),
        # a bare position between two options with no digits in their texts
        ("Answer: 1", "A", NAMES, "AB", True),  # before
        ("Answer: 2", "B", NAMES, "AB", True),  # before
        ("Answer: 2", "A", NAMES, "AB", False),
        ("Answer: 1 or 2", "A", NAMES, "AB", False),
        ("Answer: 1", "A", ["3 cats", "4 cats"], "AB", False),
        ("Answer: 1", "A", ["x", "y", "z", "w"], "ABCD", False),
        # BRAINTEASER's "None of above." answered in the usual wording
        ("Answer: None of the above", "D", BALD, "A-E", True),  # before
        ("Answer: D. None of the above", "D", BALD, "A-E", True),
        ("Answer: None of the above.", "A", BALD, "A-E", False),
        ("Answer: A. None of the above", "A", BALD, "A-E", False),  # before: a contradiction
    ],
)
def test_choice_named_by_position_or_wording(
    response: str, gold: str, choices: list[str], letters: str, correct: bool
) -> None:
    result = run("choice", response, {"answer": gold, "choices": choices}, letters=letters)
    assert result.correct is correct, result


@pytest.mark.parametrize(
    ("response", "gold", "category", "rule_id", "correct"),
    [
        # an option letter in its own parentheses
        ("The answer is [[(C)]].", "[[C]]", "counterfactual", "1", True),  # before
        ("The answer is [[C)]].", "[[C]]", "counterfactual", "1", True),  # before
        ("The answer is [[(C)]].", "[[C]]", "logic", "4", True),  # before
        ("The answer is [[C.]].", "[[C]]", "counterfactual", "1", True),
        ("The answer is [[c]].", "[[C]]", "counterfactual", "1", True),
        ("The answer is [[(B)]].", "[[C]]", "counterfactual", "1", False),
        ("The answer is [[CD]].", "[[C]]", "counterfactual", "1", False),
        ("The answer is [[C. Paris]].", "[[C]]", "counterfactual", "1", False),  # its text is unknown here
        # an operation's number written with a zero fraction, or in math delimiters
        ("The answer is [[24.0]].", "[[24]]", "operation", "1", True),  # before
        ("The answer is [[24]].", "[[24.0]]", "operation", "1", True),  # before
        ("The answer is [[$24$]].", "[[24]]", "operation", "1", True),  # before
        ("The answer is [[24.5]].", "[[24]]", "operation", "1", False),
        ("The answer is [[-24.0]].", "[[24]]", "operation", "1", False),
        ("The answer is [[$25$]].", "[[24]]", "operation", "1", False),
        # a whole answer in single quotes
        ("The answer is [['N']].", "[[N]]", "cipher", "1", True),  # before
        ("The answer is [['M']].", "[[N]]", "cipher", "1", False),
        ("The answer is [[n]].", "[[N]]", "cipher", "1", False),  # the official comparison keeps case
    ],
)
def test_korbench_wrapped_answers(response: str, gold: str, category: str, rule_id: str, correct: bool) -> None:
    result = run("korbench", response, {"answer": gold, "category": category, "rule_id": rule_id, "idx": "1"})
    assert result.correct is correct, result


@pytest.mark.parametrize(
    ("response", "target", "correct"),
    [
        # word sorting written as a bracketed (Python) list
        ("So the answer is [abandon, apple, banana].", "abandon apple banana", True),  # before
        ("So the answer is ['abandon', 'apple', 'banana'].", "abandon apple banana", True),  # before
        ("So the answer is [abandon apple banana].", "abandon apple banana", True),  # before
        ("So the answer is [abandon, banana, apple].", "abandon apple banana", False),
        ("So the answer is ['abandon', 'apple'].", "abandon apple banana", False),
        # a Dyck sequence keeps its brackets
        ("So the answer is [ ) ].", ") ]", False),
        ("So the answer is ] ].", "] ]", True),
        ("So the answer is [ ( ( ) ) ].", ") ) ]", False),
        # sports understanding answered with the question's own word
        ("So the answer is plausible.", "yes", True),  # before
        ("So the answer is Plausible.", "yes", True),  # before
        ("So the answer is implausible.", "no", True),  # before
        ("So the answer is not plausible.", "no", True),  # before
        ("So the answer is implausible.", "yes", False),
        ("So the answer is plausible.", "no", False),
        ("So the answer is not plausible.", "yes", False),
        ("So the answer is plausible.", "True", False),
    ],
)
def test_bbh_word_lists_and_plausibility(response: str, target: str, correct: bool) -> None:
    result = run("exact", response, {"answer": target}, **BBH)
    assert result.correct is correct, result


SIGNED = ["-2", "2", "4", "6"]
POWERS = ["$10^{-3}$", "$10^{3}$", "$10^{6}$", "$10^{-6}$"]


@pytest.mark.parametrize(
    ("response", "gold", "choices", "correct"),
    [
        # options that differ only in a minus sign are different options
        ("Answer: 2", "A", SIGNED, False),  # before: read as "-2"
        ("Answer: 2", "B", SIGNED, True),  # before
        ("Answer: 10^3", "A", POWERS, False),  # before: read as 10^{-3}
        ("Answer: 10^3", "B", POWERS, True),  # before
        ("Answer: -2", "A", SIGNED, True),
        ("The answer is \u22122.", "A", SIGNED, True),
        ("Answer: 10^-3", "A", POWERS, True),
        ("Answer: B) 10^-3", "B", POWERS, False),  # before: A's text went unseen
        # a hyphen between words or numbers is not a sign
        ("Answer: X-ray", "A", ["X-ray", "MRI"], True),
        ("Answer: 2-3 days", "B", ["1 day", "2-3 days"], True),
    ],
)
def test_choice_signed_option_texts(response: str, gold: str, choices: list[str], correct: bool) -> None:
    result = run("choice", response, {"answer": gold, "choices": choices}, letters="ABCD")
    assert result.correct is correct, result


EMORY = {
    "letters": True,
    "labels": ["Joyful", "Mad", "Peaceful", "Neutral", "Sad", "Powerful", "Scared"],
    "families": {"Joyful": "joy", "Mad": "anger", "Peaceful": "peace", "Neutral": "neutral", "Sad": "sadness",
                 "Powerful": "power", "Scared": "fear"},
}  # fmt: skip
DAILY = {
    "letters": True,
    "labels": ["no_emotion", "anger", "disgust", "fear", "happiness", "sadness", "surprise"],
    "families": {"no_emotion": "neutral", "anger": "anger", "disgust": "disgust", "fear": "fear",
                 "happiness": "joy", "sadness": "sadness", "surprise": "surprise"},
    "synonyms": {"no_emotion": ["none"]},
}  # fmt: skip


@pytest.mark.parametrize(
    ("response", "gold", "options", "correct"),
    [
        # two labels named side by side: one label's word inside another's longer word ("happy" in
        # "unhappy") no longer hides the first label when it is named on its own
        ("Answer: Joyful, with a hint of Sad", "Sad", EMORY, False),  # before: read as Sad alone
        ("Answer: Mostly Joyful, with a hint of Sad", "Sad", EMORY, False),  # before
        ("Answer: Joyful, with a hint of Sad", "Joyful", EMORY, False),
        ("Answer: unhappy", "Sad", EMORY, True),
        ("Answer: unhappy", "Joyful", EMORY, False),
        ("The speaker is unhappy.", "Sad", EMORY, True),
        ("The speaker is happy, not sad.", "Joyful", EMORY, True),
        ("Answer: no emotion", "no_emotion", DAILY, True),
        ("The speaker shows no emotion.", "no_emotion", DAILY, True),
    ],
)
def test_label_mentions_inside_longer_words(response: str, gold: str, options: dict, correct: bool) -> None:
    result = run("label", response, {"answer": gold}, **options)
    assert result.correct is correct, result


TIMES = ["5pm to 6pm", "11am to 1pm", "3pm to 5pm", "1pm to 3pm"]


@pytest.mark.parametrize(
    ("response", "target", "correct"),
    [
        # temporal sequences: an option's time span spaced or phrased otherwise
        ("So the answer is 3 pm to 5 pm.", "(C)", True),  # before
        ("So the answer is 3 PM to 5 PM.", "(C)", True),  # before
        ("So the answer is between 3pm and 5pm.", "(C)", True),  # before
        ("So the answer is from 3pm to 5pm.", "(C)", True),
        ("So the answer is 3pm to 5pm.", "(C)", True),
        ("So the answer is between 1pm and 3pm.", "(C)", False),
        ("So the answer is 5 pm to 6 pm.", "(C)", False),
        ("So the answer is 3pm.", "(C)", False),
    ],
)
def test_bbh_time_spans(response: str, target: str, correct: bool) -> None:
    result = run("exact", response, {"answer": target, "choices": TIMES}, **BBH)
    assert result.correct is correct, result


MONEY = ["$10", "$100", "$1,000", "$10,000", "$1.00", "$0.10", "10%", "100%", "None of these", "All of these"]
RATIOS = ["1.5", "15", "0.15", "150"]


@pytest.mark.parametrize(
    ("response", "gold", "choices", "correct"),
    [
        # a percent is not the bare number, a decimal point opening a number keeps it a fraction, thousands
        # commas are optional
        ("Answer: 10%", "A", MONEY, False),  # before: "10%" read as "$10"
        ("Answer: 10%", "G", MONEY, True),  # before
        ("Answer: .15", "B", RATIOS, False),  # before: ".15" read as 15
        ("Answer: .15", "C", RATIOS, True),  # before
        ("Answer: $1000", "C", MONEY, True),  # before
        ("Answer: $1,000", "C", MONEY, True),
        ("Answer: $10", "A", MONEY, True),
        ("Answer: 10", "G", MONEY, False),
        ("Answer: 0.15", "C", RATIOS, True),
        ("Answer: 15", "A", RATIOS, False),
    ],
)
def test_choice_number_option_texts(response: str, gold: str, choices: list[str], correct: bool) -> None:
    result = run("choice", response, {"answer": gold, "choices": choices}, letters="A-J")
    assert result.correct is correct, result


MOLAR = ["$2.5 \\times 10^{-3}$ M", "$5.0 \\times 10^{-3}$ M", "$1.0 \\times 10^{-2}$ M", "$7.5 \\times 10^{-4}$ M"]


@pytest.mark.parametrize(
    ("response", "gold", "correct"),
    [
        # scientific notation typed with x, × or * instead of LaTeX's \times
        ("Answer: 5.0 x 10^-3 M", "B", True),  # before
        ("Answer: 5.0 × 10^-3 M", "B", True),  # before
        ("Answer: 5.0*10^(-3) M", "B", True),  # before
        ("Answer: B) 2.5 × 10^-3 M", "B", False),  # before: A's value beside the letter B went unseen
        ("Answer: 5.0 x 10^3 M", "B", False),
        ("Answer: 2.5 x 10^-3 M", "B", False),
    ],
)
def test_choice_scientific_notation(response: str, gold: str, correct: bool) -> None:
    result = run("choice", response, {"answer": gold, "choices": MOLAR}, letters="ABCD")
    assert result.correct is correct, result
