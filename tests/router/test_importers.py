"""`route import`: RouterDC folders and long-format tables into a real SQLite results store."""

from __future__ import annotations

import json

import pytest

from results.store import ResultsStore
from router.importers import ImportFormatError, detect_score_kind, import_long, import_routerdc
from router.runs import open_table
from router.scoring import ScoreBook


def _write(path, rows):
    path.write_text(json.dumps(rows), encoding="utf-8")


@pytest.fixture
def routerdc_folder(tmp_path):
    folder = tmp_path / "rdc"
    folder.mkdir()
    # multiple choice: gold-option probabilities when right, 0 when wrong
    _write(
        folder / "quiz_train.json",
        [
            {"question": "Q1?", "scores": {"m1": 0.83, "m2": 0}, "cluster_id": 3},
            {"question": "Q2?", "scores": {"m1": 0, "m2": 0.51}},
        ],
    )
    _write(folder / "quiz_test.json", [{"question": "Q3?", "scores": {"m1": 0.97, "m2": 0.4}}])
    # generation: fraction of 10 samples
    _write(folder / "gsm8k-train.json", [{"question": "How many?", "scores": {"m1": 0.3, "m2": 1.0}}])
    _write(folder / "gsm8k-test.json", [{"question": "How much?", "scores": {"m1": 0.0, "m2": 0.7}}])
    (folder / "README.md").write_text("not a table")
    return folder


def test_routerdc_import_scores_split_and_categories(tmp_path, routerdc_folder):
    run = tmp_path / "run"
    with ResultsStore(run) as store:
        summary = import_routerdc(routerdc_folder, store)
    assert summary.tasks == {"gsm8k": 2, "quiz": 3}
    assert summary.score_kinds == {"gsm8k": "fraction", "quiz": "mc"}
    assert summary.models == ["m1", "m2"] and summary.samples == 10
    table, split = open_table(run)
    assert table.categories["gsm8k"] == "math"
    book = ScoreBook(table)
    m1, m2 = table.models.index("m1"), table.models.index("m2")
    q3 = table.index[("quiz", "test-00000")]
    assert (book.mean[q3, m1], book.mean[q3, m2]) == (1.0, 1.0)  # MC: correct = score > 0
    gsm_test = table.index[("gsm8k", "test-00000")]
    assert book.mean[gsm_test, m2] == pytest.approx(0.7)  # fraction kept as expected correctness
    assert split is not None and split.source == "routerdc"
    assert split.calibration == {("quiz", "train-00000"), ("quiz", "train-00001"), ("gsm8k", "train-00000")}
    assert split.test == {("quiz", "test-00000"), ("gsm8k", "test-00000")}


def test_routerdc_overrides_and_ood(tmp_path, routerdc_folder):
    with ResultsStore(tmp_path / "run") as store:
        summary = import_routerdc(routerdc_folder, store, score_kinds={"gsm8k": "mc"}, ood_tasks={"quiz"})
    assert summary.score_kinds["gsm8k"] == "mc"
    table, split = open_table(tmp_path / "run")
    assert table.ood_tasks == {"quiz"}
    assert not any(task == "quiz" for task, _ in split.calibration)
    book = ScoreBook(table)
    assert book.mean[table.index[("gsm8k", "train-00000")], table.models.index("m1")] == 1.0


def test_routerdc_errors_name_the_file_and_entry(tmp_path):
    folder = tmp_path / "bad"
    folder.mkdir()
    _write(folder / "x_train.json", [{"question": "ok", "scores": {"m": 0.5}}, {"question": "no scores"}])
    with (
        ResultsStore(tmp_path / "run") as store,
        pytest.raises(ImportFormatError, match=r"x_train.json: entry 1"),
    ):
        import_routerdc(folder, store)
    _write(folder / "x_train.json", [{"question": "ok", "scores": {"m": 1.5}}])
    with ResultsStore(tmp_path / "run") as store, pytest.raises(ImportFormatError, match="outside"):
        import_routerdc(folder, store)
    with (
        ResultsStore(tmp_path / "run") as store,
        pytest.raises(ImportFormatError, match="no .json tables found"),
    ):
        import_routerdc(tmp_path / "run", store)


def test_score_kind_detection():
    assert detect_score_kind([0.0, 0.1, 0.7, 1.0]) == "fraction"
    assert detect_score_kind([0.0, 0.8312, 1.0]) == "mc"


def test_long_csv_with_samples_answers_and_split(tmp_path):
    path = tmp_path / "table.csv"
    path.write_text(
        "task,item,query,model,sample,correct,extracted,split,category\n"
        "t,1,What?,a,0,1,42,train,logic\n"
        "t,1,What?,a,1,0,41,train,logic\n"
        "t,1,What?,a,2,1,42,train,logic\n"
        "t,2,Who?,a,0,true,,test,logic\n"
        "t,2,Who?,b,0,false,,test,logic\n",
        encoding="utf-8",
    )
    with ResultsStore(tmp_path / "run") as store:
        summary = import_long(path, store)
    assert summary.samples == 5 and summary.split_recorded
    table, split = open_table(tmp_path / "run")
    assert table.categories == {"t": "logic"}
    assert split.calibration == {("t", "1")} and split.test == {("t", "2")}
    book = ScoreBook(table)
    a = table.models.index("a")
    assert book.single[table.index[("t", "1")], a] == 1.0  # majority "42" over three samples
    assert book.mean[table.index[("t", "1")], a] == pytest.approx(2 / 3)


def test_long_jsonl_and_line_numbers_in_errors(tmp_path):
    good = tmp_path / "t.jsonl"
    good.write_text(
        json.dumps({"task": "t", "item": "1", "query": "q", "model": "m", "correct": 0.5})
        + "\n\n"
        + json.dumps({"task": "t", "item": "2", "query": "r", "model": "m", "correct": 1})
        + "\n",
        encoding="utf-8",
    )
    with ResultsStore(tmp_path / "run") as store:
        assert import_long(good, store).tasks == {"t": 2}
    bad = tmp_path / "bad.csv"
    bad.write_text("task,item,query,model,correct\nt,1,q,m,1\nt,2,q,m,maybe\n", encoding="utf-8")
    with (
        ResultsStore(tmp_path / "run2") as store,
        pytest.raises(ImportFormatError, match=r"bad.csv: line 3: correct"),
    ):
        import_long(bad, store)
    clash = tmp_path / "clash.jsonl"
    clash.write_text(
        json.dumps({"task": "t", "item": "1", "query": "q", "model": "m", "correct": 1})
        + "\n"
        + json.dumps({"task": "t", "item": "1", "query": "other", "model": "n", "correct": 1})
        + "\n",
        encoding="utf-8",
    )
    with ResultsStore(tmp_path / "run3") as store, pytest.raises(ImportFormatError, match="line 2: item t/1"):
        import_long(clash, store)
    with (
        ResultsStore(tmp_path / "run4") as store,
        pytest.raises(ImportFormatError, match=r"\.csv, .*\.parquet"),
    ):
        import_long(tmp_path / "table.xlsx", store)


@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_a_table_that_is_not_utf8_is_named_not_a_traceback(tmp_path, suffix):
    table = tmp_path / f"latin1{suffix}"
    row = '{"task": "t", "item": "1", "query": "caf\u00e9", "model": "m", "correct": 1}\n'
    header = "" if suffix == ".jsonl" else "task,item,query,model,correct\n"
    body = row if suffix == ".jsonl" else "t,1,caf\u00e9,m,1\n"
    line = 1 if suffix == ".jsonl" else 2
    table.write_bytes((header + body).encode("latin-1"))
    with (
        ResultsStore(tmp_path / "run") as store,
        pytest.raises(ImportFormatError, match=rf"latin1\{suffix}: line {line}: not UTF-8"),
    ):
        import_long(table, store)


def test_long_json_list_and_routerdc_folder_hints(tmp_path):
    rows = tmp_path / "rows.json"
    rows.write_text(
        json.dumps(
            [
                {"task": "t", "item": "1", "query": "q", "model": "m", "correct": 0.25},
                {"task": "t", "item": "2", "query": "r", "model": "m"},
            ],
            indent=2,
        ),
        encoding="utf-8",
    )
    with (
        ResultsStore(tmp_path / "run") as store,
        pytest.raises(ImportFormatError, match=r"rows.json: entry 1: correct"),
    ):
        import_long(rows, store)
    datasets = tmp_path / "datasets"
    (datasets / "split2_model7").mkdir(parents=True)
    _write(datasets / "split2_model7" / "mbpp.json", [{"question": "q", "scores": {"m": 1.0}}])
    (datasets / "gsm8k_test.csv").write_text(",sample_id,prompt,eval_name\n")
    with (
        ResultsStore(tmp_path / "run2") as store,
        pytest.raises(
            ImportFormatError, match="subfolders with .json tables: split2_model7.*--format routerbench"
        ),
    ):
        import_routerdc(datasets, store)


def test_routerdc_refuses_llmrouter_bare_train_test_files(tmp_path):
    folder = tmp_path / "dcrouter_preprocessed"
    folder.mkdir()
    _write(folder / "train.json", [{"question": "q", "scores": {"m": 1.0}}])
    with (
        ResultsStore(tmp_path / "run") as store,
        pytest.raises(ImportFormatError, match="--format llmrouter"),
    ):
        import_routerdc(folder, store)
