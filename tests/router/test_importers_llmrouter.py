"""LLMRouter routing data rows (fields of llmrouter/data/README.md in ulab-uiuc/LLMRouter), in the
example_data layout with its LLM candidates file; made-up rows."""

from __future__ import annotations

import csv
import json

import pytest

from results.store import ResultsStore
from router.importers import ImportFormatError, import_llmrouter
from router.runs import open_table
from router.scoring import ScoreBook
from tests.router.helpers import route_import_cli


def _row(task, query, model, performance, embedding_id, tokens=(400, 50)):
    return {
        "task_name": task,
        "query": query,
        "ground_truth": "2",
        "metric": "GSM8K",
        "choices": None,
        "task_id": None,
        "model_name": model,
        "response": "The answer is 2.",
        "token_num": sum(tokens),
        "input_tokens": tokens[0],
        "output_tokens": tokens[1],
        "response_time": 1.2,
        "api_key_used": "",
        "performance": performance,
        "embedding_id": embedding_id,
        "user_id": None,
        "fig_id": None,
    }


TRAIN = [
    _row("gsm8k", "Janet has 4 apples...", "qwen2.5-7b-instruct", 1.0, 0),
    _row("gsm8k", "Janet has 4 apples...", "llama-3.1-8b-instruct", 0.0, 0),
    _row("natural_qa", "Who wrote Hamlet?", "qwen2.5-7b-instruct", 0.667, 1),
    _row("natural_qa", "Who wrote Hamlet?", "llama-3.1-8b-instruct", 0.5, 1),
]
TEST = [_row("mmlu", "Capital of France?", "qwen2.5-7b-instruct", 1.0, 2)]
PRICES = {
    "qwen2.5-7b-instruct": {"size": "7B", "feature": "...", "input_price": 0.2, "output_price": 0.2},
    "llama-3.1-8b-instruct": {"size": "8B", "feature": "...", "input_price": 0.1, "output_price": 0.3},
}


def _jsonl(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


@pytest.fixture
def example_data(tmp_path):
    root = tmp_path / "example_data"
    _jsonl(root / "routing_data" / "default_routing_train_data.jsonl", TRAIN)
    _jsonl(root / "routing_data" / "default_routing_test_data.jsonl", TEST)
    # LLMRouter's loader writes a CSV copy next to each JSONL: not a second table
    with (root / "routing_data" / "default_routing_train_data.csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(TRAIN[0]))
        writer.writeheader()
        writer.writerows(TRAIN)
    (root / "llm_candidates").mkdir()
    (root / "llm_candidates" / "default_llm.json").write_text(json.dumps(PRICES))
    return root


def test_routing_data_folder_through_the_cli(tmp_path, example_data):
    run = tmp_path / "run"
    summary = route_import_cli("llmrouter", run, example_data / "routing_data")
    assert summary["tasks"] == {"gsm8k": 1, "natural_qa": 1, "mmlu": 1}
    assert summary["samples"] == 5 and summary["costs"] == 5 and summary["split_recorded"]
    assert any("CSV copy" in n for n in summary["notes"])
    table, split = open_table(run)
    assert split.test == {("mmlu", "test-2")}
    assert split.calibration == {("gsm8k", "train-0"), ("natural_qa", "train-1")}
    book = ScoreBook(table)
    hamlet, qwen = table.index[("natural_qa", "train-1")], table.models.index("qwen2.5-7b-instruct")
    assert book.mean[hamlet, qwen] == pytest.approx(0.667)
    llama = table.models.index("llama-3.1-8b-instruct")
    cost = table.cells[hamlet][llama][0].cost
    assert cost == pytest.approx((0.1 * 400 + 0.3 * 50) / 1e6)
    assert table.categories["gsm8k"] == "math"


def test_a_csv_routing_file_without_prices_keeps_tokens(tmp_path):
    path = tmp_path / "default_routing_train_data.csv"
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(TRAIN[0]))
        writer.writeheader()
        writer.writerows([*TRAIN, TRAIN[0]])  # a repeated (query, model) row
    with ResultsStore(tmp_path / "run") as store:
        summary = import_llmrouter(path, store)
        tokens = {(s.item_id, s.model, s.sample_index): s.completion_tokens for s in store.iter_samples()}
    assert summary.costs == 0 and summary.samples == 5
    assert any("1 repeated" in n for n in summary.notes)
    assert tokens[("train-0", "qwen2.5-7b-instruct", 1)] == 50


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({**TRAIN[0], "query": ""}, "line 1: needs a non-empty string 'query'"),
        ({**TRAIN[0], "performance": None}, "line 1: no 'performance'"),
        ({**TRAIN[0], "performance": 2.0}, "line 1: performance: score is outside"),
        (
            {k: v for k, v in TRAIN[0].items() if k != "model_name"},
            "line 1: needs a non-empty string 'model_name'",
        ),
    ],
)
def test_bad_rows_name_file_line_and_field(tmp_path, row, message):
    path = tmp_path / "routing.jsonl"
    _jsonl(path, [row])
    with (
        ResultsStore(tmp_path / "run") as store,
        pytest.raises(ImportFormatError, match=f"routing.jsonl: {message}"),
    ):
        import_llmrouter(path, store)


def test_routing_data_as_a_hub_parquet_export(tmp_path, example_data):
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = example_data / "routing_data"
    pq.write_table(pa.Table.from_pylist(TRAIN), folder / "default_routing_train_data.parquet")
    summary = route_import_cli("llmrouter", tmp_path / "run", folder)
    assert summary["samples"] == 5 and any("PARQUET copy" in n for n in summary["notes"])
    only = tmp_path / "only" / "default_routing_train_data.parquet"
    only.parent.mkdir()
    pq.write_table(pa.Table.from_pylist(TRAIN), only)
    with ResultsStore(tmp_path / "run2") as store:
        summary = import_llmrouter(only, store)
    assert summary.samples == 4 and summary.tasks == {"gsm8k": 1, "natural_qa": 1}
