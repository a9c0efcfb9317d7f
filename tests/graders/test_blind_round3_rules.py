"""Third probe round: realistic reply styles the graders misread before (each row failed before its fix), with
the guard rows that keep each new rule narrow."""

from __future__ import annotations

import pytest

from tests.graders.helpers import run

CELLS = {"answer": "B", "choices": ["Mitochondria", "Ribosome", "Nucleus", "Golgi apparatus"]}
CITIES = {"answer": "C", "choices": ["Paris", "London", "Rome", "Berlin"]}
PRIMES = {"answer": "D", "choices": ["2", "3", "5", "7"]}
WAVES = {"answer": "C", "choices": ["heat", "light", "sound", "wind"]}
NA = {"answer": "B", "choices": ["Na", "Na (sodium)", "K", "Li"]}


@pytest.mark.parametrize(
    ("response", "gold", "reason"),
    [
        # an adjective after the noun, an article after the verb
        ("Las proteínas se sintetizan en los ribosomas.\n\nLa respuesta correcta es la B.", CELLS, "right"),
        ("As proteínas são sintetizadas nos ribossomos.\n\nA resposta correta é a B.", CELLS, "right"),
        ("Die Proteine entstehen an den Ribosomen.\n\nDie richtige Antwort ist B.", CELLS, "right"),
        ("Le proteine si formano nei ribosomi.\n\nLa risposta corretta è la A.", CELLS, "wrong"),
        # Chinese "choose" and "correct option"
        ("英国的首都是伦敦，所以选B。", {**CITIES, "answer": "B"}, "right"),
        ("意大利的首都是罗马。\n\n正确选项是 C。", CITIES, "right"),
        ("意大利的首都是罗马，故选：C", CITIES, "right"),
        ("答案选C", CITIES, "right"),
        ("罗马是意大利的首都，不选D，选C。", CITIES, "right"),
        ("意大利的首都是罗马。\n\n正确选项是 D。", CITIES, "wrong"),
        # a heading "Final Answer" without a colon: the next line states the answer, text and all
        ("Italy's capital is Rome.\n\n## Final Answer\n**C. Rome**", CITIES, "right"),
        ("Italy's capital is Rome.\n\n## Final Answer\n**C. Berlin**", CITIES, "wrong"),
        ("Italy's capital is Rome.\n\n**Final Answer**\n\nD", CITIES, "wrong"),
        # a correction that ends on one letter
        ("The answer is (C) ... wait, actually D.", PRIMES, "right"),
        ("The answer is (C) ... wait, actually D.", {**PRIMES, "answer": "C"}, "wrong"),
        ("The answer is (C). Hmm, no, it should be (D).", PRIMES, "right"),
        ("Answer: (C) \u2014 wait, no: (D)", PRIMES, "right"),
        ("So C. No wait, D.", PRIMES, "right"),
        ("So C. No wait, D.", {**PRIMES, "answer": "C"}, "wrong"),
        ("The answer is D. Wait, no.", PRIMES, "right"),
        # "my choice is", a verb at the start of a sentence, a letter in quotes
        ("My choice is C.", WAVES, "right"),
        ("Select option C.", WAVES, "right"),
        ("Choose C.", {**WAVES, "answer": "B"}, "wrong"),
        ('The answer is "C".', WAVES, "right"),
        ("The answer is \u201cC\u201d.", WAVES, "right"),
        ('The answer is "B".', WAVES, "wrong"),
        # Japanese and Korean answer heads
        ("したがって、答えは C です。", WAVES, "right"),
        ("따라서 정답은 C입니다.", WAVES, "right"),
        ("따라서 정답은 B입니다.", WAVES, "wrong"),
        # a choice verb followed by a word that goes on with the sentence
        ("The answer is A.\n\nActually, I choose C after rethinking.", WAVES, "right"),
        ("I'd go with C instead.", {**WAVES, "answer": "A"}, "wrong"),
        # an option text with parentheses still matches exactly, not as a remark
        ("Answer: Na (sodium)", NA, "right"),
        ("Answer: Na", NA, "wrong"),
    ],
)
def test_choice_statement_forms(response: str, gold: dict, reason: str) -> None:
    letters = "ABCD"
    assert run("choice", response, gold, letters=letters).reason == reason


MELD = {
    "letters": True,
    "labels": ["neutral", "joy", "surprise", "anger", "sadness", "disgust", "fear"],
    "families": {k: k for k in ["neutral", "joy", "surprise", "anger", "sadness", "disgust", "fear"]},
}


@pytest.mark.parametrize(
    ("response", "gold", "reason"),
    [
        ("The speaker sounds anxious about the interview.", "fear", "right"),
        ("Answer: worried", "fear", "right"),
        ("Answer: disappointed", "sadness", "right"),
        ("Answer: disappointed", "anger", "wrong"),
        ("The emotion is exasperation.", "anger", "right"),
        ("Answer: thrilled", "joy", "right"),
        ("Answer: disbelief", "surprise", "right"),
    ],
)
def test_plain_emotion_words_name_their_label(response: str, gold: str, reason: str) -> None:
    assert run("label", response, gold, **MELD).reason == reason


def test_the_emotion_families_share_no_word() -> None:
    from graders.emotion_words import EMOTION_WORDS

    owners: dict[str, str] = {}
    for family, words in EMOTION_WORDS.items():
        for word in words:
            assert owners.setdefault(word, family) == family, f"{word!r} in {owners[word]!r} and {family!r}"


@pytest.mark.parametrize(
    ("response", "reason"),
    [
        ("Primary emotion: joy (with a hint of surprise)", "right"),
        ("Answer: joy (mostly; she laughs)", "right"),
        ("Answer: surprise (with some joy)", "wrong"),
        # a parenthetical that offers an alternative is part of the answer: a hedge
        ("Answer: joy (or surprise)", "wrong"),
        ("Answer: joy (possibly surprise)", "wrong"),
        ("Answer: joy (and surprise)", "wrong"),
    ],
)
def test_a_parenthetical_remark_is_not_a_hedge(response: str, reason: str) -> None:
    assert run("label", response, "joy", **MELD).reason == reason


@pytest.mark.parametrize(
    ("response", "gold", "reason"),
    [
        ("So the answer is (B). Wait, actually it's (C).", "(C)", "right"),
        ("So the answer is (B). Wait, actually it's (C).", "(B)", "wrong"),
        ("not ( True ) = False. So the answer is False. Hmm, no, it's True.", "True", "right"),
        # a remark after the answer is not a correction: only one word, letter or number is
        ("So the answer is True. Hmm, it's a tricky one.", "True", "right"),
        ("So the answer is True. Wait, it's not that simple, but yes.", "True", "right"),
        ("So the answer is True. No, it's not.\n\nHmm, it's fine.", "True", "right"),
        ("So the answer is (B). Hmm, it's correct.", "(B)", "right"),
    ],
)
def test_bbh_self_correction(response: str, gold: str, reason: str) -> None:
    choices = ["x1", "x2", "x3"] if gold.startswith("(") else None
    result = run("exact", response, {"answer": gold, "choices": choices}, ignore_whitespace=True, words=True)
    assert result.reason == reason, result


@pytest.mark.parametrize(
    ("response", "gold", "reason"),
    [
        ("Answer: $5.3B", 5300, "right"),  # a table in millions
        ("Revenue was $5.3M.\n\nAnswer: $5.3M", 5300000, "right"),
        ("Answer: 450K", 450, "right"),
        ("Answer: $3.1 bn", 3100, "right"),
        ("Answer: $5.3B", 5.2, "wrong"),
        ("Answer: 5 m", 5000, "wrong"),  # a lower-case m is not "million"
    ],
)
def test_finqa_scale_abbreviations(response: str, gold: float, reason: str) -> None:
    assert run("numeric", response, gold, rel_tol=0.01).reason == reason


@pytest.mark.parametrize(
    ("response", "gold", "reason"),
    [
        ("The angle measures \\boxed{30°}.", "30", "right"),
        ("The angle measures \\boxed{30°}.", "30^\\circ", "right"),
        ("The angle measures \\boxed{60°}.", "30", "wrong"),
        ("计算可得共有 12 种方法。\n\n因此，答案是 12。", "12", "right"),
        ("Por lo tanto, la respuesta es 12.", "12", "right"),
        ("Par conséquent, la réponse est 13.", "12", "wrong"),
        ("The answer is:\n$$\n\\frac{1}{2}\n$$", "\\frac{1}{2}", "right"),
        ("The answer is:\n\\[\n\\frac{1}{3}\n\\]", "\\frac{1}{2}", "wrong"),
        ("<think>\nIt is 7.\n</think>\n\nThe smallest such integer is 7.", "7", "right"),
        ("The smallest such integer is **8**.", "7", "wrong"),
        ("So $m+n = 116$.\n\n#### 116", "116", "right"),
        ("There are twelve ways.\n\nAnswer: twelve", "12", "right"),
        ("There are eleven ways.\n\nAnswer: eleven", "12", "wrong"),
    ],
)
def test_math_closing_forms(response: str, gold: str, reason: str) -> None:
    assert run("math", response, gold).reason == reason


def test_math_answer_phrase_with_a_cut_off_box_is_truncated() -> None:
    cut = "So the final answer is $\\boxed{1"
    assert run("math", cut, "12", finish_reason="length").reason == "truncated"
    assert run("math", cut, "1", finish_reason="length").reason == "truncated"


@pytest.mark.parametrize(
    ("response", "gold", "reason"),
    [
        ("CONCLUSION:\nZoey \u2192 knave\nOliver \u2192 knight", {"Zoey": "knave", "Oliver": "knight"}, "right"),
        ("CONCLUSION:\nZoey -> knight\nOliver -> knave", {"Zoey": "knave", "Oliver": "knight"}, "wrong"),
        ("CONCLUSION: Neither Zoey nor Oliver is a knight.", {"Zoey": "knave", "Oliver": "knave"}, "right"),
        ("CONCLUSION: Neither Zoey nor Oliver is a knight.", {"Zoey": "knave", "Oliver": "knight"}, "wrong"),
        ("CONCLUSION: Neither Zoey nor Oliver is a knave.", {"Zoey": "knight", "Oliver": "knight"}, "right"),
    ],
)
def test_knights_knaves_arrows_and_neither(response: str, gold: dict, reason: str) -> None:
    assert run("knights_knaves", response, gold).reason == reason


@pytest.mark.parametrize(
    ("response", "gold", "reason"),
    [
        # a conditional aside after the answer the model stands by is not its answer
        ("Answer: C\n\nNote: if the question meant Germany's capital, the answer would be D.", CITIES, "right"),
        ("Answer: C\n\nNote: if the question meant Germany's capital, the answer would be D.",
         {**CITIES, "answer": "D"}, "wrong"),
        ("The answer is C. It would be D if we counted Berlin.", {**CITIES, "answer": "D"}, "wrong"),
        ("Answer: C\n\nIf the question meant Germany, it would be D.", {**CITIES, "answer": "D"}, "wrong"),
        # with no answer before it, or after a retracted one, a conditional conclusion is the answer
        ("Therefore, if we follow the rule, the answer would be C.", CITIES, "right"),
        ("The answer is B. Wait, if we reconsider the second clue, the answer would be C.", CITIES, "right"),
        ("The answer is B. Wait, if we reconsider the second clue, it would be C.", CITIES, "right"),
    ],
)
def test_a_conditional_aside_after_the_answer_is_not_the_answer(response: str, gold: dict, reason: str) -> None:
    assert run("choice", response, gold).reason == reason


def test_a_conditional_aside_in_finqa_and_bbh() -> None:
    aside = "Answer: 5.3%\n\nIf the 2018 figure were used instead, the answer would be 6.1%."
    assert run("numeric", aside, 5.3).reason == "right"
    assert run("numeric", aside, 6.1).reason == "wrong"
    bbh = "So the answer is Yes. If Jim told the truth, the answer would be No."
    assert run("exact", bbh, "Yes").reason == "right"


@pytest.mark.parametrize(
    ("grader", "response", "gold", "reason"),
    [
        ("math", "<think>\nx = 5\n</think>\n<answer>5</answer>", "5", "right"),
        ("math", "<answer>x = 5</answer>", "5", "right"),
        ("math", "<answer>6</answer>", "5", "wrong"),
        ("exact", "<think>not True is False</think>\n<answer>False</answer>", "False", "right"),
        ("exact", "So the answer is False.\n<answer>True</answer>", "False", "wrong"),
        ("numeric", "<answer>\n12.5%\n</answer>", 12.5, "right"),
        ("choice", "<reasoning>Rome. Maybe B? No.</reasoning>\n<answer>C</answer>", CITIES, "right"),
    ],
)
def test_an_answer_element_states_the_answer(grader: str, response: str, gold: object, reason: str) -> None:
    assert run(grader, response, gold).reason == reason


@pytest.mark.parametrize(
    "response",
    ["Rome is the capital of Italy.\n\n**B) Rome**", "Rome is the capital of Italy.\n\nB) Rome",
     "Rome is the capital of Italy.\n\n**B**: Rome"],  # fmt: skip
)
def test_a_loose_letter_whose_text_is_another_option_contradicts_itself(response: str) -> None:
    """No answer statement, so the loose signals decide; a letter followed by another option's text is still
    a contradiction (wrong whichever of the two is gold), as it is in a statement."""
    for gold in ("B", "C"):
        result = run("choice", response, {**CITIES, "answer": gold})
        assert result.reason == "wrong" and result.extracted == "B but text of C", result
    assert run("choice", "Rome is the capital of Italy.\n\n**C) Rome**", CITIES).reason == "right"


@pytest.mark.parametrize(
    ("grader", "response", "gold"),
    [
        ("choice", "The answers are \\boxed{B} and \\boxed{C}.", CITIES),
        ("choice", "\\boxed{B}, \\boxed{C}", CITIES),
        ("choice", "Answer: $\\boxed{B}$ or $\\boxed{C}$", CITIES),
        ("exact", "So the answer is \\boxed{True} or \\boxed{False}.", "False"),
        ("numeric", "The change is \\boxed{5} or \\boxed{6}.", 6),
    ],
)
def test_boxes_listed_together_are_one_hedged_answer(grader: str, response: str, gold: object) -> None:
    assert run(grader, response, gold).reason == "wrong"


def test_a_later_box_on_its_own_is_a_new_answer() -> None:
    assert run("choice", "First I thought \\boxed{B}.\n\nBut then: \\boxed{C}", CITIES).reason == "right"


@pytest.mark.parametrize(
    ("response", "gold", "reason"),
    [
        # no answer statement: the closing line's one number, opening verdict, or labelled value
        ("Piano, flute, drum, ... I count 8 objects in total.", "8", "right"),
        ("There are 9 objects.", "8", "wrong"),
        ("I have 3 apples and 5 pears.", "8", "wrong"),  # two numbers: no one value
        ("So, yes, Ka tells the truth.", "Yes", "right"),
        ("So, no, Ka lies.", "Yes", "wrong"),
        ("Sorted: apple banana cherry", "apple banana cherry", "right"),
        ("Sorted: banana apple cherry", "apple banana cherry", "wrong"),
    ],
)
def test_bbh_closing_line_without_a_statement(response: str, gold: str, reason: str) -> None:
    assert run("exact", response, gold, ignore_whitespace=True, words=True).reason == reason


@pytest.mark.parametrize(
    ("grader", "response", "gold"),
    [
        ("choice", "So the answer is likely B, but let me verify by checking the", {**CITIES, "answer": "B"}),
        ("numeric", "So the answer is probably 12.5%, but let me recheck the base year", 12.5),
        ("exact", "So the answer is probably True, but let me check the second clause", "True"),
    ],
)
def test_a_cut_off_answer_that_goes_on_to_check_itself_is_not_final(grader: str, response: str, gold: object) -> None:
    assert run(grader, response, gold, finish_reason="length").reason == "truncated"


def test_a_confidence_adverb_is_not_part_of_an_exact_answer() -> None:
    assert run("exact", "So the answer is probably True.", "True").reason == "right"
    assert run("exact", "So the answer is clearly 8.", "8").reason == "right"
    assert run("exact", "So the answer is clearly 9.", "8").reason == "wrong"


STEPS = {"answer": "B", "choices": ["Observation", "Intravenous antibiotics", "Surgery", "MRI of the spine"]}


@pytest.mark.parametrize(
    ("response", "finish_reason", "reason"),
    [
        ("Fever and an abscess: the most appropriate next step is B.", "stop", "right"),
        ("Fever and an abscess: the most appropriate next step is C.", "stop", "wrong"),
        # the letter's text is another option's: a contradiction, not the option the text names
        ("The most appropriate next step is C. Intravenous antibiotics.", "stop", "wrong"),
        ("The most appropriate next step is B. Intravenous antibiotics.", "stop", "right"),
        # cut off while revising it: not final
        ("So the next step is B. Wait, let me reconsider whether surgery", "length", "truncated"),
    ],
)
def test_a_verdict_naming_a_letter(response: str, finish_reason: str, reason: str) -> None:
    assert run("choice", response, STEPS, finish_reason=finish_reason).reason == reason


@pytest.mark.parametrize(
    ("grader", "response", "gold", "reason"),
    [
        # a closing line that declines is no answer, whatever numbers the reply quoted before it
        ("numeric", "Revenue was 1,200 in 2019, but 2020 is missing, so I cannot compute the growth rate.", 1200,
         "no_answer"),
        ("numeric", "Revenue was 1,200 in 2019.\n\nThe table does not provide enough data for 2020.", 1200, "no_answer"),
        ("exact", "Premise 2 is ambiguous, so I cannot determine whether the argument is valid.", "valid", "no_answer"),
        # without a statement, the last number that is not a year
        ("numeric", "Revenue grew 14.3% in 2020.\n\nThis shows strong growth.", 14.3, "right"),
        ("numeric", "Revenue grew 14.3% in 2020.\n\nThis shows strong growth.", 2020, "wrong"),
        # a box that holds the whole sentence
        ("math", "$\\boxed{\\text{The answer is } 5}$", "5", "right"),
        ("math", "$\\boxed{\\text{The answer is } 6}$", "5", "wrong"),
    ],
)
def test_declined_answers_and_closing_numbers(grader: str, response: str, gold: object, reason: str) -> None:
    assert run(grader, response, gold).reason == reason


@pytest.mark.parametrize(
    ("response", "gold"),
    [
        ("Growth = (1,264 - 1,200) / 1,200 = 5.3%\n\nAnswer: N/A", 5.3),
        ("Growth = (1,264 - 1,200) / 1,200 = 5.3%\n\nAnswer: $NUMBER", 5.3),
        ("Growth = 5.3%\n\n**Answer:** not applicable", 5.3),
        ("Yes, it rose.\n\nAnswer: N/A", "yes"),
    ],
)
def test_finqa_answer_line_without_a_number_is_no_answer(response: str, gold: object) -> None:
    """As for choice: the reply ends on the asked-for "Answer: X" line and X is no number, so a number its
    reasoning computed is not what it answered."""
    assert run("numeric", response, gold).reason == "no_answer"
    assert run("numeric", response.rsplit("\n", 1)[0] + "\nAnswer: 5.3%", 5.3).reason == "right"


def test_a_range_is_a_hedge_and_quotes_are_not_part_of_an_exact_answer() -> None:
    assert run("numeric", "Answer: 3.2-3.5", 3.2).reason == "wrong"
    assert run("numeric", "Answer: 3.2 \u2013 3.5", 3.5).reason == "wrong"
    assert run("numeric", "Answer: 5.3 - 2.1 = 3.2", 3.2).reason == "right"  # a subtraction, worked out
    assert run("numeric", "Answer: 5% (2019-2020)", 5).reason == "right"  # years, not a range of answers
    bbh = {"answer": "apple banana"}
    assert run("exact", 'So the answer is "apple banana".', bbh, words=True).reason == "right"
    assert run("exact", "So the answer is \u201capple banana\u201d.", bbh, words=True).reason == "right"
    assert run("exact", 'So the answer is "banana apple".', bbh, words=True).reason == "wrong"


@pytest.mark.parametrize(
    ("response", "gold", "reason"),
    [
        # a "Final Answer" heading over a closing sentence: the sentence is read as a closing line is
        ("not True = False.\n\n**Final Answer**\nThe expression evaluates to False.", "False", "right"),
        ("**Final Answer**\nThere are 8 objects.", "8", "right"),
        ("## Final Answer\napple banana cherry", "apple banana cherry", "right"),
        ("## Final Answer\nThe expression evaluates to True.", "False", "wrong"),
    ],
)
def test_bbh_final_answer_heading(response: str, gold: str, reason: str) -> None:
    assert run("exact", response, gold, ignore_whitespace=True, words=True).reason == reason
