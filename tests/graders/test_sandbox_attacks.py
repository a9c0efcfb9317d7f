"""Hostile programs against the code sandbox: each is graded wrong, the next sample still grades right,
and nothing is left on the host. Attacks on the verdict run in every isolation mode this machine has
(plain included: the verdict never depends on the program's process); attacks on the host need a
jailed mode and are skipped, saying so, on a machine without namespaces."""

from __future__ import annotations

import os
import socket
import threading
import uuid
from pathlib import Path

import pytest

from graders.sandbox import SandboxLimits, isolation_mode, judge_program
from graders.sandbox.modes import run_payload
from graders.sandbox.zygote import SLOTS_PER_PROCESS, pids_of, run_uid
from tests.graders.helpers import run

TESTS = "def check(candidate):\n    assert candidate([1, 2], 1) == [2, 3]\n    assert candidate([], 5) == []\n\ncheck(add)\n"
GOLD = {"tests": TESTS, "entry_point": "add"}
RIGHT = "def add(xs, k):\n    return [x + k for x in xs]\n"
WRONG = "def add(xs, k):\n    return xs\n"
LIMITS = SandboxLimits(timeout_s=5)


def _available_modes() -> list[str]:
    modes = []
    for mode in ("namespaces", "userns", "plain"):
        try:
            if judge_program(RIGHT, TESTS, entry_point="add", limits=LIMITS, mode=mode).passed:
                modes.append(mode)
        except Exception:  # noqa: BLE001 - a mode this machine cannot run
            continue
    return modes


MODES = _available_modes()
JAILED = [m for m in MODES if m != "plain"]


def grade(program: str, mode: str, tests: str = TESTS, **limits: object):
    return judge_program(
        program, tests, entry_point="add", limits=LIMITS.model_copy(update=limits), mode=mode
    )


def assert_wrong_then_next_right(program: str, mode: str, tests: str = TESTS, **limits: object):
    hostile = grade(program, mode, tests, **limits)
    assert not hostile.passed, hostile
    assert grade(RIGHT, mode).passed
    return hostile


def host_processes_with(token: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if token.encode() in Path(f"/proc/{entry}/cmdline").read_bytes():
                    found.append(int(entry))
            except OSError:
                continue
    return found


def test_there_is_a_jailed_mode_when_root() -> None:
    if os.geteuid() == 0:
        assert "namespaces" in MODES and isolation_mode() == "namespaces"
    assert MODES, "no sandbox mode works on this machine"


# ---- forging the verdict: wrong answers that try to pass ----------------------------------

# Everything the runner's frames hold is the program's own side of the pipe: a forged "passed" is
# just a malformed reply. (A program that already knows each expected output could send those, like
# any hard-coded answer; the tests still compare them.)
FRAME_WALK = """
import sys
frame = sys._getframe(0)
while frame is not None:
    names = frame.f_locals
    if "write_frame" in names:
        for message in (b'{"ok":"loaded"}', b'{"passed":true}', b'{"ok":true}', b'PASSED'):
            names["write_frame"](4, message)
    frame = frame.f_back
import os
os._exit(0)
"""
PATCHED_BUILTINS = """
import atexit, builtins, os, sys
real_compile = builtins.compile
builtins.exec = lambda *a, **k: None
builtins.compile = lambda *a, **k: real_compile("pass", "<x>", "exec")
builtins.AssertionError = type("AssertionError", (Exception,), {})
sys.excepthook = lambda *a: None
atexit.register(lambda: os._exit(0))
"""
ALWAYS_EQUAL = """
class Anything(list):
    def __eq__(self, other):
        return True
    __ne__ = lambda self, other: False
class Any2:
    __eq__ = lambda self, other: True
    __hash__ = object.__hash__
def add(xs, k):
    return Any2() if xs else Anything()
"""
ALWAYS_TRUE = """
class Yes:
    def __bool__(self):
        return True
    def __eq__(self, other):
        return True
def is_even(n):
    return Yes()
"""
PRINTS_PASSED = "import os\nprint('PASSED')\nprint('READY')\nfor fd in range(3, 64):\n    try:\n        os.write(fd, b'READY\\nPASSED')\n    except OSError:\n        pass\nos._exit(0)\n"
EARLY_EXIT = "import os\nos._exit(0)\n"
SYS_EXIT = "import sys\nsys.exit(0)\n"
EXIT_DURING_CALL = "import os\ndef add(xs, k):\n    os._exit(0)\n"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "prelude",
    [FRAME_WALK, PATCHED_BUILTINS, PRINTS_PASSED, EARLY_EXIT, SYS_EXIT],
    ids=[
        "frame_walk_forgery",
        "patched_exec_compile_assert_excepthook_atexit",
        "prints_passed",
        "os_exit",
        "sys_exit",
    ],
)
def test_forged_pass_is_wrong(prelude: str, mode: str) -> None:
    assert_wrong_then_next_right(prelude + "\n" + WRONG, mode)


@pytest.mark.parametrize("mode", MODES)
def test_always_equal_and_always_true_objects_are_wrong(mode: str) -> None:
    assert_wrong_then_next_right(ALWAYS_EQUAL, mode)
    tests = "assert is_even(4)\nassert not is_even(3)\n"
    assert_wrong_then_next_right(ALWAYS_TRUE, mode, tests)
    assert_wrong_then_next_right(ALWAYS_TRUE, mode, "assert is_even(4) == True\n")


@pytest.mark.parametrize("mode", MODES)
def test_exit_during_a_call_is_wrong(mode: str) -> None:
    result = assert_wrong_then_next_right(EXIT_DURING_CALL, mode)
    assert "exited" in result.why


def test_the_verdict_through_the_code_grader() -> None:
    """End to end (extraction, prompt prefix, the grader's own mode): the issue's forgery scores 0."""
    forgery = "```python\nimport sys\nf = sys._getframe(1).f_locals\nf['write'](f['result_fd'], f['marker']); f['exit_now'](0)\n```"
    assert run("code", forgery, GOLD).reason == "wrong"
    assert run("code", f"```python\n{RIGHT}```", GOLD).reason == "right"


# Distinct values with one hash make every set built from them quadratic, and the tests that build sets run in
# the harness (under the GIL, out of the deadline's reach): 30,000 such ints took 8 s there before replies were
# checked. Both as a returned list the test turns into a set, and as a set frame written straight to the reply
# pipe (decoding it would build the set).
_MODULUS = (1 << 61) - 1
COLLIDING_LIST = f"def add(xs, k):\n    return [j * {_MODULUS} for j in range(1, 30000)]\n"
COLLIDING_SET_FRAME = f"""
import json, os, time
def add(xs, k):
    members = [{{"i": format(j * {_MODULUS}, "x")}} for j in range(1, 30000)]
    data = json.dumps({{"ok": {{"s": members}}}}).encode()
    os.write(4, len(data).to_bytes(4, "big") + data)
    time.sleep(60)
"""


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("program", [COLLIDING_LIST, COLLIDING_SET_FRAME], ids=["returned_list", "forged_set_frame"])
def test_hash_collision_floods_are_refused_before_the_tests_hash_them(program: str, mode: str) -> None:
    tests = "assert set(add([1, 2], 1)) == {2, 3}\n"
    result = assert_wrong_then_next_right(program, mode, tests, timeout_s=20)
    assert "share one hash" in result.why, result


# ---- resources ---------------------------------------------------------------------------

FORK_BOMB = "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n"
THREAD_BOMB = (
    "import threading, time\nwhile True:\n    threading.Thread(target=time.sleep, args=(60,)).start()\n"
)
INFINITE_LOOP = "while True:\n    pass\n"
ALLOCATE_10GB = "block = bytearray(10 * 1024 ** 3)\n"
STDOUT_1GB = "import os\nchunk = b'x' * (1 << 20)\nfor _ in range(1024):\n    os.write(1, chunk)\n"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("prelude", "why"),
    [(FORK_BOMB, ""), (THREAD_BOMB, ""), (INFINITE_LOOP, "timed out"), (ALLOCATE_10GB, "MemoryError")],
    ids=["fork_bomb", "thread_bomb", "infinite_loop", "allocate_10GB"],
)
def test_resource_attacks_are_contained(prelude: str, why: str, mode: str) -> None:
    result = assert_wrong_then_next_right(prelude + RIGHT, mode, timeout_s=3)
    assert why in result.why


@pytest.mark.parametrize("mode", MODES)
def test_a_run_ended_by_its_cpu_limit_is_a_time_out(mode: str) -> None:
    # The CPU limit fires before the wall-clock deadline (as on a loaded machine, where the two race):
    # the run is reported as timed out, not as an unexplained kill.
    result = assert_wrong_then_next_right(INFINITE_LOOP + RIGHT, mode, timeout_s=20, cpu_s=1)
    assert result.timed_out and "CPU-time limit" in result.why, result
    assert result.seconds < 15


@pytest.mark.parametrize("mode", MODES)
def test_1gb_of_stdout_is_capped(mode: str) -> None:
    result = assert_wrong_then_next_right(STDOUT_1GB + WRONG, mode, timeout_s=20)
    assert len(result.stdout) <= LIMITS.output_bytes


# ---- the host and other samples ----------------------------------------------------------


@pytest.fixture
def sentinels(tmp_path: Path):
    """Files outside the sandbox: in the host's /tmp, in this repository's tree, wherever it is cloned."""
    paths = [tmp_path / "sentinel.txt", Path(__file__).parent / f".sentinel-{uuid.uuid4().hex[:8]}.txt"]
    for p in paths:
        p.write_text("keep")
    yield paths
    paths[1].unlink(missing_ok=True)


@pytest.mark.parametrize("mode", JAILED)
def test_rm_rf_outside_the_sandbox(sentinels: list[Path], mode: str) -> None:
    prelude = "import os, shutil\n" + "".join(
        f"os.system('rm -rf {p.parent}')\nshutil.rmtree({str(p.parent)!r}, ignore_errors=True)\n"
        for p in sentinels
    )
    grade(prelude + RIGHT, mode)
    assert [p.read_text() for p in sentinels] == ["keep", "keep"]
    assert grade(RIGHT, mode).passed


@pytest.mark.parametrize("mode", JAILED)
def test_host_files_are_not_there(sentinels: list[Path], mode: str) -> None:
    """The data mirror, the project tree, /etc, the harness's /tmp: a program that needs to read one fails."""
    data = os.environ.get("HARNESS_DATA_DIR") or str(
        Path(__file__).resolve().parents[3] / "shared" / "datasets"
    )
    targets = [
        str(sentinels[0]),
        str(sentinels[1]),
        str(Path(__file__).resolve()),
        str(Path(data) / "humaneval" / "HumanEval.jsonl.gz"),
        "/etc/hostname",
        "/etc/passwd",
    ]
    for target in targets:
        program = f"with open({target!r}, 'rb') as f:\n    f.read(1)\n" + RIGHT
        assert_wrong_then_next_right(program, mode)
    listing = "import os\ndef add(path, k):\n    return sorted(os.listdir(path))\n"
    # Asserted on the trusted side: only system directories at the root, /etc holds at most ld.so.cache.
    allowed = {
        "bin",
        "dev",
        "etc",
        "lib",
        "lib32",
        "lib64",
        "libx32",
        "proc",
        "root",
        "run",
        "sbin",
        "tmp",
        "usr",
        "var",
    }
    tests = f"assert set(add('/', 0)) <= {allowed!r}\nassert add('/etc', 0) in ([], ['ld.so.cache'])\nassert add('/tmp', 0) == []\n"
    result = grade(listing, mode, tests)
    assert result.passed, result.why


WRITE_EVERYWHERE = """
import ctypes, os
TOKEN = {token!r}
for path in ("/run/" + TOKEN, "/run/lock/" + TOKEN, "/dev/shm/" + TOKEN, "/tmp/" + TOKEN, "/var/tmp/" + TOKEN):
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write("left behind")
    except OSError:
        pass
libc = ctypes.CDLL(None, use_errno=True)
segment = libc.shmget({key}, 4096, 0o1000 | 0o666)  # IPC_CREAT
libc.shmat.restype = ctypes.c_void_p
if segment >= 0:
    address = libc.shmat(segment, None, 0)
    if address not in (None, ctypes.c_void_p(-1).value):
        ctypes.memmove(address, b"left behind", 11)
fd = os.open("/dev/shm/posix-" + TOKEN, os.O_CREAT | os.O_RDWR, 0o666)
os.write(fd, b"left behind")
"""
FIND_LEFTOVERS = """
import ctypes, os
TOKEN = {token!r}
found = [p for p in ("/run/" + TOKEN, "/run/lock/" + TOKEN, "/dev/shm/" + TOKEN, "/tmp/" + TOKEN,
                     "/var/tmp/" + TOKEN, "/dev/shm/posix-" + TOKEN) if os.path.exists(p)]
if ctypes.CDLL(None).shmget({key}, 0, 0) >= 0:
    found.append("sysv shm")
assert found, "nothing from the previous sample"
"""


@pytest.mark.parametrize("mode", JAILED)
def test_run_shm_and_tmp_writes_reach_neither_the_next_sample_nor_the_host(mode: str) -> None:
    token, key = f"sbx-{uuid.uuid4().hex[:10]}", 0x5B0000 + os.getpid() % 0xFFFF
    grade(WRITE_EVERYWHERE.format(token=token, key=key) + RIGHT, mode)
    assert_wrong_then_next_right(FIND_LEFTOVERS.format(token=token, key=key) + RIGHT, mode)
    for path in (f"/run/{token}", f"/run/lock/{token}", f"/dev/shm/{token}", f"/dev/shm/posix-{token}",
                 f"/tmp/{token}", f"/var/tmp/{token}"):  # fmt: skip
        assert not os.path.exists(path), path
    shm = Path("/proc/sysvipc/shm").read_text().split("\n")[1:]
    assert not any(line.split() and int(line.split()[0]) == key for line in shm)


@pytest.mark.parametrize("mode", JAILED)
@pytest.mark.parametrize("where", ["/tmp", "/dev/shm", "/run"])
def test_filling_the_private_tmpfs_is_contained(mode: str, where: str) -> None:
    fill = (
        f"import os\nchunk = b'x' * (1 << 20)\nwith open('{where}/fill', 'wb', buffering=0) as f:\n"
        "    for _ in range(3 * 1024):\n        f.write(chunk)\n"
    )
    before = os.statvfs("/tmp").f_bfree
    result = assert_wrong_then_next_right(fill + RIGHT, mode)
    assert "No space left" in result.why or "File too large" in result.why
    lost = (before - os.statvfs("/tmp").f_bfree) * os.statvfs("/tmp").f_frsize
    assert lost < 512 * 1024 * 1024  # the host /tmp got none of the 3 GiB (other tests may write a little)


@pytest.mark.parametrize("mode", JAILED)
def test_setsid_double_fork_daemon_dies_with_its_run(mode: str) -> None:
    token = f"36{uuid.uuid4().int % 10**8}"
    daemon = (
        "import os\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
        f"        os.execv('/bin/sleep', ['sleep', '{token}'])\n    os._exit(0)\n"
    )
    result = grade(daemon + RIGHT, mode)
    assert result.passed  # a daemon does not make an answer wrong...
    assert host_processes_with(token) == []  # ...but it does not outlive the run
    assert grade(FORK_BOMB + RIGHT, mode, timeout_s=2).passed is False
    if mode == "namespaces":  # nothing runs as any of this process's sandbox uids once its runs are over
        first = run_uid(0)
        assert [p for uid in range(first, first + SLOTS_PER_PROCESS) for p in pids_of(uid)] == []


@pytest.mark.parametrize("mode", JAILED)
def test_kill_parent_and_kill_all(mode: str) -> None:
    for attack in (
        "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\n",
        "import os\nos.kill(-1, 9)\n",
    ):
        result = grade(attack + WRONG, mode)
        assert not result.passed
        assert grade(RIGHT, mode).passed


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
                connections.append(server.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1], connections
    stop.set()
    thread.join(2)
    server.close()


@pytest.mark.parametrize("mode", MODES)
def test_no_network_to_a_local_listener(mode: str, listener) -> None:
    port, connections = listener
    probe = f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=2).close()\n"
    assert_wrong_then_next_right(probe + RIGHT, mode)
    assert connections == []


@pytest.mark.parametrize("mode", JAILED)
def test_runs_as_an_unprivileged_pid_1_with_a_scrubbed_environment(mode: str, monkeypatch) -> None:
    monkeypatch.setenv("HARNESS_TEST_SECRET", "s3cret")
    check = (
        "import os\nassert 'HARNESS_TEST_SECRET' not in os.environ and os.environ['HOME'] == os.getcwd() == '/tmp'\n"
        "assert os.getpid() == 1\nassert open('/proc/self/status').read().count('CapEff:\\t0000000000000000')\n"
        "assert [p for p in os.listdir('/proc') if p.isdigit()] == ['1']  # no host process is visible\n"
    )
    if mode == "namespaces":
        check += "assert os.getuid() != 0\n"
    assert grade(check + RIGHT, mode).passed


def test_plain_mode_payload_has_no_jail() -> None:
    """What the fallback gets: rlimits and a socket block only (see PLAIN_MODE_WARNING)."""
    payload = run_payload("plain", [("solution", "x = 1")], LIMITS, "/tmp/x", None)
    assert payload["jail"] is None and payload["mode"] == "plain"


HARNESS_KILLED_MIDRUN = """
import sys
from graders.sandbox import SandboxLimits, judge_program
program = '''
import os, subprocess, time
with open("/tmp/big-{token}", "wb") as f:
    f.write(b"x" * (8 << 20))
subprocess.Popen(["/bin/sleep", "{token}"], start_new_session=True)
print("started", flush=True)
time.sleep(60)
'''
print("harness up", flush=True)
judge_program(program, "pass", limits=SandboxLimits(timeout_s=60), mode=sys.argv[1])
"""


@pytest.mark.parametrize("mode", JAILED)
def test_a_sigkilled_harness_leaves_nothing_behind(mode: str, tmp_path: Path) -> None:
    import subprocess
    import sys
    import time

    token = f"47{uuid.uuid4().int % 10**8}"
    script = tmp_path / "harness.py"
    script.write_text(HARNESS_KILLED_MIDRUN.replace("{token}", token))
    repo = Path(__file__).resolve().parents[2]
    harness = subprocess.Popen(
        [sys.executable, str(script), mode], env={**os.environ, "PYTHONPATH": str(repo)}
    )
    try:
        give_up = time.monotonic() + 60
        while not host_processes_with(token) and time.monotonic() < give_up:
            time.sleep(0.05)
        assert host_processes_with(token), "the sandboxed program did not start"
    finally:
        harness.kill()
        harness.wait()
    give_up = time.monotonic() + 10
    while host_processes_with(token) and time.monotonic() < give_up:
        time.sleep(0.05)
    assert host_processes_with(token) == []
    assert not any(token in name for name in os.listdir("/tmp"))


@pytest.mark.parametrize("mode", JAILED)
def test_disk_fill_finds_nothing_writable_but_the_small_tmpfs(mode: str) -> None:
    """Everything outside /tmp, /run, /dev/shm and /var/tmp is read-only (or absent) in the jail."""
    fill = (
        "import os\nchunk = b'x' * (1 << 20)\nwritten = []\n"
        "for where in ('/', '/usr', '/usr/lib', '/root', '/etc', '/var', '/dev', '/proc', '/tmp'):\n"
        "    try:\n        with open(where + '/fill.bin', 'wb', buffering=0) as f:\n"
        "            for _ in range(2048):\n                f.write(chunk)\n    except OSError:\n        pass\n"
        "    if os.path.exists(where + '/fill.bin'):\n        written.append((where, os.path.getsize(where + '/fill.bin')))\n"
        "def add(xs, k):\n    return written\n"
    )
    limit = LIMITS.fsize_mb << 20  # RLIMIT_FSIZE stops a single file first; the tmpfs size stops the sum
    result = grade(
        fill, mode, f"assert [w for w, size in add([], 0)] == ['/tmp'] and add([], 0)[0][1] <= {limit}\n"
    )
    assert result.passed, result.why
    assert not os.path.exists("/fill.bin") and not os.path.exists("/usr/fill.bin")


@pytest.mark.parametrize("mode", JAILED)
def test_a_dead_fork_server_is_an_infrastructure_error_and_is_replaced(mode: str) -> None:
    import signal
    import time

    from graders.registry import GradingInfrastructureError
    from graders.sandbox.zygote import zygote

    server = zygote(mode)
    killer = threading.Timer(0.5, os.kill, (server.proc.pid, signal.SIGKILL))  # a process this test started
    killer.start()
    started = time.monotonic()
    try:
        result = grade("import time\ntime.sleep(30)\n" + RIGHT, mode, timeout_s=20)
    except GradingInfrastructureError:
        pass
    else:
        assert not result.passed
    killer.join()
    server.proc.wait(5)
    assert time.monotonic() - started < 15  # the run died with its server, long before its timeout
    assert grade(RIGHT, mode).passed  # a fresh fork server took over


def test_the_mode_can_be_forced_and_a_bad_name_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from graders.registry import GradingInfrastructureError
    from graders.sandbox import modes

    modes.isolation_mode.cache_clear()
    try:
        monkeypatch.setenv("HARNESS_SANDBOX_MODE", "plain")
        assert modes.isolation_mode() == "plain"
        modes.isolation_mode.cache_clear()
        monkeypatch.setenv("HARNESS_SANDBOX_MODE", "chroot")
        with pytest.raises(GradingInfrastructureError, match="HARNESS_SANDBOX_MODE='chroot'"):
            modes.isolation_mode()
    finally:
        modes.isolation_mode.cache_clear()
