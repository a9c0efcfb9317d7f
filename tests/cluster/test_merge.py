"""Sharded runs (real eval against a loopback server, real SQLite) and `harness merge`.

One unsharded and one 4-shard run are made once per module; each test works on its own copy.
"""

from __future__ import annotations

import asyncio
import shutil
import sqlite3

import pytest

from harness.report import write_report
from harness.serving.loopback_server import LoopbackServer
from harness.shards import ShardSpec
from results.merge import MergeError, merge_shards
from results.records import ItemRecord
from results.store import ResultsStore
from tests.cluster.conftest import (
    SAMPLES,
    report_body,
    run_toy_eval,
    table_rows,
    use_toy_tasks,
    write_toy_tasks,
)
from tests.harness.conftest import toy_answer

pytestmark = pytest.mark.slow  # five real eval runs (about 15 s on a shared 2-core machine)

SHARDS = 4


async def _sharded(server, runs, run="big", count=SHARDS):
    for index in range(count):
        outcome = await run_toy_eval(server, runs, run, ShardSpec(index=index, count=count))
        assert not outcome.interrupted
    return runs / run


@pytest.fixture(scope="module")
def made_runs(tmp_path_factory):
    """runs/whole (unsharded) and runs/big (4 shards, not merged), made once."""
    with pytest.MonkeyPatch.context() as mp:
        env = use_toy_tasks(write_toy_tasks(tmp_path_factory.mktemp("toy")), mp)

        async def make() -> None:
            async with LoopbackServer(answer=toy_answer, supports_n=False) as server:
                await run_toy_eval(server, env["runs"], "whole")
                await _sharded(server, env["runs"])

        asyncio.run(make())
        yield env


@pytest.fixture
def runs(made_runs, tmp_path):
    """A private copy of the module's runs (the module's toy tasks stay selected)."""
    shutil.copytree(made_runs["runs"], tmp_path / "runs")
    return tmp_path / "runs"


def test_merged_shards_equal_the_unsharded_run(runs, made_runs):
    run_dir = runs / "big"

    shard_items = [len(table_rows(run_dir / "shards" / f"{i}-of-{SHARDS}" / "results.sqlite", "items"))
                   for i in range(SHARDS)]  # fmt: skip
    assert sum(shard_items) == 2 * made_runs["n"] and all(n < 2 * made_runs["n"] for n in shard_items)

    result = merge_shards(run_dir)
    write_report(run_dir)
    assert result.rows == 2 * made_runs["n"] * SAMPLES
    assert result.summary_lines()[-1].startswith(f"coverage: {result.rows}/{result.rows} samples (100.0%)")
    for table in ("items", "samples"):
        assert table_rows(run_dir / "results.sqlite", table) == table_rows(
            runs / "whole" / "results.sqlite", table
        )
    assert (run_dir / "results.json").read_text() == (runs / "whole" / "results.json").read_text()
    assert report_body(run_dir).replace("big", "whole") == report_body(runs / "whole")

    # Merging again (after re-running a shard) rebuilds the merged store from the shards.
    assert merge_shards(run_dir).rows == result.rows


async def test_a_shard_resumes_on_its_own(two_toy_tasks, toy_server):
    runs = two_toy_tasks["runs"]
    spec = ShardSpec(index=1, count=SHARDS)
    first = await run_toy_eval(toy_server, runs, "big", spec)
    assert first.requests > 0
    before = toy_server.request_count
    again = await run_toy_eval(toy_server, runs, "big", spec)
    assert again.requests == 0 and toy_server.request_count == before


async def test_merge_refuses_missing_overlapping_mixed_and_differently_sampled_shards(runs, toy_server):
    run_dir = runs / "big"
    shards = run_dir / "shards"

    moved = shards.parent / "aside"
    shutil.move(shards / "2-of-4", moved)
    with pytest.raises(MergeError, match="shard\\(s\\) 2-of-4 missing"):
        merge_shards(run_dir)
    shutil.move(moved, shards / "2-of-4")

    (shards / "0-of-3").mkdir()
    with pytest.raises(MergeError, match="mixes shard counts \\[3, 4\\]"):
        merge_shards(run_dir)
    (shards / "0-of-3").rmdir()

    with ResultsStore(shards / "0-of-4", readonly=True) as store:
        foreign = next(iter(ResultsStore(shards / "3-of-4", readonly=True).iter_items()))
    with ResultsStore(shards / "0-of-4") as store:
        store.upsert_items([ItemRecord.model_validate(foreign.model_dump())])
    with pytest.raises(MergeError, match="belongs to shard 3-of-4: shards overlap"):
        merge_shards(run_dir)
    with sqlite3.connect(shards / "0-of-4" / "results.sqlite") as conn:
        conn.execute("DELETE FROM items WHERE task = ? AND item_id = ?", (foreign.task, foreign.item_id))

    shutil.rmtree(shards / "1-of-4")
    await run_toy_eval(toy_server, runs, "big", ShardSpec(index=1, count=SHARDS), temperature=0.2)
    with pytest.raises(MergeError, match="different settings \\(sampling: .*temperature"):
        merge_shards(run_dir)
    assert not (run_dir / "results.sqlite").exists()


def test_merge_reports_coverage_and_refuses_incomplete_shards(runs, made_runs):
    run_dir = runs / "big"
    with sqlite3.connect(run_dir / "shards" / "2-of-4" / "results.sqlite") as conn:
        dropped = conn.execute("DELETE FROM samples WHERE sample_index = 1").rowcount
    assert dropped > 0
    with pytest.raises(MergeError, match="incomplete shard\\(s\\): 2-of-4"):
        merge_shards(run_dir)
    result = merge_shards(run_dir, allow_incomplete=True)
    total = 2 * made_runs["n"] * SAMPLES
    assert result.rows == total - dropped
    assert f"coverage: {total - dropped}/{total} samples" in result.summary_lines()[-1]


def test_merge_refuses_to_overwrite_an_unsharded_store(tmp_path):
    run_dir = tmp_path / "run"
    ResultsStore(run_dir).close()
    (run_dir / "shards" / "0-of-1").mkdir(parents=True)
    ResultsStore(run_dir / "shards" / "0-of-1").close()
    with pytest.raises(MergeError, match="has no manifest"):
        merge_shards(run_dir)
