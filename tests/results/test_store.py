"""ResultsStore against a real SQLite file in a temporary run directory."""

from __future__ import annotations

import sqlite3
import threading

import pytest

from graders.base import GradeResult
from results.records import SampleKey
from results.store import DB_FILENAME, SCHEMA_VERSION, ResultsStore, StoreError
from tests.results.factories import item, sample


@pytest.fixture
def store(tmp_path):
    with ResultsStore.open(tmp_path / "run") as s:
        yield s


def test_creates_wal_database_with_schema_version(tmp_path):
    run_dir = tmp_path / "nested" / "run"
    with ResultsStore(run_dir):
        pass
    conn = sqlite3.connect(run_dir / DB_FILENAME)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0] == str(
        SCHEMA_VERSION
    )
    conn.close()


def test_refuses_newer_schema(tmp_path):
    with ResultsStore(tmp_path) as s:
        s.set_meta("schema_version", str(SCHEMA_VERSION + 1))
    with pytest.raises(StoreError, match="newer than this harness"):
        ResultsStore(tmp_path)


def test_corrupt_database_is_named(tmp_path):
    (tmp_path / DB_FILENAME).write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="results.sqlite"):
        ResultsStore(tmp_path)


def test_readonly_open_of_missing_db_is_clear(tmp_path):
    with pytest.raises(StoreError, match="no results database"):
        ResultsStore(tmp_path, readonly=True)


def test_items_round_trip_with_json_gold(store):
    gold = {"answer": [1, 2], "tests": "assert f(1) == 2", "unicode": "π"}
    store.upsert_items([item("humaneval", "HE/0", category="code", gold=gold), item("gsm8k", "7")])
    store.upsert_items([item("gsm8k", "7", gold="43")])  # replaces
    items = {(i.task, i.item_id): i for i in store.iter_items()}
    assert items[("humaneval", "HE/0")].gold == gold
    assert items[("gsm8k", "7")].gold == "43"
    assert [i.item_id for i in store.iter_items(task="gsm8k")] == ["7"]
    assert store.get_item("humaneval", "HE/0").category == "code"
    assert store.get_item("humaneval", "missing") is None


def test_unserialisable_gold_is_named(store):
    with pytest.raises(StoreError, match="gsm8k/3"):
        store.upsert_items([item("gsm8k", "3", gold={1, 2})])


def test_samples_round_trip_every_field(store):
    record = sample(
        "gsm8k",
        "1",
        "m1",
        3,
        seed=17,
        finish_reason="length",
        prompt_tokens=12,
        completion_tokens=256,
        latency_s=1.25,
        extracted="7",
        score=0.0,
        grade_reason="truncated",
        grade_detail="cut off",
    )
    store.write_samples([record])
    (back,) = list(store.iter_samples())
    assert back == record


def test_write_samples_replaces_same_key(store):
    store.write_samples([sample("t", "1", "m", 0, response=None, error="timeout", error_kind="transient")])
    store.write_samples([sample("t", "1", "m", 0, response="fixed")])
    rows = list(store.iter_samples())
    assert len(rows) == 1 and rows[0].response == "fixed" and rows[0].error is None


def test_completed_keys_skip_successes_and_client_errors(store):
    store.write_samples(
        [
            sample("t", "1", "m", 0),
            sample("t", "1", "m", 1, response=None, error="400 bad request", error_kind="client"),
            sample("t", "1", "m", 2, response=None, error="503", error_kind="transient"),
            sample("t", "1", "m", 3, response=None, error="mystery"),  # kind unknown: treated as transient
            sample(
                "t", "1", "m", 4, response=None, finish_reason="content_filter"
            ),  # server answered, no text
        ]
    )
    assert store.completed_keys() == {("t", "1", "m", 0), ("t", "1", "m", 1), ("t", "1", "m", 4)}
    assert store.completed_keys(retry_transient_errors=False) == {("t", "1", "m", i) for i in range(5)}


def test_stale_keys_detect_changed_prompts(store):
    store.write_samples(
        [sample("t", "1", "m", 0, prompt_hash="old"), sample("t", "2", "m", 0, prompt_hash="same")]
    )
    store.write_samples([sample("u", "1", "m", 0, prompt_hash="x")])
    stale = store.stale_keys({("t", "1"): "new", ("t", "2"): "same"})
    assert stale == {("t", "1", "m", 0)}  # task u not in the mapping: not judged
    assert store.delete_samples(stale) == 1
    assert {s.item_id for s in store.iter_samples(task="t")} == {"2"}


def test_update_grades_and_graded_filters(store):
    store.write_samples([sample("t", "1", "m", i) for i in range(3)])
    key = SampleKey(task="t", item_id="1", model="m", sample_index=1)
    store.update_grades([(key, GradeResult(score=1.0, extracted="42", reason="right", detail="math-verify"))])
    (graded,) = list(store.iter_samples(graded_only=True))
    assert (
        graded.sample_index,
        graded.extracted,
        graded.score,
        graded.grade_reason,
        graded.grade_detail,
    ) == (
        1,
        "42",
        1.0,
        "right",
        "math-verify",
    )
    assert [s.sample_index for s in store.iter_samples(ungraded_only=True)] == [0, 2]
    assert store.clear_grades(task="t") == 3
    assert list(store.iter_samples(graded_only=True)) == []
    with pytest.raises(ValueError):
        list(store.iter_samples(graded_only=True, ungraded_only=True))


def test_update_grades_for_missing_sample_writes_nothing(store):
    store.write_samples([sample("t", "1", "m", 0)])
    good = (
        SampleKey(task="t", item_id="1", model="m", sample_index=0),
        GradeResult(score=1.0, reason="right"),
    )
    bad = (
        SampleKey(task="t", item_id="9", model="m", sample_index=0),
        GradeResult(score=0.0, reason="wrong"),
    )
    with pytest.raises(StoreError, match="no stored sample"):
        store.update_grades([good, bad])
    assert list(store.iter_samples(graded_only=True)) == []


def test_iteration_pages_in_key_order_and_filters(store, monkeypatch):
    monkeypatch.setattr("results.store._PAGE_SIZE", 7)
    records = [
        sample(t, f"{i:02d}", m, j)
        for t in ("a", "b")
        for m in ("m1", "m2")
        for i in range(6)
        for j in range(3)
    ]
    store.write_samples(list(reversed(records)))
    keys = [(s.task, s.item_id, s.model, s.sample_index) for s in store.iter_samples()]
    assert keys == sorted((r.task, r.item_id, r.model, r.sample_index) for r in records)
    assert len(list(store.iter_samples(task="b", model="m1"))) == 18
    assert len(list(store.iter_outcomes(model="m2"))) == 36
    assert store.models() == ["m1", "m2"]
    assert store.tasks() == ["a", "b"]


def test_counts(store):
    store.upsert_items([item("t", "1"), item("t", "2"), item("u", "1")])
    store.write_samples(
        [
            sample("t", "1", "m", 0, extracted="1", score=1.0, grade_reason="right"),
            sample("t", "1", "m", 1, extracted="2", score=0.0, grade_reason="wrong"),
            sample("t", "2", "m", 0, response=None, error="503", error_kind="transient"),
            sample("t", "2", "m", 1, response=None, error="400", error_kind="client"),
            sample("u", "1", "m", 0, response=None, error="???"),
            sample("u", "1", "n", 0),
        ]
    )
    counts = store.counts()
    assert counts["items"] == 3
    assert counts["samples"] == 6
    assert counts["responses"] == 3
    assert counts["graded"] == 2
    assert counts["errors"] == {"client": 1, "transient": 1, "unknown": 1}
    assert counts["reasons"] == {"right": 1, "wrong": 1}
    assert counts["by_task_model"]["t"]["m"] == {
        "samples": 4,
        "responses": 2,
        "graded": 2,
        "errors": 2,
        "right": 1,
    }
    assert counts["by_task_model"]["u"]["n"]["samples"] == 1


def test_readonly_store_rejects_writes(tmp_path):
    with ResultsStore(tmp_path) as s:
        s.write_samples([sample("t", "1", "m", 0)])
    with ResultsStore(tmp_path, readonly=True) as ro:
        assert len(list(ro.iter_samples())) == 1
        with pytest.raises(StoreError, match="read-only"):
            ro.write_samples([sample("t", "1", "m", 1)])


def test_writes_from_several_threads(store):
    def write(model: str) -> None:
        for i in range(20):
            store.write_samples([sample("t", str(i), model, j) for j in range(5)])

    threads = [threading.Thread(target=write, args=(f"m{k}",)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert store.counts()["samples"] == 4 * 20 * 5


def test_failed_transaction_rolls_back(store):
    store.write_samples([sample("t", "1", "m", 0)])
    with pytest.raises(sqlite3.IntegrityError), store._transaction() as conn:
        conn.execute("INSERT INTO samples (task) VALUES ('only-task')")  # violates NOT NULL
    assert store.counts()["samples"] == 1
    store.write_samples([sample("t", "1", "m", 1)])  # the connection is still usable
    assert store.counts()["samples"] == 2
