"""Local processes: the replicas as subprocesses of this machine (`VllmPool`), behind the Launcher interface."""

from __future__ import annotations

from pathlib import Path

from harness.serving.vllm_pool import LaunchPlan, VllmPool


class LocalLauncher:
    name = "local"
    poll_s = 1.0

    def __init__(self, *, log_dir: Path, timeout_s: float = 1800.0) -> None:
        self.log_dir = log_dir
        self.timeout_s = timeout_s
        self.pool: VllmPool | None = None

    async def start(self, plan: LaunchPlan) -> LaunchPlan:
        self.pool = VllmPool(plan, log_dir=self.log_dir, timeout_s=self.timeout_s)
        await self.pool.start()
        return plan

    async def problems(self) -> list[str]:
        if self.pool is None:
            return []
        return [str(s.failure(f"exited with code {s.returncode}")) for s in self.pool.exited()]

    def stop(self) -> None:
        if self.pool is not None:
            self.pool.stop()
