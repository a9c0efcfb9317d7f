"""The preprocess functions of this part's task files (tasks/custom/livemathbench.py, finqa.py)."""

from __future__ import annotations

import pytest

from harness.task_data import PreprocessContext, TaskDataError
from tasks.custom.finqa import render_table, report_context
from tasks.custom.livemathbench import clean_answer, with_options

CTX = PreprocessContext(task="t", part="p", data_dir=None, origin="test")


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("$2$", "2"),
        ("$$x+1$$", "x+1"),
        ("sampling survey", "sampling survey"),
        ("$3+4i.$", "3+4i"),
        ("3.", "3."),
        ("$-\\frac{1}{3}$", "-\\frac{1}{3}"),
    ],
)
def test_livemathbench_answers(raw, clean):
    assert clean_answer(raw) == clean


def test_livemathbench_options_are_appended_as_letters():
    rows = [
        {
            "question": "Pick one.",
            "options": ["1", "2", "3"],
            "answer": "B",
            "question_type": "multiple-choice",
        },
        {"question": "Solve.", "options": [], "answer": "$5$", "question_type": "problem-solving"},
    ]
    first, second = with_options(rows, CTX)
    assert first["question"] == "Pick one.\n\nA. 1\nB. 2\nC. 3" and first["answer"] == "B"
    assert second["question"] == "Solve." and second["answer"] == "5"


def test_finqa_context_and_errors():
    assert render_table([["", "2019"], ["a", " 1 "]]) == " | 2019\na | 1"
    row = {
        "id": "x",
        "pre_text": ["before .", "."],
        "post_text": [],
        "table": [["h"], ["v"]],
        "qa": {"question": " q? ", "exe_ans": 1.5},
    }
    [out] = report_context([row], CTX)
    assert out == {"id": "x", "question": "q?", "answer": 1.5, "context": "before .\n\nh\nv"}
    with pytest.raises(TaskDataError, match="expected a `qa` object"):
        report_context([{"id": "y"}], CTX)
