"""The trusted wrapper that runs inside the sandbox (passed to ``python -I -c``; stdlib only).

It reads one marshal-encoded payload from stdin (marshal, not json: json's imports cost ~25 ms
per run), sets resource limits, optionally blocks sockets, then
executes the program parts (setup, solution, tests) in one namespace. Only after the last part
finished without raising does it write the harness's nonce to the result fd. The nonce never
appears in the program's source, argv or environment, so a program that exits early
(``os._exit(0)``, ``sys.exit(0)``) or prints "PASSED" cannot produce the marker.
"""

import marshal
import os
import resource
import sys


def _vm_size_bytes():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 64 * 1024 * 1024


def _set_limit(kind, value):
    soft, hard = resource.getrlimit(kind)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    resource.setrlimit(kind, (value, value))


_MS_NOSUID, _MS_NODEV, _MS_RDONLY, _MS_REMOUNT, _MS_BIND, _MS_REC = 2, 4, 1, 32, 4096, 16384
_PR_CAPBSET_DROP, _PR_SET_NO_NEW_PRIVS = 24, 38


def _enter_jail(jail):
    """As root inside fresh mount/pid/net namespaces: hide private and world-writable directories
    behind tmpfs mounts, bind back only what the run needs, then drop to the run's own uid."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)

    def mount(source, target, fstype, flags, data):
        args = [None if v is None else v.encode() for v in (source, target, fstype, data)]
        if libc.mount(args[0], args[1], args[2], flags, args[3]) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"mount {target}: {os.strerror(err)}")

    # Opened before their ancestors are covered; bound back through /proc/self/fd afterwards.
    kept = [(os.open(path, os.O_PATH | os.O_DIRECTORY), path, read_only) for path, read_only in jail["keep"]]
    for cover, mode in jail["covers"]:
        mount("sandbox-tmp", cover, "tmpfs", _MS_NOSUID | _MS_NODEV, f"mode={mode},size=64m")
    for fd, path, read_only in kept:
        os.makedirs(path, exist_ok=True)
        mount(f"/proc/self/fd/{fd}", path, None, _MS_BIND | _MS_REC, None)
        if read_only:
            mount(None, path, None, _MS_REMOUNT | _MS_BIND | _MS_RDONLY, None)
        os.close(fd)
    os.chdir(jail["workdir"])
    if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS)")
    cap = 0
    while libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0) == 0:  # fails (EINVAL) past the last capability
        cap += 1
    uid = jail["uid"]
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)  # a non-zero uid: the remaining capabilities are cleared


def _stay_as_namespace_init(result_fd):
    """Fork: this process (pid 1 of the run's PID namespace) stays root and only waits; the child
    goes on to jail itself. Changing credentials would clear pid 1's parent-death signal, and pid 1
    must die whenever the harness kills its parent, because the kernel then kills every process
    left in the namespace (fork bombs, daemons that called setsid)."""
    pid = os.fork()
    if pid == 0:
        return
    for fd in (0, 1, 2, result_fd):  # only the child reads and writes
        os.close(fd)
    while True:
        try:
            code = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
            break
        except InterruptedError:
            continue
    os._exit(code if code >= 0 else 128 - code)


def _block_sockets():
    import socket

    def refuse(*args, **kwargs):
        raise PermissionError("network access is disabled in the grading sandbox")

    for name in ("socket", "create_connection", "create_server", "socketpair", "fromfd"):
        setattr(socket, name, refuse)
    sys.modules["_socket"].socket = refuse


def _main(raw_payload):
    write, exit_now = os.write, os._exit
    payload = marshal.loads(raw_payload)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.environ.clear()
    os.environ.update(payload["env"])
    if payload["jail"]:
        _stay_as_namespace_init(payload["result_fd"])
        _enter_jail(payload["jail"])
    sys.path.extend(payload["site_packages"])
    result_fd = payload["result_fd"]
    marker = payload.pop("nonce").encode()
    limits = payload["limits"]
    _set_limit(resource.RLIMIT_CORE, 0)
    _set_limit(resource.RLIMIT_CPU, limits["cpu_s"])
    _set_limit(resource.RLIMIT_FSIZE, limits["fsize_bytes"])
    _set_limit(resource.RLIMIT_NOFILE, limits["nofile"])
    nproc = limits["nproc"] + payload["nproc_in_use"]
    _set_limit(resource.RLIMIT_NPROC, nproc)
    _set_limit(resource.RLIMIT_AS, _vm_size_bytes() + limits["memory_headroom_bytes"])
    if payload["block_sockets"]:
        _block_sockets()
    write(result_fd, b"READY\n")
    namespace = {"__name__": "__sandbox__", "__builtins__": __builtins__}
    parts = payload.pop("parts")
    del payload
    for name, source in parts:
        try:
            exec(compile(source, "<" + name + ">", "exec"), namespace)
        except BaseException as exc:  # includes SystemExit: exiting early is a failure
            try:  # noqa: SIM105 - contextlib costs milliseconds of import time per run
                sys.stdout.flush()
            except BaseException:
                pass
            try:
                sys.stderr.write(f"\nsandbox: {name} raised {type(exc).__name__}: {str(exc)[:300]}\n")
                sys.stderr.flush()
            except BaseException:
                pass
            exit_now(1)
    for stream in (sys.stdout, sys.stderr):
        try:  # noqa: SIM105
            stream.flush()
        except BaseException:
            pass
    write(result_fd, marker)
    exit_now(0)


# ---- fork server ("forkserver" mode) ------------------------------------------------------
# A warm root process that forks one child per run, so a run costs a fork instead of a fresh
# interpreter. Each child leaves for new mount/network/PID namespaces and then follows exactly
# the path of a freshly started runner (_main), so both modes enforce the same limits.

_CLONE_NEWNS, _CLONE_NEWPID, _CLONE_NEWNET = 0x00020000, 0x20000000, 0x40000000
_MS_PRIVATE, _MS_NOEXEC = 1 << 18, 8
_PR_SET_PDEATHSIG = 1
_PRELOAD = ("typing", "re", "math", "collections", "itertools", "functools", "heapq", "bisect", "string")


def _zygote_child(fds, libc):
    import signal

    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    copies = [os.dup(fd) for fd in fds]  # out of the way of 0..3 first
    for target, fd in enumerate(copies):
        os.dup2(fd, target)
    os.closerange(4, 1 << 16)  # above all, the zygote's control socket
    os.setsid()
    if libc.unshare(_CLONE_NEWNS | _CLONE_NEWNET | _CLONE_NEWPID) != 0:
        os.write(2, b"sandbox: unshare failed\n")
        os._exit(125)
    pid = os.fork()
    if pid == 0:  # pid 1 of the new PID namespace: when it exits, the kernel kills the rest
        libc.prctl(_PR_SET_PDEATHSIG, 9, 0, 0, 0)
        if (
            libc.mount(None, b"/", None, _MS_REC | _MS_PRIVATE, None) != 0
            or libc.mount(b"proc", b"/proc", b"proc", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC, None) != 0
        ):
            os.write(2, b"sandbox: mounting /proc failed\n")
            os._exit(125)
        _main(sys.stdin.buffer.read())
        os._exit(125)
    for fd in range(4):
        os.close(fd)
    code = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    os._exit(code if code >= 0 else 128 - code)


def _zygote(sock_fd):
    import ctypes
    import select
    import signal
    import socket

    # Modules most solutions and tests import: loaded once here, inherited by every fork.
    for name in _PRELOAD:
        __import__(name)
    libc = ctypes.CDLL(None, use_errno=True)
    sock = socket.socket(fileno=sock_fd)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    live = set()
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
                live.discard(pid)
                sock.send(marshal.dumps(("exited", pid, os.waitstatus_to_exitcode(status))))
        if sock in ready:
            msg, fds, _, _ = socket.recv_fds(sock, 4096, 8)
            if not msg:  # the harness went away
                for pid in live:
                    os.kill(pid, 9)
                os._exit(0)
            kind, arg = marshal.loads(msg)
            if kind == "spawn":
                pid = os.fork()
                if pid == 0:
                    try:
                        _zygote_child(fds, libc)
                    finally:
                        os._exit(125)
                for fd in fds:
                    os.close(fd)
                live.add(pid)
                sock.send(marshal.dumps(("started", arg, pid)))
            elif kind == "kill" and arg in live:  # never a pid that was already reaped and reused
                os.kill(arg, 9)


if len(sys.argv) > 2 and sys.argv[1] == "--zygote":
    _zygote(int(sys.argv[2]))
else:
    _main(sys.stdin.buffer.read())
