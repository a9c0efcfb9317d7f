"""RouterBench wide tables in the variants the public releases have: the HF pickle, a CSV saved with
its pandas index (RouterDC's ``datasets/routerbench_zs``), a train/test folder, NaN cells, and bad
columns. The rows are made up; only the column names and value shapes follow the releases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from results.store import ResultsStore
from router.importers import ImportFormatError, import_routerbench
from router.runs import open_table
from router.scoring import ScoreBook
from tests.router.helpers import route_import_cli

MODELS = ["gpt-4-1106-preview", "meta/llama-2-70b-chat"]


def _frame(rows):
    """rows: (sample_id, prompt, eval_name, {model: (score, cost)})"""
    records = []
    for sample_id, prompt, eval_name, cells in rows:
        record = {"sample_id": sample_id, "prompt": prompt, "eval_name": eval_name}
        for m in MODELS:
            score, cost = cells.get(m, (np.nan, np.nan))
            record[m] = score
            record[f"{m}|model_response"] = "['answer']" if not np.isnan(score) else np.nan
            record[f"{m}|total_cost"] = cost
        record["oracle_model_to_route_to"] = MODELS[0]
        records.append(record)
    return pd.DataFrame(records)


ROWS = [
    (
        "mbpp.dev.1",
        "['Write a function that adds two numbers.']",
        "mbpp",
        {MODELS[0]: (1.0, 8e-5), MODELS[1]: (0.0, 2e-5)},
    ),
    (
        "mtbench.0",
        "['Write a poem.', 'Now shorten it.']",
        "mtbench",
        {MODELS[0]: (0.9, 0.01), MODELS[1]: (0.35, 0.002)},
    ),
    # arc-challenge rows of the 5-shot release with NaN for some models, and one with no score at all
    ("arc-challenge.val.7", "['Which gas do plants take in?']", "arc-challenge", {MODELS[1]: (1.0, 1e-4)}),
    ("arc-challenge.val.8", "['Which planet is red?']", "arc-challenge", {}),
]


def test_released_pickle_keeps_fractional_scores_costs_and_counts_blank_cells(tmp_path):
    _frame(ROWS).to_pickle(tmp_path / "routerbench_5shot.pkl")
    with ResultsStore(tmp_path / "run") as store:
        summary = import_routerbench(tmp_path / "routerbench_5shot.pkl", store)
    assert summary.tasks == {"mbpp": 1, "mtbench": 1, "arc-challenge": 1}
    assert summary.samples == 5 and summary.costs == 5
    assert any("3 blank score cells" in n for n in summary.notes)
    assert any("1 rows with no score" in n and "arc-challenge.val.8" in n for n in summary.notes)
    assert any("oracle_model_to_route_to" in n for n in summary.notes)
    table, split = open_table(tmp_path / "run")
    assert split is None
    book = ScoreBook(table)
    mt = table.index[("mtbench", "mtbench.0")]
    assert table.queries[mt] == "Write a poem.\n\nNow shorten it."
    assert book.mean[mt, table.models.index(MODELS[1])] == pytest.approx(0.35)
    cell = table.cells[mt][table.models.index(MODELS[0])]
    assert [s.cost for s in cell] == [pytest.approx(0.01)]
    arc = table.index[("arc-challenge", "arc-challenge.val.7")]
    assert table.cells[arc][table.models.index(MODELS[0])] == []


def test_csv_saved_with_its_index_and_a_train_test_folder_through_the_cli(tmp_path):
    folder = tmp_path / "routerbench_zs"
    folder.mkdir()
    frame = _frame(ROWS[:3])
    frame.iloc[[0, 2]].to_csv(folder / "arc_mbpp_train.csv")  # index saved: header starts with ","
    frame.iloc[[1]].to_csv(folder / "mtbench_test.csv")
    assert (folder / "mtbench_test.csv").read_text().startswith(",sample_id,prompt")
    run = tmp_path / "run"
    summary = route_import_cli("routerbench", run, folder)
    assert summary["split_recorded"] and summary["samples"] == 5
    assert any("Unnamed: 0" in n for n in summary["notes"])
    _, split = open_table(run)
    assert split.test == {("mtbench", "mtbench.0")}
    assert split.calibration == {("mbpp", "mbpp.dev.1"), ("arc-challenge", "arc-challenge.val.7")}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f.assign(difficulty=1), "unknown column.*'difficulty'"),
        (lambda f: f.assign(**{MODELS[1]: np.nan}), "no scores at all: meta/llama-2-70b-chat"),
        (lambda f: f.drop(columns=[MODELS[1]]), "without a score column: meta/llama-2-70b-chat"),
        (lambda f: f.assign(prompt=[np.nan, "['q']", "['r']", "['s']"]), r"row 0 .*no query"),
        (lambda f: f.drop(columns=["eval_name"]), "missing column.*eval_name"),
        (lambda f: f.assign(**{f"{MODELS[0]}|total_cost": "cheap"}), r"row 0 .*\|total_cost: cost 'cheap'"),
    ],
)
def test_bad_tables_are_errors_naming_file_and_field(tmp_path, change, message):
    path = tmp_path / "bad.pkl"
    change(_frame(ROWS)).to_pickle(path)
    with (
        ResultsStore(tmp_path / "run") as store,
        pytest.raises(ImportFormatError, match=f"bad.pkl: .*{message}"),
    ):
        import_routerbench(path, store)


def test_raw_long_pickle_is_pivoted_and_a_folder_of_unsplit_tables_is_an_error(tmp_path):
    rows = [
        {
            "sample_id": "gsm8k.1",
            "prompt": "['2+2?']",
            "eval_name": "grade-school-math",
            "model_name": m,
            "performance": score,
            "cost": cost,
            "model_response": "['4']",
        }
        for m, score, cost in [(MODELS[0], 1.0, 0.003), (MODELS[1], 0.0, 0.0004)]
    ]
    folder = tmp_path / "hf"
    folder.mkdir()
    pd.DataFrame(rows).to_pickle(folder / "routerbench_raw.pkl")
    with ResultsStore(tmp_path / "run") as store:
        summary = import_routerbench(folder / "routerbench_raw.pkl", store)
    assert summary.samples == 2 and summary.costs == 2
    table, _ = open_table(tmp_path / "run")
    row = table.index[("grade-school-math", "gsm8k.1")]
    assert table.categories["grade-school-math"] == "math"
    assert [s.cost for s in table.cells[row][table.models.index(MODELS[1])]] == [pytest.approx(0.0004)]
    pd.DataFrame(rows + rows[:1]).to_pickle(tmp_path / "dup.pkl")
    with (
        ResultsStore(tmp_path / "run2") as store,
        pytest.raises(ImportFormatError, match=r"dup.pkl: row 2: .*repeated"),
    ):
        import_routerbench(tmp_path / "dup.pkl", store)
    _frame(ROWS).to_pickle(folder / "routerbench_0shot.pkl")
    with ResultsStore(tmp_path / "run3") as store, pytest.raises(ImportFormatError, match="several tables"):
        import_routerbench(folder, store)
