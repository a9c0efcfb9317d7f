"""evalplus-style tests (HumanEval+ / MBPP+): argument lists and expected outputs instead of test code.

`check_io` runs on the trusted side (graders/sandbox/judge.py): each call goes into the sandbox with a
fresh copy of its arguments and the returned plain data is compared here with evalplus' rule (exact
equality, else, for float outputs, the same type and length and numpy.allclose with atol, which defaults
to 1e-6 for floats as in evalplus.eval.unsafe_execute)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any


def _is_floats(value: Any) -> bool:
    if isinstance(value, float):
        return True
    if isinstance(value, list | tuple) and value:
        return all(isinstance(v, float) for v in value)
    return False


def outputs_match(got: Any, want: Any, atol: float) -> bool:
    if got == want:
        return True
    tolerance = atol or (1e-6 if _is_floats(want) else 0.0)
    if tolerance == 0 or type(got) is not type(want):
        return False
    if isinstance(want, list | tuple) and len(got) != len(want):
        return False
    import numpy as np

    try:
        return bool(np.allclose(got, want, rtol=1e-07, atol=tolerance))
    except (TypeError, ValueError):
        return False


def check_io(
    candidate: Callable[..., Any], inputs: list[list[Any]], expected: list[Any], atol: float
) -> None:
    """Raise AssertionError at the first input whose output differs from the expected one."""
    for number, (args, want) in enumerate(zip(inputs, expected, strict=True)):
        got = candidate(*copy.deepcopy(args))
        if not outputs_match(got, want, atol):
            raise AssertionError(f"input {number}: got {str(got)[:200]}, expected {str(want)[:200]}")


IO_TESTS = "_check_io({entry_point}, _inputs, _expected, _atol)\n"


def io_namespace(inputs: list[list[Any]], expected: list[Any], atol: float) -> dict[str, Any]:
    return {"_check_io": check_io, "_inputs": inputs, "_expected": expected, "_atol": atol}
