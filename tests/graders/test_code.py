"""The code grader and its sandbox: extraction, HumanEval/MBPP-style golds, and hostile programs."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import uuid
from pathlib import Path

import pytest

from graders import same_answer
from graders.code import build_program, extract_code
from graders.sandbox import isolation_mode
from tests.graders.helpers import run

PROMPT = 'from typing import List\n\n\ndef add(xs: List[int], k: int) -> List[int]:\n    """Add k to every element."""\n'
GOLD = {
    "tests": "def check(candidate):\n    assert candidate([1, 2], 1) == [2, 3]\n    assert candidate([], 5) == []\n\ncheck(add)\n",
    "entry_point": "add",
}
GOOD = "```python\ndef add(xs: List[int], k: int) -> List[int]:\n    return [x + k for x in xs]\n```"
FAST = {"timeout_s": 3}


def grade_code(response: str, *, sandbox: dict | None = None, gold: dict | None = None, **options):
    return run("code", response, gold or GOLD, prompt_prefix=PROMPT, sandbox=sandbox or FAST, **options)


def test_extracts_the_block_defining_the_entry_point() -> None:
    response = "Here:\n```python\nimport math\n```\nand\n```python\ndef add(xs, k):\n    return xs\n```\n```python\nprint(add([1], 2))\n```"
    assert extract_code(response, "add") == "def add(xs, k):\n    return xs"
    assert extract_code("```python\ndef add(xs, k):\n    return [", "add") == "def add(xs, k):\n    return ["
    assert extract_code("def add(xs, k): return xs", "add") == "def add(xs, k): return xs"


def test_body_only_completion_gets_the_prompt_prefix() -> None:
    body = "    return [x + k for x in xs]"
    assert build_program(body, "add", PROMPT).startswith(PROMPT + body)
    assert grade_code(body).reason == "right"


def test_full_function_sees_the_prompts_imports() -> None:
    result = grade_code(GOOD)
    assert (result.reason, result.score, result.detail) == ("right", 1.0, "passed")


def test_wrong_solution_and_syntax_error() -> None:
    wrong = grade_code("```python\ndef add(xs, k):\n    return xs\n```")
    assert wrong.reason == "wrong" and "AssertionError" in wrong.detail
    assert grade_code("```python\ndef add(xs, k)\n    return xs\n```").reason == "wrong"


def test_setup_runs_before_the_solution() -> None:
    gold = {"tests": "assert first_word('hi there') == 'hi'\n", "setup": "import re\n"}
    response = "```python\nsplit = re.split\n\ndef first_word(s):\n    return split(' ', s)[0]\n```"
    assert run("code", response, gold).reason == "right"


def test_per_item_prompt_prefix_in_gold() -> None:
    gold = {**GOLD, "prompt_prefix": PROMPT}
    assert run("code", "    return [x + k for x in xs]", gold).reason == "right"
    assert run("code", "    return [x + k for x in xs]", GOLD).reason == "wrong"  # no prefix: a bare body


def test_mbpp_gold_runs_setup_code_after_the_solution() -> None:
    from graders.code import mbpp_gold

    record = {"test_list": ["assert depth(root) == 2"], "test_setup_code": "root = Node(Node(None))"}
    response = (
        "```python\nclass Node:\n    def __init__(self, child):\n        self.child = child\n\n"
        "def depth(node):\n    return 0 if node is None else 1 + depth(node.child)\n```"
    )
    assert run("code", response, mbpp_gold(record).model_dump()).reason == "right"


def test_empty_and_cut_off_responses() -> None:
    assert grade_code("").reason == "no_answer"
    assert run("code", "   ", GOLD, finish_reason="length").reason == "truncated"
    cut = run("code", "```python\ndef add(xs, k):\n    return [x +", GOLD, finish_reason="length")
    assert cut.reason == "wrong" and "cut off" in cut.detail


def test_code_is_not_votable() -> None:
    with pytest.raises(ValueError, match="not votable"):
        same_answer("code", "a", "b")


def test_bad_sandbox_option_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="timeout_s"):
        grade_code(GOOD, sandbox={"timeout_s": -1})


# ---- hostile programs ------------------------------------------------------------------------

REPO_SCRATCH = Path(__file__).parent


@pytest.fixture
def sentinels(tmp_path: Path):
    """Directories outside the sandbox's temp dir that a hostile program tries to delete."""
    dirs = [tmp_path / "sentinel", REPO_SCRATCH / f".sentinel-{uuid.uuid4().hex[:8]}"]
    for d in dirs:
        d.mkdir()
        (d / "keep.txt").write_text("keep")
    yield dirs
    shutil.rmtree(dirs[1], ignore_errors=True)


@pytest.fixture
def listener():
    """A TCP server on 127.0.0.1 that records whether anything connected."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(5)
    server.settimeout(0.2)
    connections: list[object] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
                connections.append(conn)
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1], connections
    stop.set()
    thread.join(2)
    server.close()


def _solution(prelude: str) -> str:
    """A correct `add` preceded by hostile code, so only the hostile part can make it fail."""
    return f"```python\n{prelude}\n\ndef add(xs, k):\n    return [x + k for x in xs]\n```"


FORK_BOMB = "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass"
INFINITE_LOOP = "while True:\n    pass"
ALLOCATE_10GB = "block = bytearray(10 * 1024 ** 3)"
EARLY_EXIT = "import os\nos._exit(0)"
SYS_EXIT = "import sys\nsys.exit(0)"
FAKE_PASS = "import os\nprint('PASSED')\nprint('READY')\nfor fd in range(3, 64):\n    try:\n        os.write(fd, b'READY\\nPASSED')\n    except OSError:\n        pass\nos._exit(0)"


@pytest.mark.parametrize(
    ("prelude", "why"),
    [
        (FORK_BOMB, "timed out"),
        (INFINITE_LOOP, "timed out"),
        (ALLOCATE_10GB, "MemoryError"),
        (EARLY_EXIT, "exit code 0"),
        (SYS_EXIT, "SystemExit"),
        (FAKE_PASS, "exit code 0"),
    ],
    ids=[
        "fork_bomb",
        "infinite_loop",
        "allocate_10GB",
        "os_exit_before_asserts",
        "sys_exit",
        "prints_passed",
    ],
)
def test_hostile_program_is_contained_and_next_sample_grades_right(prelude: str, why: str) -> None:
    hostile = grade_code(_solution(prelude))
    assert hostile.reason == "wrong", hostile
    assert why in hostile.detail
    assert grade_code(GOOD).reason == "right"


def test_rm_rf_outside_the_temp_dir(sentinels: list[Path]) -> None:
    if isolation_mode() not in ("forkserver", "namespaces"):
        pytest.skip(
            f"filesystem isolation needs root (a jailed mode); this machine runs {isolation_mode()!r}"
        )
    prelude = "import os, shutil\n" + "\n".join(
        f"os.system('rm -rf {d}')\nshutil.rmtree({str(d)!r}, ignore_errors=True)" for d in sentinels
    )
    prelude += "\nassert not any(os.path.exists(p) for p in " + repr([str(d) for d in sentinels]) + ")"
    result = grade_code(_solution(prelude))
    for d in sentinels:
        assert (d / "keep.txt").read_text() == "keep"
    assert result.reason == "wrong"
    assert grade_code(GOOD).reason == "right"


def test_no_network_to_a_local_listener(listener) -> None:
    port, connections = listener
    prelude = f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=2).close()"
    result = grade_code(_solution(prelude))
    assert result.reason == "wrong", result
    assert connections == []
    assert grade_code(GOOD).reason == "right"


def test_environment_is_scrubbed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARNESS_TEST_SECRET", "s3cret")
    prelude = (
        "import os\nassert 'HARNESS_TEST_SECRET' not in os.environ\nassert os.environ['HOME'] == os.getcwd()"
    )
    assert grade_code(_solution(prelude)).reason == "right"


def test_output_is_capped() -> None:
    from graders.sandbox import SandboxLimits, run_program

    result = run_program([("spam", "print('x' * 10_000_000)")], SandboxLimits(output_bytes=1000))
    assert result.passed and len(result.stdout) == 1000


def test_sandbox_runs_as_another_user_when_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("uid drop applies only when the harness runs as root")
    assert isolation_mode() in ("forkserver", "namespaces")
    # Not root, and pid 2 under the root init (pid 1) of the run's own PID namespace.
    check = "import os\nassert os.getuid() != 0 and (os.getppid(), os.getpid()) == (1, 2)"
    assert grade_code(_solution(check)).reason == "right"


@pytest.mark.parametrize("mode", ["namespaces", "userns", "plain"])
def test_fallback_modes_still_block_the_network_and_need_the_marker(mode: str, listener) -> None:
    """The modes used when the fork server or root is unavailable: no connection, early exits still fail."""
    from graders.registry import GradingInfrastructureError
    from graders.sandbox import SandboxLimits, _run

    port, connections = listener
    limits = SandboxLimits(timeout_s=5)
    try:
        ok = _run(mode, [("solution", "x = 1"), ("tests", "assert x == 1")], limits)
    except GradingInfrastructureError as exc:
        pytest.skip(f"{mode} mode unavailable here: {exc}")
    assert ok.passed
    probe = f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=2).close()"
    assert not _run(mode, [("solution", probe)], limits).passed
    assert connections == []
    assert not _run(mode, [("solution", EARLY_EXIT), ("tests", "assert False")], limits).passed
    assert not _run(mode, [("solution", FAKE_PASS), ("tests", "assert False")], limits).passed
    assert not _run(mode, [("solution", ALLOCATE_10GB)], limits).passed


def test_no_process_outlives_its_run() -> None:
    """Fork bombs, sleeping children and setsid daemons all end with their run (checked by uid)."""
    from graders.sandbox import _SLOTS_PER_PROCESS, _UID_BASE, _pids_of

    if isolation_mode() not in ("forkserver", "namespaces"):
        pytest.skip(f"per-run uids need root (a jailed mode); this machine runs {isolation_mode()!r}")
    daemon = "import os, time\nif os.fork() == 0:\n    os.setsid()\n    time.sleep(60)"
    sleepers = "import os, time\nfor _ in range(5):\n    if os.fork() == 0:\n        time.sleep(60)"
    assert grade_code(_solution(FORK_BOMB)).reason == "wrong"
    assert grade_code(_solution(daemon)).reason == "right"  # the daemon does not make the run fail...
    assert grade_code(_solution(sleepers)).reason == "right"
    first_uid = _UID_BASE + os.getpid() * _SLOTS_PER_PROCESS
    leftovers = [pid for uid in range(first_uid, first_uid + _SLOTS_PER_PROCESS) for pid in _pids_of(uid)]
    assert leftovers == []  # ...but it does not survive it either
