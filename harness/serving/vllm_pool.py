"""`harness serve-pool POOL.yaml`: start `vllm serve` for every model of a pool file that has a `launch:` block.

    models:
      - name: qwen2.5-7b
        served_model_id: Qwen/Qwen2.5-7B-Instruct
        launch: {gpus: [0, 1, 2, 3], port: 8000, max_model_len: 8192}   # 4 replicas on ports 8000-8003
      - name: llama-70b
        launch: {model: /models/llama-70b, gpus: [4, 5, 6, 7], tensor_parallel: 4, port: 8010}

GPU layout: `tensor_parallel` must divide `len(gpus)`. The GPUs are cut, in the order given, into
len(gpus) / tensor_parallel replicas of `tensor_parallel` GPUs each; replica i listens on port + i
and sees only its GPUs (CUDA_VISIBLE_DEVICES). All replicas of a model become its `base_urls`, and the
scheduler spreads requests over them. No GPU and no port may be used twice in one pool file.

Once every replica answers GET /v1/models, the pool file is written back out as an endpoints file
(launch blocks replaced by the base URLs actually served) that `harness eval --models` reads.
Ctrl-C / SIGTERM stops every server. vLLM itself is only ever run as a subprocess, never imported.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import sys
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

from harness import settings
from harness.config import ModelSpec
from harness.serving.embedded import ManagedServer, ServerStartError, stop_servers
from harness.serving.launch_spec import LaunchSpec
from harness.yaml_model import ConfigFileError, load_yaml_text, validate_with_lines

VLLM_EXTRA_HINT = 'pip install -e ".[vllm]"'


class _LaunchPlanFile(BaseModel):
    models: list[ModelSpec] = Field(min_length=1)

    @field_validator("models")
    @classmethod
    def _no_shared_gpu_or_port(cls, models: list[ModelSpec]) -> list[ModelSpec]:
        gpu_owner: dict[int, str] = {}
        port_owner: dict[int, str] = {}
        for entry in models:
            if entry.launch is None:
                continue
            for gpu in entry.launch.gpus:
                if gpu in gpu_owner:
                    raise ValueError(f"GPU {gpu} is given to both {gpu_owner[gpu]!r} and {entry.name!r}")
                gpu_owner[gpu] = entry.name
            for port in entry.launch.replica_ports():
                if port in port_owner:
                    raise ValueError(
                        f"port {port} is used by both {port_owner[port]!r} and {entry.name!r} "
                        "(a model with N replicas uses ports port..port+N-1)"
                    )
                port_owner[port] = entry.name
        return models


class ReplicaLaunch(BaseModel):
    """One `vllm serve` process to start."""

    model_config = ConfigDict(frozen=True)

    model_name: str
    replica: int
    argv: list[str]
    gpus: list[int]
    bind_host: str
    connect_host: str
    port: int
    served_model_id: str
    tensor_parallel: int = 1
    env: dict[str, str] = Field(default_factory=dict)
    modules: list[str] = Field(default_factory=list)
    nodes: int = 1

    @property
    def base_url(self) -> str:
        return f"http://{self.connect_host}:{self.port}/v1"

    @property
    def label(self) -> str:
        return f"vllm {self.model_name} replica {self.replica} (GPUs {self.gpus}, port {self.port})"


class LaunchPlan(BaseModel):
    pool_path: Path
    raw: dict[str, Any]
    replicas: list[ReplicaLaunch]

    def endpoints_document(self) -> dict[str, Any]:
        """The pool file with every launch block replaced by the base URLs its replicas serve."""
        urls: dict[str, list[str]] = {}
        served: dict[str, str] = {}
        for replica in self.replicas:
            urls.setdefault(replica.model_name, []).append(replica.base_url)
            served[replica.model_name] = replica.served_model_id
        document = {**self.raw, "models": []}
        for entry in self.raw["models"]:
            entry = dict(entry)
            if entry.get("name") in urls:
                entry.pop("launch", None)
                entry.pop("base_url", None)
                entry["base_urls"] = urls[entry["name"]]
                entry["served_model_id"] = served[entry["name"]]
            document["models"].append(entry)
        return document


def build_vllm_command(
    spec: LaunchSpec, *, served_model_id: str, port: int, executable: str = "vllm"
) -> list[str]:
    """The argv of `vllm serve` for one replica of `spec` (the model defaults to served_model_id)."""
    if spec.command is not None:
        fields = {"port": port, "host": spec.host, "model": spec.model or served_model_id}
        return [part.format(served_model_id=served_model_id, **fields) for part in spec.command]
    argv = [
        executable, "serve", spec.model or served_model_id,
        "--host", spec.host,
        "--port", str(port),
        "--served-model-name", served_model_id,
        "--tensor-parallel-size", str(spec.tensor_parallel),
    ]  # fmt: skip
    if spec.max_model_len is not None:
        argv += ["--max-model-len", str(spec.max_model_len)]
    if spec.dtype is not None:
        argv += ["--dtype", spec.dtype]
    if spec.gpu_memory_utilization is not None:
        argv += ["--gpu-memory-utilization", str(spec.gpu_memory_utilization)]
    return argv + list(spec.extra_args)


def load_launch_plan(pool_path: str | Path, *, executable: str = "vllm", port_offset: int = 0) -> LaunchPlan:
    """Read and validate a pool file; raise ConfigFileError (file, field, line) on bad input.

    port_offset shifts every port (several job-array tasks serving the same pool on one node).
    """
    path = Path(pool_path)
    data, node = load_yaml_text(path)
    parsed = validate_with_lines(_LaunchPlanFile, data, node, path)
    replicas = []
    for entry in parsed.models:
        spec = entry.launch
        if spec is None:
            continue
        for index, (gpus, first_port) in enumerate(
            zip(spec.replica_gpus(), spec.replica_ports(), strict=True)
        ):
            port = first_port + port_offset
            if not 1 <= port <= 65535:
                raise ConfigFileError(
                    f"{path}: {entry.name}: port {first_port} + offset {port_offset} is not a port"
                )
            replicas.append(
                ReplicaLaunch(
                    model_name=entry.name,
                    replica=index,
                    argv=build_vllm_command(
                        spec, served_model_id=entry.model_id, port=port, executable=executable
                    ),
                    gpus=gpus,
                    bind_host=spec.host,
                    connect_host=spec.connect_host,
                    port=port,
                    served_model_id=entry.model_id,
                    tensor_parallel=spec.tensor_parallel,
                    env=spec.env,
                    modules=spec.modules,
                    nodes=spec.nodes,
                )
            )
    if not replicas:
        raise ConfigFileError(f"{path}: no model has a `launch:` block, so there is nothing to serve")
    return LaunchPlan(pool_path=path, raw=data, replicas=replicas)


def resolve_vllm_executable(executable: str = "vllm") -> str:
    found = shutil.which(executable)
    if found is None:
        raise ServerStartError(f"`{executable}` was not found on PATH; install vLLM with {VLLM_EXTRA_HINT}")
    return found


def _port_is_free(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def write_endpoints_file(plan: LaunchPlan, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    header = f"# written by `harness serve-pool {plan.pool_path}`; valid while it runs\n"
    tmp.write_text(header + yaml.safe_dump(plan.endpoints_document(), sort_keys=False), encoding="utf-8")
    os.replace(tmp, path)


class VllmPool:
    """The running vLLM replicas of one launch plan.

        async with VllmPool(plan, log_dir=...) as pool:   # returns once every replica is healthy
            ...
    Leaving the block (normally, by exception or Ctrl-C) stops every process group.
    """

    def __init__(
        self, plan: LaunchPlan, *, log_dir: Path, timeout_s: float = 1800.0, stop_grace_s: float = 30.0
    ) -> None:
        self.plan = plan
        self.log_dir = Path(log_dir)
        self.timeout_s = timeout_s
        # vLLM shuts its workers down on SIGTERM; give it this long before SIGKILL.
        self.stop_grace_s = stop_grace_s
        self.servers: list[ManagedServer] = []

    async def start(self) -> None:
        if self.servers:
            raise RuntimeError("VllmPool already started")
        executable = resolve_vllm_executable(self.plan.replicas[0].argv[0])
        busy = [r for r in self.plan.replicas if not _port_is_free(r.bind_host, r.port)]
        if busy:
            ports = ", ".join(f"{r.port} ({r.model_name})" for r in busy)
            raise ServerStartError(f"{self.plan.pool_path}: port(s) already in use on this machine: {ports}")
        for replica in self.plan.replicas:
            env = {
                **os.environ,
                **replica.env,
                "CUDA_VISIBLE_DEVICES": ",".join(str(g) for g in replica.gpus),
            }
            server = ManagedServer(
                [executable, *replica.argv[1:]],
                base_url=replica.base_url,
                log_path=self.log_dir / f"{replica.model_name.replace('/', '_')}-{replica.replica}.log",
                label=replica.label,
                env=env,
                expected_model_id=replica.served_model_id,
            )
            self.servers.append(server)
        try:
            for server in self.servers:
                server.launch()
            failures = await self._wait_all_healthy()
        except BaseException:
            self.stop()
            raise
        if failures:
            self.stop()
            raise ServerStartError(
                f"{len(failures)} of {len(self.servers)} vLLM server(s) failed to start; all were stopped.\n\n"
                + "\n\n".join(str(f) for f in failures)
            )

    async def _wait_all_healthy(self) -> list[ServerStartError]:
        """Wait for every replica; stop waiting as soon as one fails (no point loading the rest for minutes)."""
        waits = [asyncio.ensure_future(server.wait_healthy(self.timeout_s)) for server in self.servers]
        try:
            done, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_EXCEPTION)
        finally:
            for wait in waits:
                wait.cancel()
            await asyncio.gather(*waits, return_exceptions=True)
        errors = [wait.exception() for wait in done if wait.exception() is not None]
        unexpected = [error for error in errors if not isinstance(error, ServerStartError)]
        if unexpected:
            raise unexpected[0]
        return errors

    def exited(self) -> list[ManagedServer]:
        return [server for server in self.servers if server.returncode is not None]

    def stop(self) -> None:
        stop_servers(self.servers, grace_seconds=self.stop_grace_s)

    async def __aenter__(self) -> VllmPool:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.stop()


def default_log_dir() -> Path:
    return settings.runs_dir() / "serve-pool-logs"


def serve_pool_main(
    pool_path: str | Path,
    endpoints_out: str | Path | None = None,
    *,
    timeout_s: float = 1800.0,
    log_dir: str | Path | None = None,
    executable: str = "vllm",
    port_offset: int = 0,
) -> int:
    """`harness serve-pool`: launch, wait for health, write the endpoints file, serve until Ctrl-C/SIGTERM.

    Returns 0 after Ctrl-C/SIGTERM, 1 if a server fails to start or dies while serving.
    """
    try:
        plan = load_launch_plan(pool_path, executable=executable, port_offset=port_offset)
    except ConfigFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    out = Path(endpoints_out) if endpoints_out is not None else Path(pool_path).with_suffix(".endpoints.yaml")
    from harness.serving.launchers.local import LocalLauncher
    from harness.serving.launchers.serve import serve_plan

    log_path = Path(log_dir or default_log_dir())
    print(f"vLLM logs in {log_path}", file=sys.stderr, flush=True)
    return serve_plan(plan, LocalLauncher(log_dir=log_path, timeout_s=timeout_s), out)
