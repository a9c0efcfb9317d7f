"""The plain-data encoding between the sandbox and the tests: round trips, and a strict decoder."""

from __future__ import annotations

import pytest

from graders.sandbox import SandboxLimits, judge_program
from graders.sandbox.wire import (
    MAX_DEPTH,
    MAX_SAME_HASH,
    WireError,
    check_hash_spread,
    loads,
    plain_from_json,
    plain_to_json,
)

VALUES = [
    None, True, 0, -7, 2**200, -(2**70), 1.5, -0.0, float("inf"), float("-inf"), "text", b"\x00\xff",
    bytearray(b"ab"), 1 + 2j, [1, [2, (3,)]], (1, "a"), {1: "x", (2, 3): [4]}, {1, 2}, frozenset({"a"}), int,
]  # fmt: skip


@pytest.mark.parametrize("value", VALUES, ids=[type(v).__name__ for v in VALUES])
def test_plain_values_round_trip_exactly(value: object) -> None:
    back = plain_from_json(loads(__import__("json").dumps(plain_to_json(value))))
    assert back == value and type(back) is type(value)


def test_nan_round_trips_as_nan() -> None:
    back = plain_from_json(plain_to_json(float("nan")))
    assert back != back


@pytest.mark.parametrize(
    "data",
    [
        {"t": [1], "s": [2]},  # two tags
        {"x": 1},  # unknown tag
        {"b": "zz"},  # not hex
        {"f": "1.5"},  # only nan/inf are tagged
        {"i": "1" * 200_000},  # too long
        {"d": [[[1], 2]]},  # unhashable key
        {"s": [[1]]},  # unhashable member
        {"c": ["1", 2]},
        {"bi": "__import__"},  # not a builtin type
        {"bi": "open"},  # a builtin function, not a type
        {"ref": 0},  # no references in gold data
    ],
)
def test_strict_decoder_rejects(data: object) -> None:
    with pytest.raises(WireError):
        plain_from_json(data)


def test_json_constants_and_depth_are_refused() -> None:
    with pytest.raises(WireError):
        loads(b"[NaN]")
    deep: object = 1
    for _ in range(MAX_DEPTH + 5):
        deep = {"t": [deep]}
    with pytest.raises(WireError):
        plain_from_json(deep)


def test_a_reply_over_the_size_limit_fails_the_sample() -> None:
    big = "def f():\n    return 'x' * (3 << 20)\n"
    result = judge_program(big, "assert len(f()) == 3 << 20\n", limits=SandboxLimits(message_mb=1))
    assert not result.passed and "limit" in result.why
    assert judge_program(big, "assert len(f()) == 3 << 20\n", limits=SandboxLimits(message_mb=8)).passed


def test_many_different_values_with_one_hash_are_refused_anywhere_in_a_value() -> None:
    modulus = (1 << 61) - 1
    colliding = [k * modulus for k in range(1, MAX_SAME_HASH + 2)]
    for value in (colliding, [[x] for x in colliding], {"k": tuple(colliding)}):
        with pytest.raises(WireError, match="share one hash"):
            check_hash_spread(value)
    with pytest.raises(WireError, match="share one hash"):  # decoding a set or dict would build it
        plain_from_json({"s": [plain_to_json(x) for x in colliding]})
    # duplicates, a few collisions, big distinct ints, strings and floats are ordinary data
    for value in ([colliding[0]] * 1000, colliding[:MAX_SAME_HASH], [2**64 + i for i in range(5000)],
                  [str(i) for i in range(5000)], [i / 7 for i in range(5000)], [-1, -2, (1, 2), (1, 2)]):  # fmt: skip
        check_hash_spread(value)
