"""Slurm: every replica of a launch plan as one Slurm job (sbatch), health-checked from this machine.

    harness serve-pool pool.yaml --launcher slurm --partition gpu --time 12:00:00

One sbatch script per replica is written to the state directory (next to the endpoints file:
endpoints.slurm/), asking for `tensor_parallel` GPUs (--gres=gpu:N) on `nodes` nodes, loading the
launch block's `modules`, exporting its `env`, and exec-ing `vllm serve` (or the block's `command`).
Job state is read with squeue, then `scontrol show job`, then sacct (whichever still knows the
job). A replica is up once its job runs and GET http://<node>:<port>/v1/models lists its served id.
Jobs are cancelled (scancel) on Ctrl-C, SIGTERM, a failure, or `harness serve-pool --stop`.

Compute nodes must be reachable from here: give the launch block `host: 0.0.0.0` so vLLM listens
on the node's network, not its loopback.
"""

from __future__ import annotations

import asyncio
import json
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
from pydantic import BaseModel, Field

from harness.serving.embedded import ServerStartError, read_log_tail
from harness.serving.vllm_pool import LaunchPlan, ReplicaLaunch

ACTIVE_STATES = {"PENDING", "CONFIGURING", "RUNNING", "REQUEUED", "RESIZING", "SUSPENDED"}
JOBS_FILENAME = "jobs.json"
_FIELD = re.compile(r"(\w+)=(\S*)")


class SlurmError(ServerStartError):
    """A Slurm command failed or a job did not come up; the message names the job and its log."""


class SlurmOptions(BaseModel):
    partition: str | None = None
    time: str | None = Field(default=None, description="--time, e.g. 12:00:00")
    account: str | None = None
    sbatch_args: list[str] = Field(default_factory=list, description="extra `#SBATCH` options, verbatim")
    gpu_gres: bool = Field(default=True, description="ask for --gres=gpu:<tensor_parallel> per node")

    def directives(self) -> list[str]:
        lines = []
        for flag, value in (("partition", self.partition), ("time", self.time), ("account", self.account)):
            if value:
                lines.append(f"#SBATCH --{flag}={value}")
        return lines + [f"#SBATCH {arg}" for arg in self.sbatch_args]


class JobState(BaseModel):
    job_id: str
    state: str
    nodes: str = ""
    reason: str = ""

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES

    @property
    def described(self) -> str:
        return f"{self.state} ({self.reason})" if self.reason not in ("", "None", "(null)") else self.state


def run_slurm(argv: list[str], *, timeout_s: float = 60.0) -> str:
    """Run a Slurm client command; SlurmError with its stderr if it is missing or fails."""
    if shutil.which(argv[0]) is None:
        raise SlurmError(f"`{argv[0]}` not found on PATH: run this on a Slurm login node")
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired as exc:
        raise SlurmError(f"`{shlex.join(argv)}` did not answer within {timeout_s:.0f} s") from exc
    if done.returncode != 0:
        raise SlurmError(f"`{shlex.join(argv)}` failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout


def sbatch(script: Path) -> str:
    out = run_slurm(["sbatch", "--parsable", str(script)]).strip()
    return out.split(";", 1)[0]  # "<id>;<cluster>" on multi-cluster sites


def scancel(job_ids: list[str]) -> None:
    if job_ids:
        run_slurm(["scancel", *job_ids])


def _states_from_squeue(job_ids: list[str]) -> dict[str, JobState]:
    out = run_slurm(["squeue", "-h", "-j", ",".join(job_ids), "-o", "%i|%T|%N|%r"])
    states = {}
    for line in out.splitlines():
        job_id, state, nodes, reason = (line.split("|") + ["", "", "", ""])[:4]
        states[job_id.strip()] = JobState(job_id=job_id.strip(), state=state, nodes=nodes, reason=reason)
    return states


def _state_from_history(job_id: str) -> JobState:
    """A job squeue no longer lists: `scontrol show job` (for MinJobAge), then sacct."""
    try:
        fields = dict(_FIELD.findall(run_slurm(["scontrol", "show", "job", "-o", job_id])))
        if "JobState" in fields:
            nodes = fields.get("NodeList", "")
            return JobState(
                job_id=job_id, state=fields["JobState"], nodes="" if nodes == "(null)" else nodes,
                reason=fields.get("Reason", ""),
            )  # fmt: skip
    except SlurmError:
        pass
    try:
        out = run_slurm(["sacct", "-n", "-X", "-P", "-j", job_id, "-o", "JobID,State,NodeList,Reason"])
        for line in out.splitlines():
            parts = (line.split("|") + ["", "", "", ""])[:4]
            if parts[0] == job_id:
                return JobState(job_id=job_id, state=parts[1].split()[0], nodes=parts[2], reason=parts[3])
    except SlurmError:
        pass
    return JobState(job_id=job_id, state="GONE", reason="neither squeue, scontrol nor sacct knows it")


def job_states(job_ids: list[str]) -> dict[str, JobState]:
    if not job_ids:
        return {}
    states = _states_from_squeue(job_ids)
    for job_id in job_ids:
        if job_id not in states:
            states[job_id] = _state_from_history(job_id)
    return states


def first_node(nodelist: str) -> str:
    if not any(ch in nodelist for ch in "[,"):
        return nodelist
    return run_slurm(["scontrol", "show", "hostnames", nodelist]).split()[0]


def replica_script(replica: ReplicaLaunch, options: SlurmOptions, *, log_pattern: Path) -> str:
    """The sbatch script that runs one replica in the foreground of its job."""
    name = f"harness-{replica.model_name}-{replica.replica}".replace("/", "_")
    lines = ["#!/bin/bash", f"#SBATCH --job-name={name}", f"#SBATCH --output={log_pattern}"]
    lines += [f"#SBATCH --nodes={replica.nodes}", "#SBATCH --ntasks-per-node=1"]
    if options.gpu_gres:
        lines.append(f"#SBATCH --gres=gpu:{replica.tensor_parallel}")
    lines += options.directives()
    lines += ["set -euo pipefail"]
    lines += [f"module load {shlex.join(replica.modules)}"] if replica.modules else []
    lines += [f"export {key}={shlex.quote(value)}" for key, value in replica.env.items()]
    lines.append(
        'echo "harness: replica on $(hostname) (job $SLURM_JOB_ID, GPUs ${CUDA_VISIBLE_DEVICES:-none})"'
    )
    argv = list(replica.argv)
    if replica.nodes > 1:
        lines += _ray_cluster_lines(replica)
        argv += ["--pipeline-parallel-size", str(replica.nodes), "--distributed-executor-backend", "ray"]
    lines.append(f"exec {shlex.join(argv)}")
    return "\n".join(lines) + "\n"


def _ray_cluster_lines(replica: ReplicaLaunch) -> list[str]:
    """Start a Ray cluster across the job's nodes (head on the batch node) for one multi-node vLLM."""
    gpus, others = replica.tensor_parallel, replica.nodes - 1
    return [
        'head=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)',
        f"ray start --head --port=6379 --num-gpus={gpus} --block &",
        "sleep 10",
        f'srun --nodes={others} --ntasks={others} --exclude="$head" '
        f'ray start --address="$head:6379" --num-gpus={gpus} --block &',
        f"for _ in $(seq 120); do [ \"$(ray status 2>/dev/null | grep -c ' node_')\" -ge {replica.nodes} ] "
        "&& break; sleep 5; done",
    ]


class SlurmJob(BaseModel):
    job_id: str
    model_name: str
    replica: int
    log: Path


def state_dir_for(endpoints_out: Path) -> Path:
    return endpoints_out.with_name(endpoints_out.stem + ".slurm")


async def _serves(session: aiohttp.ClientSession, url: str, model_id: str) -> str | None:
    """None once GET {url}/models lists model_id; otherwise what went wrong, for the error message."""
    try:
        async with session.get(f"{url}/models") as response:
            if response.status != 200:
                return f"HTTP {response.status}"
            payload = await response.json(content_type=None)
    except (TimeoutError, aiohttp.ClientError, ValueError) as exc:
        return f"{type(exc).__name__}: {exc}"
    ids = [str(item.get("id")) for item in payload.get("data", [])]
    return None if model_id in ids else f"serves {ids}, not {model_id!r}"


class SlurmLauncher:
    """Launcher that runs each replica as a Slurm job (see the module docstring)."""

    name = "slurm"

    def __init__(
        self,
        options: SlurmOptions,
        *,
        state_dir: Path,
        timeout_s: float = 1800.0,
        pending_timeout_s: float = 3600.0,
        poll_s: float = 2.0,
    ) -> None:
        self.options = options
        self.state_dir = state_dir.resolve()  # the job's working directory may differ from ours
        self.timeout_s = timeout_s
        self.pending_timeout_s = pending_timeout_s
        self.poll_s = poll_s
        self.jobs: list[SlurmJob] = []

    def _write_jobs_file(self) -> None:
        payload = {"jobs": [job.model_dump(mode="json") for job in self.jobs]}
        (self.state_dir / JOBS_FILENAME).write_text(json.dumps(payload, indent=2), encoding="utf-8")

    def submit(self, plan: LaunchPlan) -> list[SlurmJob]:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        try:
            for replica in plan.replicas:
                stem = f"{replica.model_name.replace('/', '_')}-{replica.replica}"
                script = self.state_dir / f"{stem}.sbatch"
                pattern = self.state_dir / f"{stem}-%j.log"
                script.write_text(
                    replica_script(replica, self.options, log_pattern=pattern), encoding="utf-8"
                )
                job_id = sbatch(script)
                log = Path(str(pattern).replace("%j", job_id))
                self.jobs.append(
                    SlurmJob(job_id=job_id, model_name=replica.model_name, replica=replica.replica, log=log)
                )
                self._write_jobs_file()
                print(f"submitted job {job_id}: {replica.label}", file=sys.stderr, flush=True)
        except BaseException:
            self.stop()
            raise
        return self.jobs

    def _failure(self, job: SlurmJob, reason: str) -> SlurmError:
        return SlurmError(
            f"Slurm job {job.job_id} ({job.model_name} replica {job.replica}): {reason}\n"
            f"log: {job.log}\n{read_log_tail(job.log)}"
        )

    async def start(self, plan: LaunchPlan) -> LaunchPlan:
        try:
            self.submit(plan)  # not in a thread: a Ctrl-C must not land while jobs are still being submitted
            hosts = await self._wait_all_up(plan)
        except BaseException:
            self.stop()
            raise
        replicas = [
            replica.model_copy(update={"connect_host": hosts[job.job_id]})
            for replica, job in zip(plan.replicas, self.jobs, strict=True)
        ]
        return plan.model_copy(update={"replicas": replicas})

    async def _wait_all_up(self, plan: LaunchPlan) -> dict[str, str]:
        submitted = time.monotonic()
        started: dict[str, float] = {}
        up: dict[str, str] = {}
        last_problem: dict[str, str] = {}
        replica_of = dict(zip((job.job_id for job in self.jobs), plan.replicas, strict=True))
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5.0)) as session:
            while len(up) < len(self.jobs):
                states = await asyncio.to_thread(
                    job_states, [j.job_id for j in self.jobs if j.job_id not in up]
                )
                now = time.monotonic()
                for job in self.jobs:
                    if job.job_id in up:
                        continue
                    state = states[job.job_id]
                    if not state.active:
                        raise self._failure(job, f"ended ({state.described}) before it answered")
                    if state.state != "RUNNING":
                        if now - submitted > self.pending_timeout_s:
                            raise self._failure(
                                job, f"still {state.state} after {self.pending_timeout_s:.0f} s "
                                f"(reason: {state.reason or 'none given'}); cancelled",
                            )  # fmt: skip
                        continue
                    started.setdefault(job.job_id, now)
                    host = await asyncio.to_thread(first_node, state.nodes)
                    replica = replica_of[job.job_id].model_copy(update={"connect_host": host})
                    problem = await _serves(session, replica.base_url, replica.served_model_id)
                    if problem is None:
                        up[job.job_id] = host
                        print(f"job {job.job_id} up: {replica.base_url}", file=sys.stderr, flush=True)
                        continue
                    last_problem[job.job_id] = problem
                    if now - started[job.job_id] > self.timeout_s:
                        raise self._failure(
                            job, f"running on {host} but not healthy after {self.timeout_s:.0f} s "
                            f"(last answer from {replica.base_url}: {problem})",
                        )  # fmt: skip
                if len(up) < len(self.jobs):
                    await asyncio.sleep(self.poll_s)
        return up

    async def problems(self) -> list[str]:
        states = await asyncio.to_thread(job_states, [job.job_id for job in self.jobs])
        return [
            str(self._failure(job, f"is {states[job.job_id].described}, no longer serving"))
            for job in self.jobs
            if states[job.job_id].state != "RUNNING"
        ]

    def stop(self) -> None:
        if not self.jobs:
            return
        stop_jobs([job.job_id for job in self.jobs])
        self.jobs = []
        (self.state_dir / JOBS_FILENAME).unlink(missing_ok=True)


def stop_jobs(job_ids: list[str], *, wait_s: float = 30.0) -> list[str]:
    """scancel the jobs and wait (up to wait_s) until Slurm no longer runs them; return those still active."""
    scancel(job_ids)
    deadline = time.monotonic() + wait_s
    while True:
        active = [j for j, s in job_states(job_ids).items() if s.active]
        if not active or time.monotonic() > deadline:
            return active
        time.sleep(0.5)


def stop_recorded_jobs(endpoints_out: Path) -> int:
    """`harness serve-pool --stop`: cancel the jobs a serve-pool (maybe killed) left in its jobs file."""
    jobs_file = state_dir_for(endpoints_out) / JOBS_FILENAME
    if not jobs_file.is_file():
        print(f"no Slurm jobs recorded in {jobs_file}: nothing to stop", file=sys.stderr)
        return 0
    jobs = [SlurmJob.model_validate(j) for j in json.loads(jobs_file.read_text(encoding="utf-8"))["jobs"]]
    still = stop_jobs([job.job_id for job in jobs])
    if still:
        print(f"error: job(s) {', '.join(still)} still active after scancel", file=sys.stderr)
        return 1
    jobs_file.unlink()
    print(f"cancelled {len(jobs)} Slurm job(s): {', '.join(j.job_id for j in jobs)}", file=sys.stderr)
    return 0
