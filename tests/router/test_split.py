"""Hash-based and recorded calibration/test splits."""

from __future__ import annotations

import pytest

from router.split import (
    SplitError,
    decode_split_meta,
    encode_split_meta,
    explicit_split,
    hashed_folds,
    hashed_split,
    merge_split_meta,
)

ITEMS = (
    [("a", f"{i}") for i in range(100)] + [("b", f"{i}") for i in range(10)] + [("ood", "x"), ("ood", "y")]
)


def test_fraction_per_task_and_ood_only_in_test():
    split = hashed_split(ITEMS, fraction=0.7, seed=42, ood_tasks={"ood"})
    assert sum(1 for t, _ in split.calibration if t == "a") == 70
    assert sum(1 for t, _ in split.calibration if t == "b") == 7
    assert {("ood", "x"), ("ood", "y")} <= split.test
    assert split.calibration.isdisjoint(split.test)
    assert split.calibration | split.test == set(ITEMS)


def test_deterministic_and_seed_dependent():
    one = hashed_split(ITEMS, fraction=0.5, seed=1)
    assert one == hashed_split(list(reversed(ITEMS)), fraction=0.5, seed=1)  # order of input is irrelevant
    assert one.calibration != hashed_split(ITEMS, fraction=0.5, seed=2).calibration
    # Pinned membership: the split must not change across machines or library versions.
    small = hashed_split([("t", str(i)) for i in range(10)], fraction=0.5, seed=42)
    assert sorted(i for _, i in small.calibration) == ["1", "2", "3", "6", "8"]


def test_hashed_folds_partition_every_task_evenly():
    items = [(t, i) for t, i in ITEMS if t != "ood"]
    folds = hashed_folds(items, n_folds=5, seed=3)
    assert len(folds) == 5
    held_out = [f.test for f in folds]
    assert set().union(*held_out) == set(items)
    assert sum(len(h) for h in held_out) == len(items)  # disjoint: each item validated exactly once
    for fold in folds:
        assert fold.calibration == set(items) - fold.test
        assert sum(1 for t, _ in fold.test if t == "a") == 20  # 100 items of task a over 5 folds
        assert sum(1 for t, _ in fold.test if t == "b") == 2
    assert [f.test for f in hashed_folds(list(reversed(items)), n_folds=5, seed=3)] == held_out
    assert [f.test for f in hashed_folds(items, n_folds=5, seed=4)] != held_out


def test_hashed_folds_need_two_folds():
    with pytest.raises(SplitError, match="at least 2 folds"):
        hashed_folds(ITEMS, n_folds=1)


def test_bad_fraction():
    with pytest.raises(SplitError):
        hashed_split(ITEMS, fraction=1.0)


def test_recorded_split_round_trip_and_merge():
    parts = {("a", "1"): "calibration", ("a", "2"): "test", ("b", "1"): "test"}
    text = encode_split_meta(parts, "routerdc")
    decoded, source = decode_split_meta(text)
    assert decoded == parts and source == "routerdc"
    merged, _ = decode_split_meta(merge_split_meta(text, {("c", "9"): "calibration"}, "routerdc"))
    assert merged[("c", "9")] == "calibration" and len(merged) == 4
    split = explicit_split(merged, source="routerdc", ood_tasks={"c"})
    assert split.calibration == {("a", "1")}
    assert ("c", "9") in split.test
    with pytest.raises(SplitError):
        decode_split_meta("{not json")
