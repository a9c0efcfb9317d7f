"""Sixth probe round (all answer graders): reply styles the graders misread before (each row marked "before"
failed before its fix), with the guard rows that keep each new rule narrow."""

from __future__ import annotations

import pytest

from tests.graders.helpers import run

MOLARITY = ["0.5 M", "1.0 M", "1.5 M", "2.0 M", "2.5 M", "3.0 M", "3.5 M", "4.0 M", "4.5 M", "5.0 M"]
FRACTIONS = ["$\\frac{1}{2}$", "$\\frac{1}{3}$", "$\\frac{2}{3}$", "$1$"]
TEN = "ABCDEFGHIJ"


@pytest.mark.parametrize(
    ("response", "gold", "choices", "letters", "correct"),
    [
        # an answer written as a fraction against options typeset with \frac
        ("The probability is 2/3.\n\nAnswer: 2/3", "C", FRACTIONS, "ABCD", True),  # before
        ("Answer: \\dfrac{2}{3}", "C", FRACTIONS, "ABCD", True),  # before
        ("Answer: 2/3", "B", FRACTIONS, "ABCD", False),
        ("Answer: 1/3", "C", FRACTIONS, "ABCD", False),
        ("Answer: 2.3", "C", ["2/3", "2.3", "3/2", "1"], "ABCD", False),
        ("Answer: 2.3", "B", ["2/3", "2.3", "3/2", "1"], "ABCD", True),  # before: "2.3" read as "2/3" (option A)
        ("Answer: 2/3", "A", ["2/3", "2.3", "3/2", "1"], "ABCD", True),
        # a bare number against options that are that number with a unit
        ("Answer: 1.5", "C", MOLARITY, TEN, True),  # before
        ("The molarity is 1.5 M.\n\nAnswer: 1.5", "C", MOLARITY, TEN, True),  # before
        ("Answer: 1.5", "E", MOLARITY, TEN, False),
        ("Answer: 1.7", "C", MOLARITY, TEN, False),
        ("Answer: 1.5", "A", ["1.5 m", "1.5 mm", "2 m", "3 m"], "ABCD", False),
        ("Answer: 1.5", "B", ["1.5 m", "1.5 mm", "2 m", "3 m"], "ABCD", False),
        ("Answer: 2", "A", ["2 or more", "3", "4", "5"], "ABCD", False),
        ("Answer: 5", "A", ["5 \\times 10^3", "6", "7", "8"], "ABCD", False),
        # the one option a restated list marks correct
        ("Among the options:\n- A. 0.5 M: too low\n- C. 1.5 M: correct\n- E. 2.5 M: too high", "C", MOLARITY, TEN,
         True),  # before
        ("Among the options:\n- A. 0.5 M: too low\n- C. 1.5 M: correct\n- E. 2.5 M: too high", "A", MOLARITY, TEN,
         False),
        ("Among the options:\n- A. 0.5 M: incorrect\n- C. 1.5 M: incorrect\n- E. 2.5 M: incorrect", "C", MOLARITY,
         TEN, False),
        # a clause that closes on one letter: "which is F", "we are left with C"
        ("The answer is (C).\n\nActually, wait. I made an error: 0.3/0.1 = 3.0 M, which is F.", "F", MOLARITY, TEN,
         True),  # before
        ("The answer is (C).\n\nActually, wait. I made an error: 0.3/0.1 = 3.0 M, which is F.", "C", MOLARITY, TEN,
         False),  # before
        ("After eliminating A, B and D, we are left with C.", "C", MOLARITY, TEN, True),  # before
        ("That narrows it down to E.", "E", MOLARITY, TEN, True),  # before
        ("2.5 M, which is E, is too high, so the answer is C.", "C", MOLARITY, TEN, True),
        ("2.5 M, which is E, is too high, so the answer is C.", "E", MOLARITY, TEN, False),
        ("The molarity is 3.0 M, which corresponds to option F.\n\nAnswer: C", "C", MOLARITY, TEN, True),
        # a letter in quotes, and the prompt's "$LETTER" filled in literally
        ("Answer: 'C'", "C", MOLARITY, TEN, True),  # before
        ("Answer: 'C'", "E", MOLARITY, TEN, False),
        ("Answer: C's value is too low; the answer is E.", "E", MOLARITY, TEN, True),
        ("Answer: $C", "C", MOLARITY, TEN, True),  # before
        ("Answer: $C", "D", MOLARITY, TEN, False),
        ("Answer: $C$", "C", MOLARITY, TEN, True),
        # "I'll choose the closest: C", "I'd guess C"
        ("Since none match exactly, I'll choose the closest: C.", "C", MOLARITY, TEN, True),  # before
        ("I'm not sure, but I'd guess C.", "C", MOLARITY, TEN, True),  # before
        ("I'm not sure, but I'd guess C.", "E", MOLARITY, TEN, False),
        ("I'd guess C is too low, so the answer is E.", "C", MOLARITY, TEN, False),
        # a reply that goes on to write the next question itself
        ("The answer is (C).\n\nQuestion: What is the molarity of 9 g of glucose in 0.1 L?\nOptions: ...\n"
         "Answer: Let's think step by step. ... The answer is (D).", "C", MOLARITY, TEN, True),  # before
        ("The answer is (C).\n\nQuestion: What is the molarity of 9 g of glucose in 0.1 L?\nOptions: ...\n"
         "Answer: Let's think step by step. ... The answer is (D).", "D", MOLARITY, TEN, False),  # before
        ("Question: What is the molarity?\n\nWe have 0.3 mol in 0.2 L.\n\nAnswer: C", "C", MOLARITY, TEN, True),
        ("Sure, here is my reasoning.\n\nQuestion: What is the molarity?\nAnswer: C", "C", MOLARITY, TEN, True),
    ],
)
def test_choice_reading(response: str, gold: str, choices: list[str], letters: str, correct: bool) -> None:
    result = run("choice", response, {"answer": gold, "choices": choices}, letters=letters)
    assert result.correct is correct, result


BBH = {"ignore_whitespace": True, "words": True}  # tasks/bbh.yaml's grader options


@pytest.mark.parametrize(
    ("response", "target", "correct"),
    [
        # sports understanding: a closing verdict in the task's own words
        ("This sentence is implausible.", "no", True),  # before
        ("So the sentence is not plausible.", "no", True),  # before
        ("Overall, the sentence is plausible.", "yes", True),  # before
        ("This sentence is implausible.", "yes", False),
        # word sorting: a closing list led in by a line ending in ":"
        ("The sorted list is:\n1. apple\n2. banana\n3. cherry", "apple banana cherry", True),  # before
        ("Sorting alphabetically, we get:\n\n- apple\n- banana\n- cherry", "apple banana cherry", True),  # before
        ("The sorted list is:\n1. apple\n2. cherry\n3. banana", "apple banana cherry", False),
        ("Here are the objects:\n1. piano\n2. flute\n3. violin", "3", False),  # before: the item number 3
        # formal fallacies: the verdict stated as a sentence, or as "not valid"
        ("So the answer is: The argument is invalid.", "invalid", True),  # before
        ("So the answer is: The argument is invalid.", "valid", False),
        ("So the answer is: not valid.", "invalid", True),  # before
        ("Therefore, the argument is not valid.", "invalid", True),  # before
        ("Therefore, the argument is not valid.", "valid", False),
        ("The argument is deductively valid.", "valid", True),  # before
        ("So the answer is: The argument is valid.", "invalid", False),
        # a closing line that labels its value with a longer lead, and causal judgement's "would say No"
        ("The missing closing brackets are: ) ]", ") ]", True),  # before
        ("The words in alphabetical order are: apple, banana, cherry.", "apple banana cherry", True),  # before
        ("The words in alphabetical order are: apple, cherry, banana.", "apple banana cherry", False),
        ("Most people would say No.", "No", True),  # before
        ("A typical person would answer Yes.", "Yes", True),  # before
        ("A typical person would answer Yes.", "No", False),
    ],
)
def test_bbh_closing_forms(response: str, target: str, correct: bool) -> None:
    result = run("exact", response, {"answer": target}, **BBH)
    assert result.correct is correct, result


FINQA = {"rel_tol": 0.01, "percent": "either"}  # tasks/finqa.yaml's grader options


@pytest.mark.parametrize(
    ("response", "gold", "correct"),
    [
        ("The percentage decrease is 5.2%.", -5.2, True),  # before
        ("The decline in revenue was 5.2% ... Answer: the decrease is 5.2%", -5.2, True),  # before
        ("The percentage decrease is 5.2%.", 5.2, True),
        ("The percentage increase is 5.2%.", -5.2, False),
        ("The percentage decrease is -5.2%.", 5.2, False),
        ("Answer: 2.5 (decrease)", -2.5, True),  # before
        ("Answer: 2.5 (a decline)", -2.5, True),  # before
        ("Answer: 2.5 (increase)", -2.5, False),
        ("Answer: 2.5 (decrease)", 2.5, True),
        # a scale abbreviation after a space
        ("Answer: 1.35 B", 1350, True),  # before
        ("Answer: $1.35 M", 1.35, True),
        ("Answer: 1.35 B", 1400, False),
        ("Answer: 1.35 Billion dollars", 1350, True),
    ],
)
def test_finqa_direction_and_scale_words(response: str, gold: float, correct: bool) -> None:
    result = run("numeric", response, {"answer": gold}, **FINQA)
    assert result.correct is correct, result


THREE = {"Mia": "knight", "Ethan": "knave", "Lily": "knight"}


@pytest.mark.parametrize(
    ("response", "correct"),
    [
        ("CONCLUSION:\n(1) Mia is a knight\n(2) Ethan is a knave\n(3) Lily is also a knight", True),  # before
        ("CONCLUSION:\n(1) Mia is a knight\n(2) Ethan is certainly a knave\n(3) Lily is a knight", True),  # before
        ("CONCLUSION:\n(1) Mia is a knight\n(2) Ethan is a knave\n(3) Lily is also a knave", False),
        ("CONCLUSION:\n(1) Mia is a knight\n(2) Ethan is also not a knight\n(3) Lily is a knight", True),  # before
    ],
)
def test_knights_knaves_adverb_before_role(response: str, correct: bool) -> None:
    result = run("knights_knaves", response, THREE)
    assert result.correct is correct, result


def _kor(answer: str, category: str = "counterfactual", rule_id: str = "3", idx: str = "30") -> dict[str, str]:
    return {"answer": answer, "category": category, "rule_id": rule_id, "idx": idx}


@pytest.mark.parametrize(
    ("response", "gold", "correct"),
    [
        ("The answer is [[A]] or [[B]]", _kor("B"), False),  # before
        ("The answer is [[A]] or [[B]]", _kor("A"), False),
        ("The answer is [[KHOOS]], [[KHOOR]]", _kor("KHOOR", "cipher", "1", "1"), False),  # before
        ("First try: [[A]]\nOn reflection, the answer is [[B]]", _kor("B"), True),
        ("The answer is [[B]] or [[B]]", _kor("B"), True),
        # a conditional aside after the answer line
        ("The answer is [[B]].\n\nHowever, in the real world it would be [[C]].", _kor("B"), True),  # before
        ("The answer is [[B]].\n\nHowever, in the real world it would be [[C]].", _kor("C"), False),  # before
        ("The answer is [[B]].\n\nWait, that's wrong. It would be [[C]], so the final answer is [[C]].", _kor("C"),
         True),
        ("I first thought [[B]].\nOn reflection it would be [[C]].", _kor("C"), True),
        ("The answer is [[B]]. If instead the rule were reversed, it would be [[C]].", _kor("B"), True),  # before
        ("The answer is [[B]]. If instead the rule were reversed, it would be [[C]].", _kor("C"), False),  # before
    ],
)
def test_korbench_hedged_or_aside_brackets(response: str, gold: dict[str, str], correct: bool) -> None:
    assert run("korbench", response, gold).correct is correct


MATH500 = {"decimal_gold_asks_decimal": True}  # tasks/math500.yaml's grader options


@pytest.mark.parametrize(
    ("response", "gold", "finish_reason", "correct"),
    [
        # a closing sentence: a math span with its unit, a \textbf value, a typed root sign
        ("Thus, the area of the triangle is $12\\sqrt{3}$ square units.", "12\\sqrt{3}", "stop", True),  # before
        ("Thus, the area of the triangle is $12\\sqrt{2}$ square units.", "12\\sqrt{3}", "stop", False),
        ("So the length is $\\frac{5}{2}$ when $x$ is 3.", "\\frac52", "stop", False),
        ("Hence the number of solutions is \\textbf{4}.", "4", "stop", True),  # before
        ("Hence the number of solutions is \\textbf{5}.", "4", "stop", False),
        ("The answer is 12√3.", "12\\sqrt{3}", "stop", True),  # before
        ("The answer is 2√2.", "2\\sqrt{2}", "stop", True),  # before
        ("The answer is 3√2 - 2.", "3\\sqrt{2}-2", "stop", True),  # before
        ("The answer is √(a+5).", "\\sqrt{a + 5}", "stop", True),  # before
        ("The answer is 2√3.", "12\\sqrt{3}", "stop", False),
        # a phrase whose box the reply questions right away does not answer
        ("The answer is $\\boxed{5}$.\n\nHmm wait, that's not right. Let me redo this. $x = 6$.", "5", "stop",
         False),  # before
        ("The answer is $\\boxed{5}$.\n\nHmm wait, that's not right.", "5", "stop", False),  # before
        ("The answer is $\\boxed{5}$. Wait, let me verify: $2 + 3 = 5$, yes.", "5", "stop", True),
        ("The answer is $\\boxed{5}$. Wait, let me verify", "5", "length", False),  # before
        # cut off right after "the answer is X" while the model takes it back
        ("The answer is 5. But wait", "5", "length", False),  # before
        ("The answer is 5. Hmm, let me recheck the second case", "5", "length", False),  # before
        ("The answer is 5.\n\nTo summarise the steps", "5", "length", True),
        ("The answer is 5. But wait", "5", "stop", True),
        # a closing fraction written with a slash, a closing span after a Chinese verb
        ("The probability is 3/8.", "\\frac38", "stop", True),  # before
        ("The probability is 3/8.", "\\frac58", "stop", False),
        ("因此，所求的值为 $\\frac{1}{2}$。", "\\frac{1}{2}", "stop", True),  # before
        ("因此，所求的值为 $\\frac{1}{3}$。", "\\frac{1}{2}", "stop", False),
        # an option letter before the value: right for the letter gold and for the value gold
        ("The answer is (D) $2\\sqrt{3}$", "D", "stop", True),  # before
        ("The answer is (D) $2\\sqrt{3}$", "2\\sqrt{3}", "stop", True),
        ("The answer is (C) $2\\sqrt{3}$", "D", "stop", False),
        ("The answer is (D) $3$", "2\\sqrt{3}", "stop", False),
    ],
)
def test_math_closing_forms(response: str, gold: str, finish_reason: str, correct: bool) -> None:
    result = run("math", response, {"answer": gold}, finish_reason=finish_reason, **MATH500)
    assert result.correct is correct, result


@pytest.mark.parametrize(
    ("response", "gold", "correct"),
    [
        ("The answer is \\boxed{N = 2321}, so the remainder is 321.", "321", True),  # before
        ("So $N = \\boxed{2321}$ and $N \\bmod 1000 = 321$.", "321", True),  # before
        ("The answer is \\boxed{N = 2321}, so the remainder is 322.", "321", False),
        ("The answer is \\boxed{2321}.", "321", False),
        ("The answer is \\boxed{321}, so N = 2321.", "321", True),
    ],
)
def test_aime_box_out_of_range_gives_way_to_closing_value(response: str, gold: str, correct: bool) -> None:
    result = run("math", response, {"answer": gold}, integer_answer=True)
    assert result.correct is correct, result


EMORYNLP = {
    "letters": True,
    "labels": ["Joyful", "Mad", "Peaceful", "Neutral", "Sad", "Powerful", "Scared"],
    "families": {"Joyful": "joy", "Mad": "anger", "Peaceful": "peace", "Neutral": "neutral", "Sad": "sadness",
                 "Powerful": "power", "Scared": "fear"},
}  # tasks/emorynlp.yaml's grader options
MELD_LABELS = ["neutral", "joy", "surprise", "anger", "sadness", "disgust", "fear"]
MELD = {"letters": True, "labels": MELD_LABELS, "families": {label: label for label in MELD_LABELS}}  # tasks/meld.yaml


@pytest.mark.parametrize(
    ("options", "response", "gold", "correct"),
    [
        # a mix that the statement settles ("but primarily X")
        (EMORYNLP, "The emotion is a mix of Sad and Scared, but primarily Sad.", "Sad", True),  # before
        (EMORYNLP, "The emotion is a mix of Sad and Scared, but primarily Sad.", "Scared", False),
        (EMORYNLP, "The emotion is a mix of Sad and Scared.", "Sad", False),
        (EMORYNLP, "The emotion is Sad, but mostly because of the news.", "Sad", True),
        (MELD, "The emotion is surprise, possibly joy.", "surprise", False),
        (MELD, "Emotion: a mix of joy and surprise, but mainly surprise.", "surprise", True),  # before
        (MELD, "Emotion: a mix of joy and surprise, but mainly surprise.", "joy", False),
        # two lettered labels offered with a slash
        (EMORYNLP, "Answer: E (Sad) / G (Scared)", "Sad", False),  # before
        (EMORYNLP, "Answer: E (Sad) / G (Scared)", "Scared", False),
        (EMORYNLP, "Answer: E (Sad)", "Sad", True),
    ],
)
def test_label_mixed_emotions(options: dict, response: str, gold: str, correct: bool) -> None:
    result = run("label", response, {"answer": gold}, **options)
    assert result.correct is correct, result


BENZENES = ["Benzene", "Toluene", "Phenol", "Aniline"]


@pytest.mark.parametrize(
    ("response", "gold", "correct"),
    [
        # an option ruled out after its name is not the answer
        ("Phenol is not the answer. Benzene is not either. I think it's aniline.", "C", False),  # before
        ("Phenol is not the answer. Benzene is not either. I think it's aniline.", "D", True),  # before
        ("Phenol isn't it; the spectrum fits aniline.", "C", False),  # before
        ("Phenol is the compound: the broad peak is an O-H stretch.", "C", True),
    ],
)
def test_choice_option_ruled_out_after_its_name(response: str, gold: str, correct: bool) -> None:
    result = run("choice", response, {"answer": gold, "choices": BENZENES})
    assert result.correct is correct, result


@pytest.mark.parametrize(
    ("response", "gold", "correct"),
    [
        # an emotion asked about, or named after "neither", is not the one stated
        ("Joy? No. The speaker is angry.", "joy", False),  # before
        ("Answer: neither joy nor anger — neutral.", "joy", False),  # before
        ("Answer: neither joy nor anger — neutral.", "anger", False),
        ("Is she happy? Yes, she is joyful here.", "joy", True),
        ("Joy? No. The speaker is angry.", "anger", True),  # before
        ("Answer: neither joy nor anger — neutral.", "neutral", True),  # before
    ],
)
def test_label_asked_or_denied_emotion(response: str, gold: str, correct: bool) -> None:
    result = run("label", response, {"answer": gold}, **MELD)
    assert result.correct is correct, result


@pytest.mark.parametrize(
    ("grader", "response", "gold", "options", "correct"),
    [
        ("math", "So the answer is \\boxed{11}?", "11", {"integer_answer": True}, False),  # before
        ("math", "So the answer is \\boxed{11}? Let me verify: 3 + 8 = 11. Yes, $m + n = 11$.", "11",
         {"integer_answer": True}, True),
        ("numeric", "Answer: not 5.3", 5.3, FINQA, False),  # before
        ("numeric", "Answer: not 5.3 but 6.1", 6.1, FINQA, True),  # before
        ("numeric", "Answer: not 5.3 but 6.1", 5.3, FINQA, False),  # before
        ("numeric", "Answer: 5.3, not 6.1", 5.3, FINQA, True),
        ("numeric", "Answer: not 5.3%, but 6.1%", 0.061, FINQA, True),  # before
        ("numeric", "Answer: not 5.3%, but 6.1%", 0.053, FINQA, False),
    ],
)
def test_questioned_or_denied_value(grader: str, response: str, gold: object, options: dict, correct: bool) -> None:
    result = run(grader, response, {"answer": gold}, **options)
    assert result.correct is correct, result


@pytest.mark.parametrize(
    ("response", "gold", "correct"),
    [
        # a table of options with one row marked correct
        ("| Option | Verdict |\n|---|---|\n| A | ✗ |\n| C | ✓ |\n| E | ✗ |", "C", True),  # before
        ("| Option | Verdict |\n|---|---|\n| A | ✗ |\n| C | ✓ |\n| E | ✗ |", "A", False),
        ("| Option | Value |\n|---|---|\n| A | 0.5 M |\n| C | 1.5 M |", "A", False),
        # a bullet under "Answer:", "Final: C"
        ("Answer:\n- C", "C", True),  # before
        ("Answer:\n- C", "E", False),
        ("Final: C", "C", True),  # before
        ("Final step: divide 0.3 by 0.2.\n\nAnswer: C", "C", True),
        # the letter as the subject of "is the answer", "would be my answer", "is better"
        ("C is the answer.", "C", True),  # before
        ("(C) is the answer.", "C", True),
        ("C would be my answer.", "C", True),  # before
        ("Both C and E could work, but C is better.", "C", True),  # before
        ("Both C and E could work, but C is better.", "E", False),
        ("C is the answer only for 0.2 L; here the volume is 0.1 L, so the answer is F.", "F", True),
    ],
)
def test_choice_more_statement_forms(response: str, gold: str, correct: bool) -> None:
    result = run("choice", response, {"answer": gold, "choices": MOLARITY}, letters=TEN)
    assert result.correct is correct, result


@pytest.mark.parametrize(
    ("response", "correct"),
    [
        # after the conclusion: a role that is the subject of a supposition, or a conditional alternative
        ("CONCLUSION:\n(1) Mia is a knight.\n(2) Ethan is a knave.\n(3) Lily is a knight.\n\n"
         "In this scenario, Ethan is a knight would lead to contradiction.", True),  # before
        ("CONCLUSION:\n(1) Mia is a knight\n(2) Ethan is a knave\n(3) Lily is a knight\n\n"
         "Alternatively, Lily could be a knave if Mia lied, but Mia is a knight.", True),  # before
        ("CONCLUSION:\n(1) Mia is a knight\n(2) Ethan is a knave\n(3) Lily could be a knight or a knave", False),
        ("CONCLUSION:\n(1) Mia is a knight\n(2) Ethan is a knave\n(3) Lily is a knave\n\n"
         "Alternatively, Lily could be a knight if Mia lied.", False),
    ],
)
def test_knights_knaves_suppositions_after_the_conclusion(response: str, correct: bool) -> None:
    result = run("knights_knaves", response, THREE)
    assert result.correct is correct, result


def test_knights_knaves_supposition_in_parentheses() -> None:
    response = ("CONCLUSION:\n(1) Zoey is a knave\n(2) Oliver is a knight\n\n"
                "(Zoey is a knight would make her statement true, a contradiction.)")  # before
    assert run("knights_knaves", response, {"Zoey": "knave", "Oliver": "knight"}).correct


GARDENERS = ["Kevin", "Nelson"]


@pytest.mark.parametrize(
    ("response", "gold", "correct"),
    [
        # a negation ends with its clause
        ("Kevin doesn't fit; the blank is Nelson.", "B", True),  # before
        ("Kevin doesn't fit; the blank is Nelson.", "A", False),
        ("It is not Kevin or Nelson.", "B", False),
        ("It is not Kevin - Nelson.", "B", True),  # before
        # an option named by its ordinal
        ("Answer: the second option", "B", True),  # before
        ("Answer: the first option", "B", False),
        ("Answer: The first choice (Kevin)", "A", True),
        ("Answer: The first choice (Nelson)", "A", False),
        ("Answer: the third option", "A", False),
    ],
)
def test_winogrande_clauses_and_ordinals(response: str, gold: str, correct: bool) -> None:
    result = run("choice", response, {"answer": gold, "choices": GARDENERS}, letters="AB")
    assert result.correct is correct, result


DIABETES = ["Metformin", "Insulin glargine", "Glipizide", "Sitagliptin"]


@pytest.mark.parametrize(
    ("response", "gold", "correct"),
    [
        # a closing "so <option text>" after clauses naming other options
        ("Glipizide would cause hypoglycemia; sitagliptin is second-line; so metformin.", "A", True),  # before
        ("Glipizide would cause hypoglycemia; sitagliptin is second-line; so metformin.", "C", False),  # before
        ("Glipizide would cause hypoglycemia, so if anything, sitagliptin.", "C", False),  # before
        ("Glipizide would cause hypoglycemia, so if anything, sitagliptin.", "D", True),  # before
        # a closing letter after text naming two options is no single answer
        ("Answer: Metformin (A) or, if contraindicated, sitagliptin (D).", "D", False),  # before
        ("Answer: Metformin, not glipizide (A).", "A", True),
    ],
)
def test_medqa_closing_forms(response: str, gold: str, correct: bool) -> None:
    result = run("choice", response, {"answer": gold, "choices": DIABETES})
    assert result.correct is correct, result
