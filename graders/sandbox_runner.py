"""The trusted wrapper that runs inside the sandbox (passed to ``python -I -c``; stdlib only).

It reads one JSON payload from stdin, sets resource limits, optionally blocks sockets, then
executes the program parts (setup, solution, tests) in one namespace. Only after the last part
finished without raising does it write the harness's nonce to the result fd. The nonce never
appears in the program's source, argv or environment, so a program that exits early
(``os._exit(0)``, ``sys.exit(0)``) or prints "PASSED" cannot produce the marker.
"""

import contextlib
import json
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


def _block_sockets():
    import socket

    def refuse(*args, **kwargs):
        raise PermissionError("network access is disabled in the grading sandbox")

    for name in ("socket", "create_connection", "create_server", "socketpair", "fromfd"):
        setattr(socket, name, refuse)
    sys.modules["_socket"].socket = refuse


def _main():
    write, exit_now = os.write, os._exit
    payload = json.loads(sys.stdin.buffer.read())
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
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
            try:
                sys.stderr.write(f"\nsandbox: {name} raised {type(exc).__name__}: {str(exc)[:300]}\n")
                sys.stderr.flush()
            except BaseException:
                pass
            exit_now(1)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(BaseException):
            stream.flush()
    write(result_fd, marker)
    exit_now(0)


_main()
