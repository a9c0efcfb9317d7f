"""What a sandbox run may use, and what grading it found."""

from __future__ import annotations

from pydantic import BaseModel, Field

from graders.registry import StrictModel


class SandboxLimits(StrictModel):
    timeout_s: float = Field(
        default=10.0, gt=0, description="wall-clock limit for the whole run, tests included"
    )
    cpu_s: int | None = Field(default=None, gt=0, description="RLIMIT_CPU seconds (default: ceil(timeout_s))")
    memory_headroom_mb: int = Field(
        default=1024, gt=0, description="RLIMIT_AS = the interpreter's measured size at start + this many MiB"
    )
    nproc: int = Field(default=32, gt=0, description="processes/threads the run may create")
    fsize_mb: int = Field(default=16, gt=0, description="largest file the run may write")
    tmpfs_mb: int = Field(
        default=32, gt=0, description="size of the run's private /tmp, /run, /dev/shm (together)"
    )
    nofile: int = Field(default=64, ge=16, description="open file descriptors")
    output_bytes: int = Field(default=64 * 1024, gt=0, description="stdout/stderr kept per stream")
    message_mb: int = Field(
        default=64, gt=0, description="largest reply the run may send (one returned value)"
    )
    message_values: int = Field(
        default=1_000_000,
        gt=0,
        description="most values one reply may hold (brackets, braces and commas of its JSON), and all the "
        "items of one iteration over a sandbox object together: decoding costs the harness ~100 bytes and "
        "~3 us per value, against 2-3 bytes of JSON. The largest MBPP+ output under the byte limit has 650k "
        "(Mbpp/630); Mbpp/255's biggest are over both (up to 935 MB)",
    )


class SandboxResult(BaseModel):
    passed: bool
    timed_out: bool
    why: str = Field(
        description="'passed', or what failed: the test's exception, the run's exit, the timeout"
    )
    exit_code: int | None
    stdout: str
    stderr: str
    isolation: str
    seconds: float
    remote_objects: int = Field(default=0, description="non-plain values the tests used by reference")
    mutated_arguments: int = Field(default=0, description="calls whose list/dict/set arguments changed")

    def summary(self) -> str:
        return self.why[:500]
