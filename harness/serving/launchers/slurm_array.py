"""`harness submit ... --shards N --launcher slurm`: one sbatch job array, one eval shard per array task.

Array task i runs `harness eval <the same arguments> --shard i/N`, so each writes
<run>/shards/<i>-of-<N>/; `harness merge <run>` joins them afterwards. Where the pool file has
`launch:` blocks, each array task first serves those models itself (`harness serve-pool` inside
the job, on the job's GPUs) and evaluates through them: no network between nodes is needed.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from pydantic import BaseModel, Field

from harness.serving.launchers.slurm import SlurmOptions, run_slurm
from harness.shards import SHARDS_DIRNAME

SERVE_WAIT_S = 3600


class ArrayRequest(BaseModel):
    run_dir: Path
    shards: int = Field(ge=1)
    eval_argv: list[str] = Field(description="`harness eval` arguments without --shard and --models")
    models_file: Path | None = None
    serve_models: bool = Field(default=False, description="start the pool's launch blocks inside each task")
    pool_ports: list[int] = Field(default_factory=list, description="the ports the pool's replicas use")
    gpus_per_task: int = Field(default=0, ge=0)
    max_parallel: int | None = Field(default=None, ge=1, description="--array=...%K: at most K tasks at once")
    python: str = Field(default_factory=lambda: sys.executable)
    workdir: Path = Field(default_factory=Path.cwd)

    @property
    def shards_dir(self) -> Path:
        return self.run_dir / SHARDS_DIRNAME


def array_script(request: ArrayRequest, options: SlurmOptions) -> str:
    array = f"0-{request.shards - 1}" + (f"%{request.max_parallel}" if request.max_parallel else "")
    log_dir = request.shards_dir / "logs"
    lines = [
        "#!/bin/bash",
        f"#SBATCH --job-name=harness-{request.run_dir.name}",
        f"#SBATCH --array={array}",
        f"#SBATCH --output={log_dir}/%a.log",
        "#SBATCH --nodes=1",
        "#SBATCH --ntasks=1",
    ]
    if request.gpus_per_task and options.gpu_gres:
        lines.append(f"#SBATCH --gres=gpu:{request.gpus_per_task}")
    lines += options.directives()
    lines += ["set -euo pipefail", f"cd {shlex.quote(str(request.workdir))}"]
    harness = [request.python, "-m", "harness"]
    eval_cmd = f'{shlex.join([*harness, "eval", *request.eval_argv])} --shard "$SLURM_ARRAY_TASK_ID/{request.shards}"'
    if request.models_file is None:
        return "\n".join([*lines, f"exec {eval_cmd}"]) + "\n"
    models = shlex.quote(str(request.models_file))
    if not request.serve_models:
        return "\n".join([*lines, f"exec {eval_cmd} --models {models}"]) + "\n"
    serve = shlex.join([*harness, "serve-pool", str(request.models_file)])
    lines += [
        # Tasks sharing a node must not share ports: task i shifts the pool's ports by a multiple of their span.
        f"port_offset=$(( SLURM_ARRAY_TASK_ID % {_port_slots(request.pool_ports)} * {_port_span(request.pool_ports)} ))",
        # A file of its own: job ids repeat (a restarted or wrapped-around controller), and a leftover
        # file of an earlier job with this id would be read before this job's models are up.
        'endpoints="$(mktemp --suffix=.yaml "${TMPDIR:-/tmp}/harness-endpoints-${SLURM_JOB_ID}-XXXXXX")"',
        f'{serve} --endpoints-out "$endpoints" --port-offset "$port_offset" &',
        "serve_pid=$!",
        "trap 'kill -TERM $serve_pid 2>/dev/null; wait $serve_pid || true; rm -f \"$endpoints\"' EXIT",
        f"for _ in $(seq {SERVE_WAIT_S}); do",
        '    [ -s "$endpoints" ] && break',
        '    kill -0 $serve_pid 2>/dev/null || { echo "harness: serve-pool failed" >&2; exit 1; }',
        "    sleep 1",
        "done",
        f'[ -s "$endpoints" ] || {{ echo "harness: models not up after {SERVE_WAIT_S} s" >&2; exit 1; }}',
        f'{eval_cmd} --models "$endpoints"',
    ]
    return "\n".join(lines) + "\n"


def _port_span(ports: list[int]) -> int:
    return max(ports) - min(ports) + 1 if ports else 1


def _port_slots(ports: list[int]) -> int:
    """How many shifted copies of the pool's ports fit below 65536 (at most 1000)."""
    if not ports:
        return 1
    return max(1, min(1000, (65535 - max(ports)) // _port_span(ports) + 1))


def write_array_script(request: ArrayRequest, options: SlurmOptions) -> Path:
    (request.shards_dir / "logs").mkdir(parents=True, exist_ok=True)
    script = request.shards_dir / f"array-{request.shards}.sbatch"
    script.write_text(array_script(request, options), encoding="utf-8")
    return script


def submit_array(script: Path, *, wait: bool = False) -> str:
    """sbatch the array; with wait, return only once every task has ended (SlurmError if any failed)."""
    argv = ["sbatch", "--parsable", *(["--wait"] if wait else []), str(script)]
    out = run_slurm(argv, timeout_s=7 * 24 * 3600 if wait else 60)
    return out.strip().split(";", 1)[0]
