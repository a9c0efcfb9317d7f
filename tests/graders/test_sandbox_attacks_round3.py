"""Round 3 of hostile programs against the code grader.

The holes this round found were in the harness and the kernel surface, not in the verdict: replies that are
cheap to send and costly to decode (the tests run in the harness's process, where no deadline can stop one
C-level parse), an endless generator drained into the harness's memory, the OOM killer's choice when a run's
processes together take the machine's memory, and syscalls no answer needs (a jailed run could make a user
namespace and mount in it, or set up io_uring). Each test below failed before its fix.

The last test replays this round's verdict attacks (always-equal objects, patched builtins, tracing, frame and
gc tampering, early exits, forged frames, reading the tests) as completions of real HumanEval and MBPP items:
they already failed before this round, and it keeps them failing.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from graders import GradeRequest, grade
from graders.code import humaneval_gold, mbpp_gold
from graders.sandbox import SandboxLimits, judge_program
from graders.sandbox.wire import MAX_DEPTH, MAX_HASH_WORK, WireError, check_hash_spread
from tasks.custom.mbpp import entry_point as mbpp_entry_point
from tests.graders.test_sandbox_attacks import MODES, RIGHT, TESTS

LIMITS = SandboxLimits(timeout_s=10)


def judge(program: str, tests: str = TESTS, mode: str | None = None, **limits: object):
    return judge_program(
        program, tests, entry_point="add", limits=LIMITS.model_copy(update=limits), mode=mode
    )


def assert_refused_then_next_right(program: str, mode: str, why: str, tests: str = TESTS, **limits: object):
    hostile = judge(program, tests, mode, **limits)
    assert not hostile.passed and why in hostile.why, hostile
    assert judge(RIGHT, mode=mode).passed
    return hostile


# A reply frame written straight to the reply pipe (fd 4), as the runner would frame it.
SEND_FRAME = """
import os, time
def send(data):
    os.write(4, len(data).to_bytes(4, "big"))
    view = memoryview(data)
    while view:
        view = view[os.write(4, view[: 1 << 20]):]
"""
# 60 MB of this took the harness 3 GB and a minute to parse (each `[]` is 3 bytes of JSON, ~80 of Python objects,
# twice over once decoded); the test sends a little more than the default limit of values.
EMPTY_LISTS = (
    SEND_FRAME
    + """
def add(xs, k):
    send(b'{"ok":[' + b'[],' * 1_100_000 + b'[]]}')
    time.sleep(30)
"""
)


@pytest.mark.parametrize("mode", MODES)
def test_a_reply_of_a_million_tiny_values_is_refused_before_it_is_parsed(mode: str) -> None:
    assert_refused_then_next_right(EMPTY_LISTS, mode, "more than 1000000 values")


@pytest.mark.parametrize("mode", MODES)
def test_the_value_limit_is_per_reply_and_configurable(mode: str) -> None:
    program = "def add(n, k):\n    return [[i] for i in range(n)]\n"
    tests = "assert len(add(3000, 0)) == 3000\n"
    assert_refused_then_next_right(program, mode, "more than 5000 values", tests, message_values=5000)
    many_small = "for _ in range(5):\n    assert add(2000, 0) == [[i] for i in range(2000)]\n"
    assert judge(program, many_small, mode, message_values=5000).passed


def test_hashing_every_part_of_deeply_nested_values_has_a_budget() -> None:
    """Hashing a tuple walks all of it, so checking each nested value's hash costs the sum of their depths:
    5,000 chains of 199 tuples (8 MB of JSON) took 12 s, out of the deadline's reach."""
    chain: object = ()
    for _ in range(MAX_DEPTH - 1):
        chain = (chain,)
    copies = MAX_HASH_WORK // (MAX_DEPTH * MAX_DEPTH // 2) + 10
    with pytest.raises(WireError, match="nested too deeply"):
        check_hash_spread([chain] * copies)
    assert check_hash_spread([chain] * 10) == 10 * MAX_DEPTH + 1  # a few deep values are ordinary data
    assert check_hash_spread(list(range(1_000_000))) == 1_000_001  # so are a million flat ones


ENDLESS_GENERATOR = "def add(xs, k):\n    chunk = 'x' * (10 << 10)\n    while True:\n        yield chunk\n"


@pytest.mark.parametrize("mode", MODES)
def test_an_endless_generator_gets_one_replys_worth(mode: str) -> None:
    """list(f()) keeps every batch in the harness: 200 KB strings reached 1.3 GB there before the deadline."""
    tests = "assert list(add([1, 2], 1)) == [2, 3]\n"
    result = assert_refused_then_next_right(ENDLESS_GENERATOR, mode, "iteration", tests, message_mb=4)
    assert not result.timed_out
    finite = "def add(xs, k):\n    for x in xs:\n        yield x + k\n"
    assert judge(finite, "assert list(add(list(range(5000)), 1)) == list(range(1, 5001))\n", mode).passed


@pytest.mark.parametrize("mode", [m for m in MODES if m == "namespaces"])
def test_runs_are_first_for_the_oom_killer_and_cannot_step_back(mode: str) -> None:
    """RLIMIT_AS bounds each process, not a run: 32 processes of 1 GiB each are more than this machine has.
    Should memory run out, the kernel must kill a run's processes, not the harness's."""
    program = (
        "def add(xs, k):\n    try:\n        with open('/proc/self/oom_score_adj', 'w') as f:\n"
        "            f.write('0')\n    except OSError:\n        pass\n"
        "    return int(open('/proc/self/oom_score_adj').read())\n"
    )
    result = judge(program, "assert add([], 0) == 1000\n", mode)
    assert result.passed, result.why


# Each call as the kernel would take it from a run; PTRACE_SEIZE of the parent (the fork server) does not stop it
# should it succeed. Before the syscall filter every one but ptrace worked in the jail (a user namespace gave the
# run mount, pivot_root and a /proc of its own), and in "plain" mode ptrace of the fork server worked too.
ESCAPE_SYSCALLS = """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
X86 = os.uname().machine == "x86_64"
def errno_of(result):
    return 0 if result >= 0 else ctypes.get_errno()
def add(xs, k):
    ring = ctypes.create_string_buffer(120)
    calls = {
        "unshare(CLONE_NEWUSER)": lambda: libc.unshare(0x10000000),
        "unshare(CLONE_NEWNS)": lambda: libc.unshare(0x00020000),
        "clone(CLONE_NEWUSER)": lambda: libc.syscall(56 if X86 else 220, 0x10000000 | 17, 0, 0, 0, 0),
        "mount": lambda: libc.mount(b"none", b"/tmp", b"tmpfs", 0, None),
        "ptrace(PTRACE_SEIZE, parent)": lambda: libc.ptrace(0x4206, os.getppid(), 0, 0),
        "io_uring_setup": lambda: libc.syscall(425, 4, ring),
        "bpf": lambda: libc.syscall(321 if X86 else 280, 0, None, 0),
        "keyctl": lambda: libc.syscall(250 if X86 else 219, 0, 0, 0, 0, 0),
        "userfaultfd": lambda: libc.syscall(323 if X86 else 282, 0),
        "process_vm_readv(parent)": lambda: libc.syscall(310 if X86 else 270, os.getppid(), ring, 1, ring, 1, 0),
    }
    found = {}
    for name, call in calls.items():
        result = call()
        if result == 0 and name.startswith("clone"):
            os._exit(0)
        found[name] = errno_of(result)
    return found
"""
LEGIT_PROCESSES = """
import multiprocessing, os, subprocess, threading
from concurrent.futures import ThreadPoolExecutor
def add(xs, k):
    thread = threading.Thread(target=lambda: None)
    thread.start()
    thread.join()
    assert subprocess.run(["/bin/echo", "hi"], capture_output=True).stdout == b"hi\\n"
    pid = os.fork()
    if pid == 0:
        os._exit(3)
    assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 3
    with multiprocessing.Pool(2) as pool, ThreadPoolExecutor(2) as threads:
        return pool.map(abs, xs) + list(threads.map(abs, [k]))
"""


@pytest.mark.parametrize("mode", MODES)
def test_namespace_mount_ptrace_and_kernel_surface_syscalls_are_refused(mode: str) -> None:
    tests = "import errno\nfound = add([], 0)\nassert set(found.values()) == {errno.EPERM}, found\n"
    result = judge(ESCAPE_SYSCALLS, tests, mode)
    assert result.passed, result.why
    legit = judge(LEGIT_PROCESSES, "assert add([-1, -2], -3) == [1, 2, 3]\n", mode)
    assert legit.passed, legit.why + legit.stderr[-500:]


# ---- this round's verdict attacks, as completions of real items ---------------------------------

ALWAYS_EQUAL = "class E:\n    def __eq__(s, o): return True\n    def __ne__(s, o): return False\n    __hash__ = object.__hash__\n"
VERDICT_ATTACKS: dict[str, tuple[str | int, str]] = {
    "always_equal_object": ("HumanEval/53", ALWAYS_EQUAL + "def add(x, y):\n    return E()"),
    "int_subclass_eq": (
        "HumanEval/53",
        "class E(int):\n    __eq__ = lambda s, o: True\n    __hash__ = int.__hash__\ndef add(x, y):\n    return E(0)",
    ),
    "float_subclass_sub_abs_lt": (
        "HumanEval/2",
        "class F(float):\n    __sub__ = lambda s, o: F(0)\n    __abs__ = lambda s: 0.0\n    __lt__ = lambda s, o: True\ndef truncate_number(number):\n    return F(99.0)",
    ),
    "object_float_abs_sub": (
        "HumanEval/2",
        "class F:\n    __sub__ = __rsub__ = lambda s, o: s\n    __abs__ = __float__ = lambda s: 0.0\n    __lt__ = lambda s, o: True\ndef truncate_number(number):\n    return F()",
    ),
    "list_subclass_eq_iter": (
        "HumanEval/29",
        "class L(list):\n    __eq__ = lambda s, o: True\n    __iter__ = lambda s: iter([])\ndef filter_by_prefix(strings, prefix):\n    return L()",
    ),
    "str_subclass_eq": (
        "HumanEval/89",
        "class S(str):\n    __eq__ = lambda s, o: True\n    __hash__ = str.__hash__\ndef encrypt(s):\n    return S('x')",
    ),
    "always_equal_in_list": (
        "HumanEval/29",
        ALWAYS_EQUAL + "def filter_by_prefix(strings, prefix):\n    return [E()] * len(strings)",
    ),
    "always_equal_tuple_subclass": (
        2,
        "class E(tuple):\n    __eq__ = lambda s, o: True\n    __hash__ = tuple.__hash__\ndef similar_elements(a, b):\n    return E()",
    ),
    "always_equal_set_subclass": (
        2,
        "class S(set):\n    __eq__ = lambda s, o: True\n    __hash__ = None\ndef similar_elements(a, b):\n    return S()",
    ),
    "round_and_eq": (
        1,
        "class R:\n    __round__ = lambda s, n=None: 8\n    __eq__ = lambda s, o: True\n    __hash__ = object.__hash__\ndef min_cost(cost, m, n):\n    return R()",
    ),
    "len_lies": (
        "HumanEval/29",
        "class L(list):\n    __len__ = lambda s: 2\ndef filter_by_prefix(strings, prefix):\n    return L([])",
    ),
    "metaclass_eq": (
        "HumanEval/53",
        "class M(type):\n    __eq__ = lambda c, o: True\n    __hash__ = type.__hash__\nclass K(metaclass=M): pass\ndef add(x, y):\n    return K",
    ),
    "nan_and_inf_for_tolerances": (
        "HumanEval/32",
        "def find_zero(xs):\n    return float('nan') if len(xs) % 2 else float('inf')",
    ),
    "complex_for_poly": ("HumanEval/32", "def find_zero(xs):\n    return complex('nan')"),
    "patched_builtins_and_math": (
        "HumanEval/53",
        "import builtins, math\nbuiltins.abs = lambda x: 0\nbuiltins.isinstance = lambda *a: True\nbuiltins.sorted = lambda *a, **k: []\nmath.isclose = lambda *a, **k: True\nbuiltins.AssertionError = type('X', (Exception,), {})\ndef add(x, y):\n    return 0",
    ),
    "settrace_setprofile": (
        "HumanEval/53",
        "import sys\ndef t(f, e, a):\n    f.f_locals.pop('candidate', None)\n    return t\nsys.settrace(t)\nsys.setprofile(lambda *a: None)\ndef add(x, y):\n    return 0",
    ),
    "frame_locals_to_fast": (
        "HumanEval/53",
        "import sys, ctypes\ndef add(x, y):\n    f = sys._getframe(1)\n    while f:\n        for k in list(f.f_locals):\n            f.f_locals[k] = None\n        ctypes.pythonapi.PyFrame_LocalsToFast(ctypes.py_object(f), ctypes.c_int(0))\n        f = f.f_back\n    return 0",
    ),
    "gc_rewrites_check": (
        "HumanEval/53",
        "import gc\nfor o in gc.get_objects():\n    if getattr(o, '__name__', '') == 'check':\n        o.__code__ = (lambda c: None).__code__\ndef add(x, y):\n    return 0",
    ),
    "inspect_stack_globals": (
        "HumanEval/53",
        "import inspect\ndef add(x, y):\n    for fr in inspect.stack():\n        fr.frame.f_globals['check'] = lambda c: None\n    return 0",
    ),
    "sys_modules_and_meta_path": (
        "HumanEval/53",
        "import sys, types\nm = types.ModuleType('random')\nm.randint = lambda a, b: 0\nsys.modules['random'] = sys.modules['math'] = m\nclass H:\n    def find_spec(self, *a, **k):\n        raise SystemExit(0)\nsys.meta_path.insert(0, H())\ndef add(x, y):\n    return 0",
    ),
    "sys_exit_in_the_call": ("HumanEval/53", "import sys\ndef add(x, y):\n    sys.exit(0)"),
    "os_exit_in_the_call": ("HumanEval/53", "import os\ndef add(x, y):\n    os._exit(0)"),
    "systemexit_at_import": ("HumanEval/53", "raise SystemExit(0)\ndef add(x, y):\n    return 0"),
    "keyboardinterrupt": ("HumanEval/53", "def add(x, y):\n    raise KeyboardInterrupt"),
    "generatorexit": ("HumanEval/53", "def add(x, y):\n    raise GeneratorExit"),
    "baseexception_subclass": (
        "HumanEval/53",
        "class Passed(BaseException): pass\ndef add(x, y):\n    raise Passed('passed')",
    ),
    "homemade_stopiteration": (
        "HumanEval/53",
        "class StopIteration(Exception): pass\ndef add(x, y):\n    raise StopIteration",
    ),
    "atexit_signal_excepthooks_del": (
        "HumanEval/53",
        "import atexit, os, signal, sys, threading\natexit.register(lambda: os._exit(0))\nfor s in (signal.SIGTERM, signal.SIGALRM, signal.SIGINT):\n    signal.signal(s, lambda *a: os._exit(0))\nsys.excepthook = threading.excepthook = lambda *a: os._exit(0)\nclass D:\n    __del__ = lambda s: os._exit(0)\nd = D()\ndef add(x, y):\n    return 0",
    ),
    "signal_everyone": (
        "HumanEval/53",
        "import os, signal\nfor p in (0, -1, os.getppid(), 1):\n    try:\n        os.kill(p, signal.SIGTERM)\n    except OSError:\n        pass\ndef add(x, y):\n    return 0",
    ),
    "fork_and_parent_exits": (
        "HumanEval/53",
        "import os\nif os.fork():\n    os._exit(0)\ndef add(x, y):\n    return 0",
    ),
    "forged_loaded_and_pass_frames": (
        "HumanEval/53",
        "import os, json\nfor m in ({'ok': 'loaded'}, {'ok': True}, {'passed': True}):\n    d = json.dumps(m).encode()\n    os.write(4, len(d).to_bytes(4, 'big') + d)\ndef add(x, y):\n    return 0",
    ),
    "marker_on_every_fd": (
        "HumanEval/53",
        'import os\nfor fd in range(64):\n    try:\n        os.write(fd, b\'\\x00\\x00\\x00\\x0f{"ok":"loaded"}PASSED\\n\')\n    except OSError:\n        pass\ndef add(x, y):\n    return 0',
    ),
    "forged_reply_ahead_of_the_real_one": (
        "HumanEval/53",
        "import os, json\ndef add(x, y):\n    d = json.dumps({'ok': x + y + 1}).encode()\n    os.write(4, len(d).to_bytes(4, 'big') + d)\n    return x + y",
    ),
    "forged_mutation_then_exit": (
        12,
        "import os, json\ndef sort_matrix(M):\n    d = json.dumps({'ok': [], 'mutated': {'0': [], '-1': []}}).encode()\n    os.write(4, len(d).to_bytes(4, 'big') + d)\n    os._exit(0)",
    ),
    "reads_cmdline_environ_for_tests": (
        "HumanEval/53",
        "import os\ndata = open('/proc/self/cmdline', 'rb').read() + open('/proc/1/environ', 'rb').read()\ndef add(x, y):\n    assert b'check' in data\n    return x + y",
    ),
    "walks_stack_for_tests": (
        "HumanEval/53",
        "import sys\ndef add(x, y):\n    f = sys._getframe()\n    while f:\n        assert 'tests' not in f.f_code.co_filename\n        f = f.f_back\n    return 0",
    ),
    "builtin_named_entry_point_missing": (126, "def nothing():\n    pass"),
}


def _request(item: str | int, completion: str, data_dir: Path) -> GradeRequest:
    if isinstance(item, str):
        with gzip.open(data_dir / "humaneval" / "HumanEval.jsonl.gz", "rt") as lines:
            record = next(r for r in map(json.loads, lines) if r["task_id"] == item)
        gold = {**humaneval_gold(record).model_dump(), "prompt_prefix": record["prompt"]}
    else:
        with (data_dir / "mbpp" / "mbpp.jsonl").open() as lines:
            record = next(r for r in map(json.loads, lines) if r["task_id"] == item)
        entry = mbpp_entry_point(record["code"], record["test_list"][0])
        gold = {"tests": mbpp_gold(record).tests, "entry_point": entry}
    response = f"Here you go:\n\n```python\n{completion}\n```\n"
    return GradeRequest(grader="code", response=response, gold=gold, options={"sandbox": {"timeout_s": 5}})


@pytest.mark.realdata
def test_verdict_attacks_on_real_items_are_wrong(data_dir: Path) -> None:
    verdicts = {
        name: grade(_request(item, completion, data_dir))
        for name, (item, completion) in VERDICT_ATTACKS.items()
    }
    passed = {name: r.detail for name, r in verdicts.items() if r.correct or r.reason != "wrong"}
    assert passed == {}
    assert grade(_request("HumanEval/53", "def add(x, y):\n    return x + y", data_dir)).correct
