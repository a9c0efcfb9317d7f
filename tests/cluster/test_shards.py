"""The shard partition: disjoint, complete, independent of order, and parsed strictly."""

from __future__ import annotations

import random

import pytest

from harness.shards import ShardSpec, parse_shard_dirname, shard_of

PAIRS = [(task, f"item-{i}") for task in ("gsm8k", "mmlu_pro", "humaneval") for i in range(300)]


@pytest.mark.parametrize("count", [1, 2, 4, 16])
def test_shards_are_disjoint_and_cover_every_pair(count):
    owned = [[p for p in PAIRS if ShardSpec(index=i, count=count).owns(*p)] for i in range(count)]
    assert sum(len(o) for o in owned) == len(PAIRS)
    assert set().union(*map(set, owned)) == set(PAIRS)
    if count > 1:  # hash-spread: no shard takes everything
        assert max(len(o) for o in owned) < len(PAIRS) * 0.6


def test_shard_depends_only_on_the_pair_not_on_order_or_neighbours():
    shuffled = PAIRS[:]
    random.Random(7).shuffle(shuffled)
    spec = ShardSpec(index=3, count=16)
    by_order = {t: [i for tt, i in PAIRS if tt == t] for t in ("gsm8k", "mmlu_pro")}
    by_shuffle = {t: [i for tt, i in shuffled if tt == t] for t in ("gsm8k", "mmlu_pro")}
    selected = spec.select(by_order, item_id=lambda i: i)
    reselected = spec.select(by_shuffle, item_id=lambda i: i)
    assert {t: sorted(v) for t, v in selected.items()} == {t: sorted(v) for t, v in reselected.items()}
    # The same item id in two tasks is two different pairs, sharded independently.
    assert any(shard_of("gsm8k", f"item-{i}", 16) != shard_of("mmlu_pro", f"item-{i}", 16) for i in range(50))


def test_parse_and_directory_names():
    spec = ShardSpec.parse("3/16")
    assert (spec.index, spec.count, spec.dirname, str(spec)) == (3, 16, "3-of-16", "3/16")
    assert parse_shard_dirname("3-of-16") == spec
    assert parse_shard_dirname("16-of-16") is None and parse_shard_dirname("logs") is None
    for bad in ("16/16", "-1/4", "3", "a/b", "1/0"):
        with pytest.raises(ValueError, match="shard"):
            ShardSpec.parse(bad)


def test_eval_cli_rejects_a_bad_shard(capsys):
    from harness.cli import build_parser

    with pytest.raises(SystemExit):
        build_parser().parse_args(["eval", "--shard", "4/4"])
    assert "INDEX must be in 0..COUNT-1" in capsys.readouterr().err
