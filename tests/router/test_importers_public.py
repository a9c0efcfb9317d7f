"""Importers of public routing tables, each tested on small files in the official schema."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from results.store import ResultsStore
from router.importers import (
    ImportFormatError,
    import_llmrouter,
    import_llmrouterbench,
    import_long,
    import_routerbench,
    import_routerdc,
)
from router.runs import open_table
from router.scoring import ScoreBook


def _json(path, data):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), encoding="utf-8")


def _cost(table, task, item, model):
    row = table.index[(task, item)]
    return [s.cost for s in table.cells[row][table.models.index(model)]]


def test_routerdc_ood_files_are_imported_and_unknown_ood_is_an_error(tmp_path):
    folder = tmp_path / "rdc"
    _json(folder / "gsm8k-train.json", [{"question": "a?", "scores": {"m1": 0.3, "m2": 1.0}}])
    _json(folder / "gsm8k-test.json", [{"question": "b?", "scores": {"m1": 0.0, "m2": 0.7}}])
    _json(folder / "MATH_prealgebra.json", [{"question": "c?", "scores": {"m1": 0.5, "m2": 0.1}}])
    _json(folder / "mbpp.json", [{"question": "d?", "scores": {"m1": 1.0, "m2": 0.0}}])
    (folder / "notes.txt").write_text("readme")
    with ResultsStore(tmp_path / "run") as store:
        summary = import_routerdc(folder, store)
    assert summary.tasks == {"gsm8k": 2, "math_prealgebra": 1, "mbpp": 1}
    assert summary.ood_tasks == ["math_prealgebra", "mbpp"]
    assert any("notes.txt" in n for n in summary.notes)
    table, split = open_table(tmp_path / "run")
    assert table.ood_tasks == {"math_prealgebra", "mbpp"}
    assert table.categories["math_prealgebra"] == "math" and table.categories["mbpp"] == "code"
    assert ("mbpp", "test-00000") in split.test and ("gsm8k", "train-00000") in split.calibration
    with (
        ResultsStore(tmp_path / "run2") as store,
        pytest.raises(ImportFormatError, match="--ood names.*nope"),
    ):
        import_routerdc(folder, store, ood_tasks={"nope"})


def _routerbench_rows():
    header = [
        "sample_id",
        "prompt",
        "eval_name",
        "gpt-4",
        "gpt-4|total_cost",
        "gpt-4|model_response",
        "llama-70b",
        "llama-70b|total_cost",
        "oracle_model_to_route_to",
    ]
    rows = [
        ["mmlu.val.0", "['What is 2+2?']", "mmlu-math", 1.0, 0.003, "4", 0.0, 0.0009, "gpt-4"],
        # the same sample id reused under another task, and within the task with another prompt
        ["mmlu.val.0", "['Name a colour.']", "mmlu-art", 1.0, 0.002, "red", 1.0, 0.0008, "llama-70b"],
        ["mmlu.val.0", "['What is 3+3?']", "mmlu-math", 0.0, 0.003, "5", 1.0, 0.0009, "llama-70b"],
        # blank cells: llama has no result here, and no cost
        ["mt.1", "['Write a poem.', 'Now shorten it.']", "mtbench", 0.9, 0.01, "...", "", "", "gpt-4"],
    ]
    return header, rows


def test_routerbench_wide_table_with_costs_reused_ids_and_blank_cells(tmp_path):
    header, rows = _routerbench_rows()
    path = tmp_path / "routerbench_0shot.csv"
    with path.open("w", newline="") as fh:
        csv.writer(fh).writerows([header, *rows])
    with ResultsStore(tmp_path / "run") as store:
        summary = import_routerbench(path, store)
    assert summary.tasks == {"mmlu-math": 2, "mmlu-art": 1, "mtbench": 1}
    assert summary.models == ["gpt-4", "llama-70b"]
    assert summary.samples == 7  # the blank llama cell is no sample
    assert any("#2" in n for n in summary.notes)
    table, split = open_table(tmp_path / "run")
    assert split is None  # no split in RouterBench: route uses a hashed one
    assert ("mmlu-math", "mmlu.val.0#2") in table.index
    mt = table.queries[table.index[("mtbench", "mt.1")]]
    assert mt == "Write a poem.\n\nNow shorten it."
    assert _cost(table, "mmlu-math", "mmlu.val.0", "llama-70b") == [0.0009]
    assert table.cells[table.index[("mtbench", "mt.1")]][1] == []
    book = ScoreBook(table)
    assert book.mean[table.index[("mtbench", "mt.1")], 0] == pytest.approx(0.9)  # not binarised


def test_routerbench_reads_the_released_pickle_and_names_missing_columns(tmp_path):
    import pandas as pd

    header, rows = _routerbench_rows()
    frame = pd.DataFrame(rows, columns=header).replace("", np.nan)
    frame.to_pickle(tmp_path / "rb.pkl")
    with ResultsStore(tmp_path / "run") as store:
        assert import_routerbench(tmp_path / "rb.pkl", store).samples == 7
    frame.drop(columns=["eval_name"]).to_csv(tmp_path / "bad.csv", index=False)
    with (
        ResultsStore(tmp_path / "run2") as store,
        pytest.raises(ImportFormatError, match="bad.csv.*eval_name"),
    ):
        import_routerbench(tmp_path / "bad.csv", store)


def test_llmrouter_train_test_with_fractional_scores_and_task_labels_from_a_query_file(tmp_path):
    folder = tmp_path / "llmrouter"
    _json(
        folder / "train.json",
        [
            {"question": "Q: add 2 and 2", "scores": {"qwen": 0.667, "llama": 1.0}, "cluster_id": 0},
            {"question": "Q: capital of France?", "scores": {"qwen": 1.0, "llama": 0.0}, "cluster_id": 1},
        ],
    )
    _json(folder / "test.json", [{"question": "Q: add 3 and 3", "scores": {"qwen": 0.333, "llama": 0.5}}])
    queries = tmp_path / "query_data_train.jsonl"
    queries.write_text(
        "\n".join(
            json.dumps(r)
            for r in [
                {"task_name": "gsm8k", "query": "Q: add 2 and 2", "ground_truth": "4", "metric": "GSM8K"},
                {
                    "task_name": "mmlu",
                    "query": "Q: capital of France?",
                    "ground_truth": "A",
                    "metric": "em_mc",
                },
                {"task_name": "gsm8k", "query": "Q: add 3 and 3", "ground_truth": "6", "metric": "GSM8K"},
            ]
        )
        + "\n"
    )
    with ResultsStore(tmp_path / "run") as store:
        summary = import_llmrouter(folder, store, query_files=[queries])
    assert summary.tasks == {"gsm8k": 2, "mmlu": 1}
    table, split = open_table(tmp_path / "run")
    assert table.categories == {"gsm8k": "math", "mmlu": "knowledge"}
    book = ScoreBook(table)
    row = table.index[("gsm8k", "train-00000")]
    assert book.mean[row, table.models.index("qwen")] == pytest.approx(0.667)
    assert ("gsm8k", "test-00000") in split.test
    _json(folder / "test.json", [{"question": "Q: unlabelled", "scores": {"qwen": 1.0}}])
    with (
        ResultsStore(tmp_path / "run2") as store,
        pytest.raises(ImportFormatError, match="test.json: entry 0"),
    ):
        import_llmrouter(folder, store, query_files=[queries])


def test_llmrouterbench_records_with_tokens_and_costs(tmp_path):
    root = tmp_path / "bench"

    def records(scores, cost):
        return {
            "performance": float(np.mean(scores)),
            "cost": cost * len(scores),
            "counts": len(scores),
            "records": [
                {
                    "index": i,
                    "origin_query": f"question {i}",
                    "prompt": f"Question: question {i}\nAnswer:",
                    "prediction": "x",
                    "ground_truth": "x",
                    "score": s,
                    "prompt_tokens": 10 + i,
                    "completion_tokens": 5,
                    "cost": cost,
                    "raw_output": "x",
                }
                for i, s in enumerate(scores)
            ],
        }

    _json(root / "aime" / "test" / "gpt-5" / "20250101.json", records([0.0, 0.0], 0.5))
    _json(root / "aime" / "test" / "gpt-5" / "20250301.json", records([1.0, 0.0], 0.2))
    _json(root / "aime" / "test" / "qwen3" / "20250101.json", records([0.0, 1.0], 0.01))
    _json(root / "mmlu_pro" / "test" / "qwen3" / "20250101.json", records([1.0], 0.02))
    with ResultsStore(tmp_path / "run") as store:
        summary = import_llmrouterbench(root, store)
        tokens = {(s.model, s.item_id): s.prompt_tokens for s in store.iter_samples()}
    assert summary.tasks == {"aime": 2, "mmlu_pro": 1}
    assert summary.costs == 5
    assert any("20250101.json" in n and "gpt-5" in n for n in summary.notes)
    assert tokens[("qwen3", "test:1")] == 11
    table, _ = open_table(tmp_path / "run")
    assert _cost(table, "aime", "test:0", "gpt-5") == [0.2]  # the latest file
    assert table.queries[table.index[("aime", "test:1")]] == "question 1"
    (root / "stray.json").write_text("{}")
    (root / "broken.json").write_text("{")
    with ResultsStore(tmp_path / "run2") as store, pytest.raises(ImportFormatError, match="broken.json"):
        import_llmrouterbench(root, store)
    (root / "broken.json").unlink()
    with ResultsStore(tmp_path / "run3") as store:
        assert any("stray.json: not a result object" in n for n in import_llmrouterbench(root, store).notes)


def test_long_rows_carry_costs(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_text(
        "\n".join(
            json.dumps(r)
            for r in [
                {"task": "t", "item": "1", "query": "q1", "model": "a", "correct": 1, "cost": 0.5},
                {"task": "t", "item": "1", "query": "q1", "model": "b", "correct": 0, "cost": ""},
            ]
        )
        + "\n"
    )
    with ResultsStore(tmp_path / "run") as store:
        assert import_long(path, store).costs == 1
    table, _ = open_table(tmp_path / "run")
    assert _cost(table, "t", "1", "a") == [0.5] and _cost(table, "t", "1", "b") == [0.0]
