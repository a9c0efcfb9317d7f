"""The code sandbox: model-written code runs in an isolated, resource-limited process that only
answers requests with plain data; the benchmark's tests run outside it and decide the verdict.
See judge.py (the verdict), remote.py + wire.py (what crosses), runner.py (inside the sandbox),
modes.py (isolation modes and their guarantees)."""

from graders.sandbox.judge import judge_program
from graders.sandbox.limits import SandboxLimits, SandboxResult
from graders.sandbox.modes import PLAIN_MODE_WARNING, isolation_mode

__all__ = ["PLAIN_MODE_WARNING", "SandboxLimits", "SandboxResult", "isolation_mode", "judge_program"]
