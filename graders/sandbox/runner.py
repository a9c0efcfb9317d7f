# The code that runs inside the sandbox: a warm fork server ("zygote") and, in each forked run,
# the untrusted side of the call protocol. Started as `python -I -S -c <wire.py + this file>`, so
# it is stdlib-only and has no `from __future__` import.
#
# Unless the mode is "plain", the zygote first pivot_roots into a fresh root of its own (a small
# tmpfs holding read-only binds of the system library directories and the interpreter, and a
# minimal /dev). Per run it clones a child into new mount, PID, network, IPC and UTS namespaces:
# pid 1 there mounts a private size-limited tmpfs for /tmp, /run, /dev/shm and /var/tmp and a new
# /proc, drops privileges, sets rlimits and runs the model's code. That process never decides
# anything: it answers the harness's requests (call a function, read an attribute, iterate) with
# plain data (graders/sandbox/wire.py), and the harness runs the benchmark's tests and compares on
# its own side.
#
# Why our own namespaces and not bubblewrap/nsjail: both exec a fresh interpreter per run. On the
# 2-core dev machine (same load, same minute) `bwrap --unshare-all ... python -I -S -c 'import json'`
# took 82-97 ms per run before grading anything, a whole graded run through this warm zygote 12-25
# ms (clone into the namespaces, two mounts, the call round trips): that difference is what puts
# the grader ahead of evalplus' untrusted_check. The set-up below follows what bwrap does
# (pivot_root into a tmpfs, read-only binds, no_new_privs, capabilities dropped).
#
# ruff: noqa: F821 - to_wire, from_wire, dumps, loads and WireError come from the prepended wire.py

import os
import resource
import sys

_CLONE_NEWNS, _CLONE_NEWUTS, _CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
_CLONE_NEWPID, _CLONE_NEWNET = 0x20000000, 0x40000000
_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_NOEXEC = 1, 2, 4, 8
_MS_REMOUNT, _MS_BIND, _MS_REC, _MS_PRIVATE = 32, 4096, 16384, 1 << 18
_MNT_DETACH = 2
_PR_SET_PDEATHSIG, _PR_CAPBSET_DROP, _PR_SET_NO_NEW_PRIVS = 1, 24, 38
_SYS_PIVOT_ROOT, _SYS_CLONE = {"x86_64": (155, 56), "aarch64": (41, 220)}[os.uname().machine]
# The syscall filter (see _filter_syscalls): the architecture's audit id, and the syscalls no run needs that
# widen what a kernel bug could be reached through (from asm/unistd_64.h and asm-generic/unistd.h).
_SECCOMP_ARCH = {
    "x86_64": (0xC000003E, {
        "mount": 165, "umount2": 166, "pivot_root": 155, "chroot": 161, "unshare": 272, "setns": 308,
        "ptrace": 101, "process_vm_readv": 310, "process_vm_writev": 311, "kexec_load": 246,
        "kexec_file_load": 320, "init_module": 175, "finit_module": 313, "delete_module": 176, "bpf": 321,
        "perf_event_open": 298, "userfaultfd": 323, "keyctl": 250, "add_key": 248, "request_key": 249,
        "open_by_handle_at": 304, "name_to_handle_at": 303, "swapon": 167, "swapoff": 168, "reboot": 169,
        "acct": 163, "quotactl": 179, "syslog": 103, "lookup_dcookie": 212, "io_uring_setup": 425,
        "io_uring_enter": 426, "io_uring_register": 427, "open_tree": 428, "move_mount": 429, "fsopen": 430,
        "fsconfig": 431, "fsmount": 432, "fspick": 433, "mount_setattr": 442,
    }, 56, 435),
    "aarch64": (0xC00000B7, {
        "mount": 40, "umount2": 39, "pivot_root": 41, "chroot": 51, "unshare": 97, "setns": 268,
        "ptrace": 117, "process_vm_readv": 270, "process_vm_writev": 271, "kexec_load": 104,
        "kexec_file_load": 294, "init_module": 105, "finit_module": 273, "delete_module": 106, "bpf": 280,
        "perf_event_open": 241, "userfaultfd": 282, "keyctl": 219, "add_key": 217, "request_key": 218,
        "open_by_handle_at": 265, "name_to_handle_at": 264, "swapon": 224, "swapoff": 225, "reboot": 142,
        "acct": 89, "quotactl": 60, "syslog": 116, "lookup_dcookie": 18, "io_uring_setup": 425,
        "io_uring_enter": 426, "io_uring_register": 427, "open_tree": 428, "move_mount": 429, "fsopen": 430,
        "fsconfig": 431, "fsmount": 432, "fspick": 433, "mount_setattr": 442,
    }, 220, 435),
}  # fmt: skip
_PRELOAD = ("typing", "re", "math", "collections", "itertools", "functools", "heapq", "bisect", "string")
_REQUESTS_FD, _REPLIES_FD, _ALIVE_FD = 3, 4, 5
_SCRATCH_MOUNTS = ("/tmp", "/run", "/dev/shm", "/var/tmp")
CPU_LIMIT_EXIT = 152  # 128 + SIGXCPU, the shell's code for a process ended by that signal
_BATCH = 256  # items per "next" request when the harness iterates over a sandbox object


# ---- framing ---------------------------------------------------------------------------------


def _read_exact(fd, n):
    chunks, left = [], n
    while left:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _read_frame(fd):
    return _read_exact(fd, int.from_bytes(_read_exact(fd, 4), "big"))


def _write_frame(fd, data):
    view = memoryview(len(data).to_bytes(4, "big") + data)
    while view:
        view = view[os.write(fd, view) :]


# ---- the untrusted side of the protocol ----------------------------------------------------


class _Objects:
    """Objects that are not plain data stay here; the harness holds their reference numbers."""

    def __init__(self):
        self.table = []

    def keep(self, value):
        self.table.append(value)
        return len(self.table) - 1

    def get(self, ref):
        if ref >= len(self.table):
            raise WireError("unknown reference")
        return self.table[ref]

    def encode(self, value, depth=0):
        return to_wire(value, self._other, depth)

    def _other(self, value, depth):
        """Subclasses of plain types and numpy values become plain data; the rest stays here."""
        for base in (int, float, str, list, tuple, dict, set, frozenset, bytes):
            if isinstance(value, base):
                return to_wire(base(value), self._other, depth)
        if type(value).__module__ == "numpy" and hasattr(value, "tolist"):
            plain = value.tolist()
            if type(plain).__module__ != "numpy":
                return to_wire(plain, self._other, depth)
        return {"ref": self.keep(value)}

    def decode(self, data):
        return from_wire(data, self.get)


def _error_reply(exc):
    return {"raise": [type(exc).__name__, str(exc)[:2000]]}


def _target(objects, namespace, request):
    if "name" in request:
        name = request["name"]
        if name not in namespace:
            raise NameError(f"name {name!r} is not defined by the solution")
        return namespace[name]
    return objects.get(request["ref"])


def _answer(objects, namespace, request):
    op = request["op"]
    target = _target(objects, namespace, request)
    if op == "call":
        raw_args = request["args"]
        args = [objects.decode(a) for a in raw_args]
        kwargs = {k: objects.decode(v) for k, v in request["kwargs"].items()}
        value = target(*args, **kwargs)
        reply = {"ok": objects.encode(value)}
        mutated = {}
        for i, (raw, arg) in enumerate(zip(raw_args, args, strict=True)):
            if type(arg) in (list, dict, set, bytearray):
                now = objects.encode(arg)
                if now != raw:
                    mutated[str(i)] = now
        if mutated:
            reply["mutated"] = mutated
        return reply
    if op == "getattr":
        return {"ok": objects.encode(getattr(target, request["attr"]))}
    if op == "setattr":
        setattr(target, request["attr"], objects.decode(request["value"]))
        return {"ok": None}
    if op == "getitem":
        return {"ok": objects.encode(target[objects.decode(request["key"])])}
    if op == "len":
        return {"ok": len(target)}
    if op == "bool":
        return {"ok": bool(target)}
    if op == "iter":
        return {"ok": {"ref": objects.keep(iter(target))}}
    if op == "next":
        items = []
        for _ in range(_BATCH):
            try:
                items.append(next(target))
            except StopIteration:
                return {"ok": objects.encode(items), "done": True}
        return {"ok": objects.encode(items), "done": False}
    if op == "str":
        return {"ok": str(target)}
    if op == "repr":
        return {"ok": repr(target)}
    raise ValueError(f"unknown request {op!r}")


def _serve(parts):
    """Run the program parts, say whether they loaded, then answer requests until the harness ends the run."""
    import builtins

    write_frame, read_frame, dumps_, loads_ = _write_frame, _read_frame, dumps, loads
    namespace = {"__name__": "__main__", "__builtins__": builtins}
    for name, source in parts:
        try:
            exec(compile(source, "<" + name + ">", "exec"), namespace)
        except BaseException as exc:  # SystemExit too: the harness reports it as the reason
            write_frame(_REPLIES_FD, dumps_({"raise": [type(exc).__name__, str(exc)[:2000]], "part": name}))
            _flush_and_exit(1)
    write_frame(_REPLIES_FD, dumps_({"ok": "loaded"}))
    objects = _Objects()
    while True:
        try:
            request = loads_(read_frame(_REQUESTS_FD))
        except EOFError:
            _flush_and_exit(0)
        try:
            reply = _answer(objects, namespace, request)
        except BaseException as exc:  # the harness re-raises it (as a builtin exception type) in the tests
            reply = _error_reply(exc)
        try:
            data = dumps_(reply)
        except BaseException as exc:
            data = dumps_(_error_reply(exc))
        write_frame(_REPLIES_FD, data)


def _flush_and_exit(code):
    for stream in (sys.stdout, sys.stderr):
        try:  # noqa: SIM105 - contextlib costs import time per run
            stream.flush()
        except BaseException:
            pass
    os._exit(code)


# ---- limits and the jail -------------------------------------------------------------------


def _vm_size_bytes():
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 256 * 1024 * 1024


def _set_limit(kind, value, grace=0):
    soft, hard = resource.getrlimit(kind)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard - grace)
    resource.setrlimit(kind, (value, value + grace))


def _set_limits(limits, vm_size):
    _set_limit(resource.RLIMIT_CORE, 0)
    # Soft below hard: the CPU limit ends a run through SIGXCPU with exit code CPU_LIMIT_EXIT, which the
    # harness reports as a time-out (at soft == hard the kernel sends SIGKILL, indistinguishable from any
    # other kill). A handler, because pid 1 of a PID namespace ignores signals it has none for; code that
    # replaces it is killed at the hard limit, one second later.
    import signal

    signal.signal(signal.SIGXCPU, lambda *_: os._exit(CPU_LIMIT_EXIT))
    _set_limit(resource.RLIMIT_CPU, limits["cpu_s"], grace=1)
    _set_limit(resource.RLIMIT_FSIZE, limits["fsize_bytes"])
    _set_limit(resource.RLIMIT_NOFILE, limits["nofile"])
    _set_limit(resource.RLIMIT_NPROC, limits["nproc"])
    _set_limit(resource.RLIMIT_AS, vm_size + limits["memory_headroom_bytes"])


def _check(result, what, libc):
    if result != 0:
        import ctypes

        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _mount(libc, source, target, fstype, flags, data=None):
    args = [None if v is None else v.encode() for v in (source, target, fstype, data)]
    _check(libc.mount(args[0], args[1], args[2], flags, args[3]), f"mount {target}", libc)


def _locked_flags(path):
    """The mount flags a bind of `path` must keep (a user namespace may not clear them)."""
    flags = os.statvfs(path).f_flag
    pairs = ((os.ST_NOSUID, _MS_NOSUID), (os.ST_NODEV, _MS_NODEV), (os.ST_NOEXEC, _MS_NOEXEC),
             (os.ST_NOATIME, 1024), (os.ST_NODIRATIME, 2048), (os.ST_RELATIME, 1 << 21))  # fmt: skip
    return sum(ms for st, ms in pairs if flags & st)


def _build_template_root(libc, layout, mode):
    """Once, in the zygote (as root of a mount namespace of its own): pivot_root into a fresh root that
    holds only read-only binds of what the runs need. Every run is cloned from here with a copy of it."""
    _check(libc.unshare(_CLONE_NEWNS), "unshare(CLONE_NEWNS)", libc)
    _mount(libc, None, "/", None, _MS_REC | _MS_PRIVATE)
    # Opened before /tmp is covered by the new root; bound through /proc/self/fd below.
    binds = [(os.open(p, os.O_PATH), p) for p in layout["read_only"] if os.path.exists(p)]
    devices = [(os.open(f"/dev/{d}", os.O_PATH), d) for d in ("null", "zero", "full", "random", "urandom")]
    locked = {p: _locked_flags(p) for _, p in binds}
    host_proc = os.open("/proc", os.O_PATH) if mode == "userns" else None
    new = "/tmp"
    _mount(libc, "sandbox-root", new, "tmpfs", _MS_NOSUID | _MS_NODEV, "size=1m,mode=0755")
    for link, dest in layout["symlinks"]:
        os.symlink(dest, new + link)
    for fd, path in binds:
        if os.path.isdir(f"/proc/self/fd/{fd}"):
            os.makedirs(new + path, exist_ok=True)
        else:
            os.makedirs(os.path.dirname(new + path), exist_ok=True)
            open(new + path, "w").close()
        _mount(libc, f"/proc/self/fd/{fd}", new + path, None, _MS_BIND | _MS_REC)
        _mount(libc, None, new + path, None, _MS_REMOUNT | _MS_BIND | _MS_RDONLY | locked[path])
        os.close(fd)
    os.makedirs(new + "/dev")
    for fd, name in devices:
        open(f"{new}/dev/{name}", "w").close()
        _mount(libc, f"/proc/self/fd/{fd}", f"{new}/dev/{name}", None, _MS_BIND)
        os.close(fd)
    for name, dest in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"),
                       ("stderr", "/proc/self/fd/2")):  # fmt: skip
        os.symlink(dest, f"{new}/dev/{name}")
    for mount_point in (*_SCRATCH_MOUNTS, "/proc"):  # filled per run
        os.makedirs(new + mount_point, exist_ok=True)
    if host_proc is not None:
        # A user namespace may mount a new proc only where a fully visible one is mounted already, so
        # the host's stays under /proc here; every run covers it with its own before any of its code runs.
        _mount(libc, f"/proc/self/fd/{host_proc}", new + "/proc", None, _MS_BIND | _MS_REC)
        os.close(host_proc)
    os.chdir(new)
    _check(libc.syscall(_SYS_PIVOT_ROOT, b".", b"."), "pivot_root", libc)
    _check(libc.umount2(b".", _MNT_DETACH), "detach the old root", libc)
    os.chdir("/")
    _mount(libc, None, "/", None, _MS_REMOUNT | _MS_BIND | _MS_RDONLY | _MS_NOSUID | _MS_NODEV)


def _mount_scratch(libc, tmpfs_bytes, mode):
    """Per run, in its copy of the template: one size-limited tmpfs for everything the run may write,
    seen at /tmp, /run, /dev/shm and /var/tmp (it goes away with the run's mount namespace), and a
    /proc of the run's own PID namespace."""
    # Staged on /proc (an empty mount point until the real proc is mounted there), so it leaves no trace.
    _mount(libc, "sandbox-scratch", "/proc", "tmpfs", _MS_NOSUID | _MS_NODEV, f"size={tmpfs_bytes},mode=0755")
    for target in _SCRATCH_MOUNTS:
        source = "/proc/" + target.strip("/").replace("/", "_")
        os.mkdir(source)
        os.chmod(source, 0o1777)
        _mount(libc, source, target, None, _MS_BIND)
    _check(libc.umount2(b"/proc", _MNT_DETACH), "unmount the staging tmpfs", libc)
    try:
        _mount(libc, "proc", "/proc", "proc", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC)
    except OSError:
        if mode == "userns":  # the host's /proc would show through: no run without its own
            raise
        # As root the template has an empty /proc: the run goes without one.


def _drop_privileges(libc, uid):
    import ctypes

    _check(libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(NO_NEW_PRIVS)", libc)
    cap = 0
    while libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0) == 0:  # fails (EINVAL) past the last capability
        cap += 1
    if uid is not None:  # root on the host: a uid of this run's own (a non-zero uid clears the capabilities)
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)
        return
    header = (ctypes.c_uint32 * 2)(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this process
    data = (ctypes.c_uint32 * 6)()  # effective, permitted, inheritable = 0 (two 32-bit words each)
    _check(libc.capset(header, data), "capset", libc)


def _block_sockets():
    import socket

    def refuse(*args, **kwargs):
        raise PermissionError("network access is disabled in the grading sandbox")

    for name in ("socket", "create_connection", "create_server", "socketpair", "fromfd"):
        setattr(socket, name, refuse)
    sys.modules["_socket"].socket = refuse


def _filter_syscalls(libc):
    """A seccomp filter, inherited by every process of the run and never lifted: the syscalls in _SECCOMP_ARCH,
    clone() into new namespaces, the x32 ABI and other architectures fail with EPERM; clone3() fails with
    ENOSYS (its flags are behind a pointer the filter cannot read; glibc then uses clone()). In "namespaces"
    mode this takes user namespaces (and with them mount, pivot_root, a new /proc) and ptrace away from the
    run; in "plain" mode ptrace and process_vm_readv of the harness's processes."""
    import ctypes
    import errno

    arch, denied, clone, clone3 = _SECCOMP_ARCH[os.uname().machine]
    load_word, jump_eq, jump_ge, jump_set, ret = 0x20, 0x15, 0x35, 0x45, 0x06
    allow, deny = 0x7FFF0000, 0x00050000 | errno.EPERM
    new_namespaces = 0x7E020000  # CLONE_NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET
    program = [(load_word, 0, 0, 4), (jump_eq, 1, 0, arch), (ret, 0, 0, deny), (load_word, 0, 0, 0)]
    if arch == 0xC000003E:
        program += [(jump_ge, 0, 1, 0x40000000), (ret, 0, 0, deny)]  # __X32_SYSCALL_BIT
    for number in sorted(denied.values()):
        program += [(jump_eq, 0, 1, number), (ret, 0, 0, deny)]
    program += [(jump_eq, 0, 1, clone3), (ret, 0, 0, 0x00050000 | errno.ENOSYS)]
    program += [
        (jump_eq, 0, 3, clone),
        (load_word, 0, 0, 16),
        (jump_set, 0, 1, new_namespaces),
        (ret, 0, 0, deny),
    ]
    program += [(ret, 0, 0, allow)]

    class Instruction(ctypes.Structure):
        _fields_ = [
            ("code", ctypes.c_uint16),
            ("jt", ctypes.c_uint8),
            ("jf", ctypes.c_uint8),
            ("k", ctypes.c_uint32),
        ]

    class Program(ctypes.Structure):
        _fields_ = [("len", ctypes.c_uint16), ("filter", ctypes.POINTER(Instruction))]

    instructions = (Instruction * len(program))(*program)
    _check(libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(NO_NEW_PRIVS)", libc)
    prog = Program(len(program), instructions)
    _check(libc.prctl(22, 2, ctypes.byref(prog), 0, 0), "prctl(PR_SET_SECCOMP)", libc)  # SECCOMP_MODE_FILTER


def _become_untrusted(payload, libc, vm_size):
    os.environ.clear()
    os.environ.update(payload["env"])
    jail = payload["jail"]
    if jail is not None:
        _drop_privileges(libc, jail["uid"])
        _die_with_zygote(libc)  # a change of credentials cleared it
        os.close(_ALIVE_FD)
    os.chdir(payload["env"]["HOME"])
    sys.path.extend(payload["site_packages"])
    _set_limits(payload["limits"], vm_size)
    if payload["mode"] == "plain":
        _block_sockets()
    _filter_syscalls(libc)
    _serve(payload.pop("parts"))


# ---- the zygote ----------------------------------------------------------------------------


def _take_fds(fds):
    """The run's pipes become fds 1, 2, ... (stdin is /dev/null); everything else of the zygote's is closed."""
    import signal

    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    copies = [os.dup(fd) for fd in fds]  # out of the way of 1..4 first
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    for target, fd in enumerate(copies, start=1):
        os.dup2(fd, target)
    os.closerange(len(fds) + 1, 1 << 16)  # above all, the zygote's control socket


def _run_plain(fds, libc):
    _take_fds(fds)
    os.setsid()
    _become_untrusted(loads(_read_frame(_REQUESTS_FD)), libc, _vm_size_bytes())


def _die_with_zygote(libc):
    import select
    import signal

    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if select.select([_ALIVE_FD], [], [], 0)[0]:  # EOF: the zygote died before PDEATHSIG was set
        os._exit(125)


def _run_jailed(fds, libc, alive_fd):
    """pid 1 of the run's own PID namespace (so when it exits or is killed, the kernel kills every
    process left in it), cloned straight from the zygote into its new namespaces."""
    _take_fds([*fds, alive_fd])
    os.setsid()
    _die_with_zygote(libc)
    payload = loads(_read_frame(_REQUESTS_FD))
    vm_size = _vm_size_bytes()
    try:
        _mount_scratch(libc, payload["jail"]["tmpfs_bytes"], payload["mode"])
    except OSError as exc:
        os.write(2, f"sandbox: building the jail failed: {exc}\n".encode())
        os._exit(125)
    _become_untrusted(payload, libc, vm_size)


def _first_for_the_oom_killer():
    """RLIMIT_AS bounds each process, not a run (nproc of them, each up to the limit): should memory run out,
    the kernel kills the zygote's runs before the harness or anything else on the machine. Every run inherits
    this; as root it is also the floor (the kernel's oom_score_adj_min), which no run without
    CAP_SYS_RESOURCE can lower. In "userns" mode a run could set it back to the harness's value."""
    try:
        with open("/proc/self/oom_score_adj", "w") as adj:
            adj.write("1000")
    except OSError:
        pass


def _clone_into_namespaces(libc):
    """fork() straight into new mount, PID, network, IPC and UTS namespaces (one process per run,
    instead of fork + unshare + fork); CPython's own before/after-fork steps run around it."""
    import ctypes

    flags = _CLONE_NEWNS | _CLONE_NEWNET | _CLONE_NEWPID | _CLONE_NEWIPC | _CLONE_NEWUTS | 17  # SIGCHLD
    ctypes.pythonapi.PyOS_BeforeFork()
    pid = libc.syscall(_SYS_CLONE, ctypes.c_ulong(flags), None, None, None, None)
    if pid == 0:
        ctypes.pythonapi.PyOS_AfterFork_Child()
    else:
        ctypes.pythonapi.PyOS_AfterFork_Parent()
    if pid < 0:
        raise OSError(ctypes.get_errno(), "clone")
    return pid


def _zygote(sock_fd, mode, layout):
    import ctypes
    import marshal
    import select
    import signal
    import socket

    for name in _PRELOAD:  # modules most solutions import: loaded once here, inherited by every fork
        __import__(name)
    _first_for_the_oom_killer()
    libc = ctypes.CDLL(None, use_errno=True)
    if mode != "plain":
        _build_template_root(libc, loads(layout), mode)
    sock = socket.socket(fileno=sock_fd)
    alive_r, alive_w = os.pipe()  # runs hold the read end: EOF there means the zygote is gone
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    live = {}  # run id (the harness's) -> pid
    while True:
        ready = select.select([sock, wake_r], [], [])[0]
        if wake_r in ready:
            try:  # noqa: SIM105
                os.read(wake_r, 4096)
            except BlockingIOError:
                pass
            while live:
                try:
                    pid, status = os.waitpid(-1, os.WNOHANG)
                except ChildProcessError:
                    break
                if pid == 0:
                    break
                for run_id, run_pid in list(live.items()):
                    if run_pid == pid:
                        del live[run_id]
                        sock.send(marshal.dumps(("exited", run_id, os.waitstatus_to_exitcode(status))))
        if sock in ready:
            msg, fds, _, _ = socket.recv_fds(sock, 4096, 8)
            if not msg:  # the harness went away
                for pid in live.values():
                    os.killpg(pid, 9)
                os._exit(0)
            kind, run_id = marshal.loads(msg)
            if kind == "spawn":
                try:
                    pid = os.fork() if mode == "plain" else _clone_into_namespaces(libc)
                except OSError:
                    pid = -1
                if pid == 0:
                    try:
                        if mode == "plain":
                            _run_plain(fds, libc)
                        else:
                            _run_jailed(fds, libc, alive_r)
                    finally:
                        os._exit(125)
                for fd in fds:
                    os.close(fd)
                if pid > 0:
                    live[run_id] = pid
                else:
                    sock.send(marshal.dumps(("exited", run_id, 125)))
            elif kind == "kill" and run_id in live:  # never a pid that was already reaped and reused
                pid = live[run_id]
                try:
                    os.killpg(pid, 9)  # the run's session: in "plain" mode that is all it has
                except OSError:  # not yet its own session leader
                    os.kill(pid, 9)


if __name__ == "__main__" and len(sys.argv) > 4 and sys.argv[1] == "--zygote":
    _zygote(int(sys.argv[2]), sys.argv[3], sys.argv[4])
