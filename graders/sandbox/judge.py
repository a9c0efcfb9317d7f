"""Grade a program by its tests with the verdict decided outside the program's process.

The model's code (after any setup code) runs in a sandbox run; the benchmark's tests run here, in
the grader's process, in a fresh namespace where every name the tests take from the solution is a
`Remote` (graders/sandbox/remote.py): calling it sends the arguments across as plain data and
brings the result back the same way. Asserts, comparisons and the pass/fail decision never execute
model-written code, so an always-equal object, patched builtins, a forged marker, an early exit or
printing "PASSED" cannot make a test pass.

Names the tests use are resolved in this order: the tests' own definitions; trusted code from the
dataset (the setup code and the prompt, e.g. HumanEval/32's `poly`, run here too); standard-library
modules (e.g. `math` that an MBPP assert uses without importing it); builtins; and only then the
solution (always for the entry point, which the prompt only stubs).
"""

from __future__ import annotations

import builtins
import contextlib
import functools
import io
import symtable
import sys
import time
from types import CodeType
from typing import Any

from graders.sandbox.channel import RunBroken
from graders.sandbox.limits import SandboxLimits, SandboxResult
from graders.sandbox.modes import isolation_mode, run_payload, started_run
from graders.sandbox.remote import Remote, Session

_BUILTINS = frozenset(dir(builtins))


@functools.lru_cache(maxsize=8192)
def _compiled(source: str, name: str) -> CodeType:
    return compile(source, f"<{name}>", "exec")


@functools.lru_cache(maxsize=8192)
def free_names(source: str) -> frozenset[str]:
    """Names the code reads but never binds in any scope: what it expects its namespace to provide."""
    bound: set[str] = set()
    read: set[str] = set()

    def visit(table: symtable.SymbolTable) -> None:
        for symbol in table.get_symbols():
            name = symbol.get_name()
            binds = (
                symbol.is_assigned() or symbol.is_imported() or symbol.is_parameter() or symbol.is_namespace()
            )
            if binds and (table.get_type() == "module" or symbol.is_global()):
                bound.add(name)
            if symbol.is_referenced() and (table.get_type() == "module" or symbol.is_global()):
                read.add(name)
        for child in table.get_children():
            visit(child)

    visit(symtable.symtable(source, "<tests>", "exec"))
    return frozenset(read - bound)


def _trusted_prelude(setup: str, prompt: str | None) -> dict[str, Any]:
    """Setup code and the prompt, run here: helpers the tests call come from the dataset, not the answer."""
    namespace: dict[str, Any] = {"__name__": "__main__"}
    for name, source in (("setup", setup), ("prompt", prompt or "")):
        if source.strip():
            # A prompt that is not runnable on its own leaves the solution to provide everything.
            with contextlib.suppress(Exception):
                exec(_compiled(source, name), namespace)  # trusted: benchmark data
    return namespace


def _quiet_print(sink: io.StringIO):
    def print_(*args: Any, **kwargs: Any) -> None:  # tests that print must not write to the harness's stdout
        if sink.tell() < 65536:
            kwargs.pop("file", None)
            print(*args, file=sink, **kwargs)

    return print_


def _test_namespace(
    session: Session,
    tests: str,
    setup: str,
    prompt: str | None,
    entry_point: str | None,
    trusted: dict[str, Any] | None,
) -> dict[str, Any]:
    namespace = {**_trusted_prelude(setup, prompt), **(trusted or {})}
    from_prelude = set(namespace) if entry_point else set()
    for name in free_names(tests):
        if name == entry_point or (name not in from_prelude and name not in _BUILTINS):
            if name != entry_point and name in sys.stdlib_module_names:
                namespace[name] = __import__(name)
            else:
                namespace[name] = Remote(session, {"name": name})
    namespace["print"] = _quiet_print(io.StringIO())
    return namespace


def judge_program(
    program: str,
    tests: str,
    *,
    setup: str = "",
    prompt: str | None = None,
    entry_point: str | None = None,
    limits: SandboxLimits | None = None,
    mode: str | None = None,
    trusted: dict[str, Any] | None = None,
) -> SandboxResult:
    """Run `setup` then `program` in a sandbox and `tests` here against it; see the module docstring.
    `trusted`: extra names for the tests' namespace (e.g. evalplus-style inputs and the checker)."""
    limits = limits or SandboxLimits()
    mode = mode or isolation_mode()
    started = time.monotonic()
    deadline = started + limits.timeout_s
    parts = [("setup", setup)] if setup.strip() else []
    parts.append(("solution", program))
    passed, timed_out = False, False
    with started_run(mode, limits, deadline) as (channel, home, uid):
        session = Session(channel)
        try:
            payload = run_payload(mode, parts, limits, home, uid)
            passed, why = _load_and_test(session, payload, tests, setup, prompt, entry_point, trusted)
        except RunBroken as exc:
            timed_out, why = exc.timed_out, exc.why
        finally:
            exit_code = channel.finish()
    return SandboxResult(
        passed=passed,
        timed_out=timed_out,
        why=why,
        exit_code=exit_code,
        stdout=channel.text(channel.out_fd),
        stderr=channel.text(channel.err_fd),
        isolation=mode,
        seconds=time.monotonic() - started,
        remote_objects=session.remote_objects,
        mutated_arguments=session.mutated_arguments,
    )


def _load_and_test(
    session: Session,
    payload: dict[str, Any],
    tests: str,
    setup: str,
    prompt: str | None,
    entry_point: str | None,
    trusted: dict[str, Any] | None,
) -> tuple[bool, str]:
    """(passed, why): the program loaded and the tests ran to the end with the run still answering."""
    channel = session.channel
    loaded = channel.exchange(payload)
    if type(loaded) is not dict or loaded.get("ok") != "loaded":
        error = loaded.get("raise") if type(loaded) is dict else None
        if type(error) is list and len(error) == 2:
            return (
                False,
                f"the {loaded.get('part', 'solution')} raised {str(error[0])[:100]}: {str(error[1])[:300]}",
            )
        raise RunBroken("a malformed reply to loading the program")
    namespace = _test_namespace(session, tests, setup, prompt, entry_point, trusted)
    try:
        exec(_compiled(tests, "tests"), namespace)  # trusted: the benchmark's tests
    except RunBroken:
        raise
    except BaseException as exc:  # SystemExit from a test too: it did not pass
        if channel.broken:
            raise channel.broken from None
        return False, f"tests failed: {type(exc).__name__}: {str(exc)[:300]}".rstrip(": ")
    if channel.broken:  # a test swallowed the failure (a bare except) and went on
        raise channel.broken
    return True, "passed"
