"""LLMRouterBench / OpenRouterBench result files and Avengers-Pro JSONL records, written in the field
layout of data_collector/storage.py and baselines/adaptors/avengerspro_adaptor.py (made-up rows)."""

from __future__ import annotations

import json

import pytest

from results.store import ResultsStore
from router.importers import ImportFormatError, import_llmrouterbench
from router.runs import open_table
from router.scoring import ScoreBook


def _result(dataset, split, model, records, *, demo=False):
    return {
        "performance": 0.5,
        "time_taken": 1.0,
        "prompt_tokens": 10,
        "completion_tokens": 10,
        "cost": 0.1,
        "counts": len(records),
        "model_name": model,
        "dataset_name": dataset,
        "split": split,
        "demo": demo,
        "extra_metrics": {},
        "data_fingerprint": "abc",
        "records": records,
    }


def _record(index, query, score, cost=0.001):
    return {
        "index": index,
        "origin_query": query,
        "prompt": f"Question: {query}\nAnswer:",
        "prompt_tokens": 12,
        "completion_tokens": 30,
        "cost": cost,
        "score": score,
        "prediction": "x",
        "ground_truth": "x",
        "raw_output": {"content": "x"},
        "extra_fields": {},
    }


def _write(path, data):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), encoding="utf-8")


def test_bench_folder_latest_non_demo_file_null_scores_and_fields_over_folders(tmp_path):
    root = tmp_path / "results" / "bench"
    old = root / "aime" / "test" / "gpt-5" / "aime-test-gpt-5-20250901_101500.json"
    new = root / "aime" / "test" / "gpt-5" / "aime-test-gpt-5-20251002_090000.json"
    demo = root / "aime" / "test" / "gpt-5" / "aime-test-gpt-5-20251105_000000.json"
    _write(old, _result("aime", "test", "gpt-5", [_record(0, "q0", 0.0), _record(1, "q1", 0.0)]))
    _write(new, _result("aime", "test", "gpt-5", [_record(0, "q0", 1.0, 0.02), _record(1, "q1", None)]))
    _write(demo, _result("aime", "test", "gpt-5", [_record(0, "q0", 0.0)], demo=True))
    # an OpenRouter model whose name has a slash: the file's fields name it, not the folders
    slashed = root / "aime" / "test" / "qwen" / "qwen3-8b" / "aime-test-qwen-20251001_000000.json"
    _write(slashed, _result("aime", "test", "qwen/qwen3-8b", [_record(0, "q0", 0.5), _record(1, "q1", 1.0)]))
    with ResultsStore(tmp_path / "run") as store:
        summary = import_llmrouterbench(root, store)
        tokens = {(s.model, s.item_id): (s.prompt_tokens, s.completion_tokens) for s in store.iter_samples()}
    assert summary.models == ["gpt-5", "qwen/qwen3-8b"] and summary.samples == 4
    assert any("superseded" in n and old.name in n for n in summary.notes)
    assert any("demo" in n and demo.name in n for n in summary.notes)
    assert any("1 records with a null score" in n for n in summary.notes)
    assert tokens[("gpt-5", "test:0")] == (12, 30)
    table, split = open_table(tmp_path / "run")
    assert split is None
    book = ScoreBook(table)
    q0, q1 = table.index[("aime", "test:0")], table.index[("aime", "test:1")]
    gpt, qwen = table.models.index("gpt-5"), table.models.index("qwen/qwen3-8b")
    assert (book.mean[q0, gpt], book.mean[q1, gpt]) == (1.0, 0.0)
    assert book.mean[q0, qwen] == pytest.approx(0.5)
    assert [s.cost for s in table.cells[q0][gpt]] == [pytest.approx(0.02)]
    assert table.queries[q0] == "q0"


def test_single_result_file_and_list_queries(tmp_path):
    path = tmp_path / "arenahard-test-m-20250101_000000.json"
    record = _record(3, None, 1.0)
    record["origin_query"] = [{"role": "user", "content": "hi"}]
    _write(path, _result("arenahard", "test", "m", [record]))
    with ResultsStore(tmp_path / "run") as store:
        assert import_llmrouterbench(path, store).tasks == {"arenahard": 1}
    table, _ = open_table(tmp_path / "run")
    assert json.loads(table.queries[0]) == [{"role": "user", "content": "hi"}]


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"index": 0, "origin_query": "", "prompt": "", "score": 1.0}, r"record 0: no query"),
        ({"index": 0, "origin_query": "q", "score": 1.5}, r"record 0: score: score is outside"),
        ({"origin_query": "q", "score": 1.0}, r"record 0: needs 'index'"),
        ({"index": 0, "origin_query": "q", "score": 1.0, "cost": "free"}, r"record 0: cost"),
    ],
)
def test_bad_records_name_file_and_record(tmp_path, record, message):
    path = tmp_path / "bench" / "d" / "test" / "m" / "d-test-m-20250101_000000.json"
    _write(path, _result("d", "test", "m", [record]))
    with ResultsStore(tmp_path / "run") as store, pytest.raises(ImportFormatError, match=message):
        import_llmrouterbench(tmp_path / "bench", store)


def test_a_file_without_its_fields_outside_the_layout_is_an_error(tmp_path):
    _write(tmp_path / "bench" / "stray.json", {"records": []})
    with (
        ResultsStore(tmp_path / "run") as store,
        pytest.raises(ImportFormatError, match="stray.json: no 'dataset_name'"),
    ):
        import_llmrouterbench(tmp_path / "bench", store)
    _write(tmp_path / "bench" / "stray.json", {"summary": 1})
    with (
        ResultsStore(tmp_path / "run2") as store,
        pytest.raises(ImportFormatError, match="no .*result files.*stray"),
    ):
        import_llmrouterbench(tmp_path / "bench", store)


def _jsonl(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def test_avengers_pro_train_test_jsonl_with_usages_null_and_boolean_scores(tmp_path):
    folder = tmp_path / "seed42_split0.7"
    usage = {"a/m1": {"cost": 0.004, "prompt_tokens": 100, "completion_tokens": 20}, "b/m2": {"cost": 0.0001}}
    _jsonl(
        folder / "train.jsonl",
        [
            {
                "query": "q1",
                "dataset": "gpqa",
                "index": 0,
                "records": {"a/m1": 0.75, "b/m2": None},
                "usages": usage,
            },
            {"query": "q2", "dataset": "gpqa", "index": 1, "records": {"a/m1": True, "b/m2": False}},
        ],
    )
    _jsonl(
        folder / "test.jsonl",
        [{"query": "q3", "dataset": "hle", "index": 0, "records": {"a/m1": 0, "b/m2": 1}}],
    )
    _write(folder / "baseline_scores.json", {"a/m1": {"gpqa": 75.0}})
    with ResultsStore(tmp_path / "run") as store:
        summary = import_llmrouterbench(folder, store)
        tokens = {(s.task, s.item_id, s.model): s.prompt_tokens for s in store.iter_samples()}
    assert summary.tasks == {"gpqa": 2, "hle": 1} and summary.samples == 6 and summary.costs == 2
    assert any("1 null scores" in n for n in summary.notes)
    assert any("baseline_scores.json" in n for n in summary.notes)
    assert tokens[("gpqa", "0", "a/m1")] == 100
    table, split = open_table(tmp_path / "run")
    assert split.calibration == {("gpqa", "0"), ("gpqa", "1")} and split.test == {("hle", "0")}
    book = ScoreBook(table)
    assert book.mean[table.index[("gpqa", "0")], table.models.index("a/m1")] == pytest.approx(0.75)
    assert book.mean[table.index[("gpqa", "1")], table.models.index("a/m1")] == 1.0


def test_avengers_pro_bad_lines_name_the_line(tmp_path):
    path = tmp_path / "records.jsonl"
    _jsonl(path, [{"query": "q", "records": {"m": 1}}, {"query": "", "records": {"m": 1}}])
    with (
        ResultsStore(tmp_path / "run") as store,
        pytest.raises(ImportFormatError, match="records.jsonl: line 2: no query"),
    ):
        import_llmrouterbench(path, store)
    _jsonl(path, [{"query": "q", "records": {}}])
    with (
        ResultsStore(tmp_path / "run2") as store,
        pytest.raises(ImportFormatError, match="line 1: needs a non-empty"),
    ):
        import_llmrouterbench(path, store)


def test_avengers_pro_lines_in_a_dot_json_file(tmp_path):
    path = tmp_path / "dataset.json"
    _jsonl(path, [{"query": "q", "dataset": "simpleqa", "index": 4, "records": {"m": 0.5}}])
    with ResultsStore(tmp_path / "run") as store:
        assert import_llmrouterbench(path, store).tasks == {"simpleqa": 1}


def test_archive_and_parent_of_record_folders_get_pointed_errors(tmp_path):
    (tmp_path / "bench-release.tar.gz").write_bytes(b"\x1f\x8b")
    with ResultsStore(tmp_path / "run") as store, pytest.raises(ImportFormatError, match="extract it first"):
        import_llmrouterbench(tmp_path / "bench-release.tar.gz", store)
    data = tmp_path / "AvengersPro" / "data"
    _jsonl(data / "seed42_split0.7" / "train.jsonl", [{"query": "q", "records": {"m": 1}}])
    _write(data / "seed42_split0.7" / "baseline_scores.json", {"m": {"d": 1.0}})
    with (
        ResultsStore(tmp_path / "run2") as store,
        pytest.raises(ImportFormatError, match="seed42_split0.7/train.jsonl"),
    ):
        import_llmrouterbench(data, store)
