"""Exports: one row per sample joined with its item, in jsonl, csv and parquet."""

from __future__ import annotations

import csv
import json

import pyarrow.parquet as pq
import pytest

from results.store import ResultsStore
from tests.results.factories import PARAMS, item, sample


@pytest.fixture
def store(tmp_path):
    with ResultsStore(tmp_path / "run") as s:
        s.upsert_items(
            [item("gsm8k", "1", gold="42"), item("mbpp", "2", category="code", gold={"tests": ["a"]})]
        )
        s.write_samples(
            [
                sample("gsm8k", "1", "m", 0, extracted="42", score=1.0, grade_reason="right", latency_s=0.5),
                sample("mbpp", "2", "m", 0, response=None, error="400", error_kind="client"),
                sample("orphan", "9", "m", 0),  # no item row: item columns are empty, the sample is kept
            ]
        )
        yield s


def test_jsonl(store, tmp_path):
    path = tmp_path / "out" / "samples.jsonl"
    assert store.export(path, "jsonl") == 3
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert rows[0]["category"] == "math" and rows[0]["query"] == "question 1" and rows[0]["gold"] == "42"
    assert rows[0]["params"] == PARAMS.model_dump()
    assert rows[1]["gold"] == {"tests": ["a"]} and rows[1]["error_kind"] == "client"
    assert rows[2]["category"] is None


def test_csv(store, tmp_path):
    path = tmp_path / "samples.csv"
    assert store.export(path, "csv") == 3
    rows = list(csv.DictReader(path.open()))
    assert rows[0]["score"] == "1.0" and rows[0]["category"] == "math"
    assert json.loads(rows[0]["params"])["stop"] == ["</s>"]
    assert json.loads(rows[1]["gold"]) == {"tests": ["a"]}


def test_parquet(store, tmp_path):
    path = tmp_path / "samples.parquet"
    assert store.export(path, "parquet") == 3
    table = pq.read_table(path)
    assert table.num_rows == 3
    rows = table.to_pylist()
    assert rows[0]["params"]["top_p"] == pytest.approx(0.95) and rows[0]["params"]["stop"] == ["</s>"]
    assert rows[0]["latency_s"] == 0.5 and rows[1]["score"] is None
    assert json.loads(rows[1]["gold"]) == {"tests": ["a"]}


def test_parquet_of_empty_store_has_schema(tmp_path):
    with ResultsStore(tmp_path) as s:
        assert s.export(tmp_path / "empty.parquet", "parquet") == 0
    table = pq.read_table(tmp_path / "empty.parquet")
    assert table.num_rows == 0 and "category" in table.column_names


def test_unknown_format(store, tmp_path):
    with pytest.raises(ValueError, match="jsonl, csv, parquet"):
        store.export(tmp_path / "x", "xml")  # type: ignore[arg-type]
