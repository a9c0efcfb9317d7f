"""Serve a launch plan with any launcher until Ctrl-C / SIGTERM (0) or until a replica dies (1)."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

from harness.serving.embedded import ServerStartError
from harness.serving.launchers.base import Launcher
from harness.serving.vllm_pool import LaunchPlan, write_endpoints_file


async def _serve(plan: LaunchPlan, launcher: Launcher, endpoints_out: Path) -> int:
    print(
        f"starting {len(plan.replicas)} server(s) with the {launcher.name} launcher",
        file=sys.stderr,
        flush=True,
    )
    # A file left by an earlier serve-pool names servers that are not up; nobody may read it meanwhile.
    endpoints_out.unlink(missing_ok=True)
    served = await launcher.start(plan)
    write_endpoints_file(served, endpoints_out)
    for replica in served.replicas:
        print(f"  {replica.model_name} [{replica.served_model_id}] -> {replica.base_url}", flush=True)
    print(f"endpoints written to {endpoints_out}: harness eval --models {endpoints_out}", flush=True)
    print("Ctrl-C to stop.", file=sys.stderr, flush=True)
    while True:
        problems = await launcher.problems()
        if problems:
            for problem in problems:
                print(f"error: {problem}", file=sys.stderr)
            return 1
        await asyncio.sleep(launcher.poll_s)


async def _serve_until_stopped(plan: LaunchPlan, launcher: Launcher, endpoints_out: Path) -> int:
    main_task = asyncio.current_task()
    loop = asyncio.get_running_loop()
    # SIGINT explicitly too: a process started in the background inherits SIGINT ignored.
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, main_task.cancel)
    try:
        return await _serve(plan, launcher, endpoints_out)
    except asyncio.CancelledError:
        return 0
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        launcher.stop()


def serve_plan(plan: LaunchPlan, launcher: Launcher, endpoints_out: Path) -> int:
    """`harness serve-pool`: returns 0 after Ctrl-C/SIGTERM, 1 if a server fails to start or dies."""
    try:
        code = asyncio.run(_serve_until_stopped(plan, launcher, endpoints_out))
    except ServerStartError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        launcher.stop()
        code = 0
    print(f"stopped all servers ({launcher.name} launcher)", file=sys.stderr)
    return code
