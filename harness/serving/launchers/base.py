"""The one interface a launcher implements (local processes and Slurm now; Kubernetes or Ray later)."""

from __future__ import annotations

from typing import Protocol

from harness.serving.vllm_pool import LaunchPlan


class Launcher(Protocol):
    name: str
    poll_s: float

    async def start(self, plan: LaunchPlan) -> LaunchPlan:
        """Start every replica and return once all answer; the returned plan has the addresses they serve at.

        Raises ServerStartError (after stopping whatever it started) if any replica fails or times out.
        """
        ...

    async def problems(self) -> list[str]:
        """Why replicas that were serving no longer are (empty while all are up)."""
        ...

    def stop(self) -> None:
        """Stop everything this launcher started; safe to call more than once."""
        ...
