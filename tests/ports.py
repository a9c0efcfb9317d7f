"""Ports for servers the tests start at a port they choose (pool files name their ports).

A port the kernel handed out as free can be taken a moment later by any outgoing connection's local
end, since both come from the ephemeral range; under a loaded full run that made a replica at
port + 1 fail to bind. Runs are therefore picked below the ephemeral range, where connect() never
assigns ports, and checked free before they are returned.
"""

from __future__ import annotations

import random
import socket
from pathlib import Path

LOWEST = 20_000


def _ephemeral_start() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32_768  # Linux's default


def free_port_run(count: int, host: str = "127.0.0.1") -> int:
    """A first port p such that p .. p+count-1 are free now and outside the ephemeral range."""
    top = _ephemeral_start() - count
    if top <= LOWEST:
        raise RuntimeError(f"no room below the ephemeral port range for {count} ports")
    for _ in range(1000):
        first = random.randrange(LOWEST, top)
        try:
            for port in range(first, first + count):
                with socket.socket() as sock:
                    sock.bind((host, port))
        except OSError:
            continue
        return first
    raise RuntimeError(f"no {count} consecutive free ports found in {LOWEST}..{top}")
