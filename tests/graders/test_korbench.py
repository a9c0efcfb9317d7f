"""KOR-Bench grading (graders/korbench.py): the official evaluation's per-category and per-rule checks, read
from the official repository's eval/eval_utils.py, plus the final-answer reading our prompt calls for."""

from __future__ import annotations

import pytest

from tests.graders.helpers import run


def kor(response: str, answer: str, category: str, rule_id: str = "1", idx: str = "1", finish_reason="stop"):
    gold = {"answer": answer, "category": category, "rule_id": rule_id, "idx": idx}
    return run("korbench", response, gold, finish_reason=finish_reason)


def test_the_last_double_bracket_answer_is_read() -> None:
    text = "The format is [[your answer]]. Trying O: shift gives [[M]]? No, recount.\nThe answer is [[N]]."
    assert kor(text, "[[N]]", "cipher").reason == "right"
    assert kor("The answer is [[M]].", "[[N]]", "cipher").reason == "wrong"


def test_boxed_and_single_bracket_fallbacks() -> None:
    assert kor("So the ciphertext is $\\boxed{N}$.", "[[N]]", "cipher").reason == "right"
    assert kor("Applying the rule ... \\boxed{N}", "[[N]]", "cipher").reason == "right"
    assert kor("The answer is [N].", "[[N]]", "cipher").reason == "right"
    assert kor("The encrypted letter is N.", "[[N]]", "cipher").reason == "no_answer"


def test_multi_line_answers_compare_without_whitespace() -> None:
    gold = "[[PUCCINI (4,13)(10,13)\nCHOPIN (6,1)(11,1)\nRAVEL (6,6)(10,6)]]"
    text = "Found them all.\n[[PUCCINI (4,13)(10,13)\nCHOPIN (6,1)(11,1)\nRAVEL (6,6)(10,6)]]"
    assert kor(text, gold, "puzzle", rule_id="8").reason == "right"
    one_line = "The answer is [[PUCCINI (4,13)(10,13) CHOPIN (6,1)(11,1) RAVEL (6,6)(10,6)]]"
    assert kor(one_line, gold, "puzzle", rule_id="8").reason == "right"


def test_or_lists_in_any_order() -> None:
    assert kor("The answer is [[4or3]].", "[[3or4]]", "operation", rule_id="4", idx="36").reason == "right"
    assert kor("The answer is [[4 or 3]].", "[[3or4]]", "operation", rule_id="4", idx="36").reason == "right"
    assert kor("The answer is [[3]].", "[[3or4]]", "operation", rule_id="4", idx="36").reason == "wrong"


def test_any_valid_24_game_expression() -> None:
    gold = "[[(9+5-2)×2]]"
    assert kor("The answer is [[2*(9+5-2)]].", gold, "puzzle", rule_id="10").reason == "right"
    assert kor("The answer is [[(9 - 2 + 5) × 2 = 24]].", gold, "puzzle", rule_id="10").reason == "right"
    assert kor("The answer is [[9*2+5+2]].", gold, "puzzle", rule_id="10").reason == "wrong"  # 25
    assert (
        kor("The answer is [[(9+5-2)*2*1]].", gold, "puzzle", rule_id="10").reason == "wrong"
    )  # extra number


def test_any_valid_fill_of_the_operator_template() -> None:
    gold = "[[6+2*3-2=10]]"
    assert kor("[[4+1*8-2=10]]", gold, "puzzle", rule_id="9").reason == "right"
    assert kor("[[4*1+8-2=10]]", gold, "puzzle", rule_id="9").reason == "wrong"  # operators differ
    assert kor("[[4+1*8-1=10]]", gold, "puzzle", rule_id="9").reason == "wrong"  # 11


def test_reordered_letter_assignments() -> None:
    gold = "[[S=9,E=5,N=6,D=7,M=1,O=0,R=8,Y=2]]"
    text = "The answer is [[M=1, O=0, S=9, E=5, N=6, D=7, R=8, Y=2]]"
    assert kor(text, gold, "puzzle", rule_id="5").reason == "right"
    assert kor(text.replace("Y=2", "Y=3"), gold, "puzzle", rule_id="5").reason == "wrong"


def test_word_puzzles_accept_any_listed_alternative() -> None:
    assert kor("[[pepla]]", "[[appel pepla]]", "puzzle", rule_id="4").reason == "right"
    assert kor("[[app]]", "[[appel pepla]]", "puzzle", rule_id="4").reason == "wrong"
    assert kor("[[tal]]", "[[t,tal]]", "puzzle", rule_id="2").reason == "right"
    assert kor("[[ape pea]]", "[[pea ape]]", "puzzle", rule_id="3").reason == "right"
    assert (
        kor("[[Nine Ten nine eight ten]]", "[[nine ten nine eight ten]]", "puzzle", rule_id="1").reason
        == "right"
    )


def test_logic_rule_5_parts_in_any_order() -> None:
    gold = "[[I,O];[+,-];[-,+]]"
    assert kor("The answer is [[[+,-]; [I,O]; [-,+]]]", gold, "logic", rule_id="5").reason == "right"
    assert kor("The answer is [[[I,O];[+,-];[+,-]]]", gold, "logic", rule_id="5").reason == "wrong"


def test_operation_math_items_compare_as_math() -> None:
    assert kor("[[\\sqrt{44}]]", "[[2\\sqrt{11}]]", "operation", rule_id="8", idx="73").reason == "right"
    assert kor("[[x = 2+i]]", "[[2+i]]", "operation", rule_id="13", idx="122").reason == "right"
    assert (
        kor(
            "[[-6-\\sqrt{22} or -6+\\sqrt{22}]]",
            "[[-6+\\sqrt{22}or-6-\\sqrt{22}]]",
            "operation",
            rule_id="2",
            idx="18",
        ).reason
        == "right"
    )
    assert kor("[[2\\sqrt{12}]]", "[[2\\sqrt{11}]]", "operation", rule_id="8", idx="73").reason == "wrong"


def test_operation_sets_matrices_and_inequalities() -> None:
    assert kor("[[{5,4,2,1}]]", "[[{1,2,4,5}]]", "operation", rule_id="18", idx="171").reason == "right"
    assert kor("[[{12,45}]]", "[[{1,2,4,5}]]", "operation", rule_id="18", idx="171").reason == "wrong"
    assert (
        kor("[[((1,2),(9,64))]]", "[[((1,2),(9,64))]]", "operation", rule_id="23", idx="221").reason
        == "right"
    )
    assert (
        kor("[[((1,-2),(9,64))]]", "[[((1,2),(9,64))]]", "operation", rule_id="23", idx="221").reason
        == "wrong"
    )
    assert (
        kor("[[{x | x ≥ 1 or x ≤ 0}]]", "[[{x∣x≤0 or x≥1}]]", "operation", rule_id="18", idx="178").reason
        == "right"
    )


def test_default_rule_is_exact_after_cleaning() -> None:
    assert kor('The answer is [["C"]]', "[[C]]", "counterfactual").reason == "right"
    assert kor("The answer is [[D]]", "[[C]]", "counterfactual").reason == "wrong"


def test_cut_off_and_reasoning_blocks() -> None:
    assert kor("Let me try [[M]] first and", "[[N]]", "cipher", finish_reason="length").reason == "truncated"
    assert kor("<think>maybe [[M]]</think>\nThe answer is [[N]].", "[[N]]", "cipher").reason == "right"


@pytest.mark.parametrize("missing", ["category", "rule_id"])
def test_gold_needs_category_and_rule(missing: str) -> None:
    from graders import GraderConfigError

    gold = {"answer": "[[N]]", "category": "cipher", "rule_id": "1", "idx": "1"}
    del gold[missing]
    with pytest.raises(GraderConfigError):
        run("korbench", "[[N]]", gold)


def test_a_restated_format_placeholder_is_not_the_answer() -> None:
    text = "The answer is [[N]].\n(Formatted as requested: [[encrypted answer]].)"
    assert kor(text, "[[N]]", "cipher").reason == "right"


def test_a_box_after_the_last_bracket_is_the_final_answer() -> None:
    assert kor(
        "Shifting three places gives [[M]]; the rule says four, so N.\n\n$\\boxed{N}$", "[[N]]", "cipher"
    ).correct
    assert not kor(
        "\\boxed{M} at first, but the rule says otherwise.\nThe answer is [[N]]", "[[M]]", "cipher"
    ).correct


def test_a_made_up_next_exemplar_after_the_answer_is_not_read() -> None:
    text = (
        '[[N]]\n\n### Question:\nPlaintext: "B"\n\nPlease provide the encrypted answer.\n\n### Answer:\n[[Y]]'
    )
    assert kor(text, "[[N]]", "cipher").reason == "right"
