"""The `launch:` block of a model-pool entry: how `harness serve-pool` starts vLLM for that model."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

WILDCARD_HOSTS = ("0.0.0.0", "::", "")


class LaunchSpec(BaseModel):
    """The `launch:` block of a model-pool entry: how `harness serve-pool` starts vLLM for it."""

    model_config = ConfigDict(extra="forbid")

    model: str | None = Field(
        default=None,
        description="model path or hub id given to `vllm serve`; default: served_model_id or name",
    )
    gpus: list[int] = Field(min_length=1, description="GPU indices (CUDA_VISIBLE_DEVICES) for this model")
    port: int = Field(ge=1, le=65535, description="port of the first replica; replica i uses port + i")
    tensor_parallel: int = Field(default=1, ge=1, description="GPUs per replica; must divide len(gpus)")
    max_model_len: int | None = Field(default=None, ge=1)
    dtype: Literal["auto", "half", "float16", "bfloat16", "float", "float32"] | None = None
    gpu_memory_utilization: float | None = Field(default=None, gt=0.0, le=1.0)
    host: str = Field(
        default="127.0.0.1", description="bind address; base URLs use it (loopback for 0.0.0.0)"
    )
    extra_args: list[str] = Field(default_factory=list, description="appended verbatim to `vllm serve`")
    command: list[str] | None = Field(
        default=None,
        description="replaces `vllm serve ...` (e.g. a CPU stand-in); {port} {host} {model} {served_model_id} "
        "are filled in",
    )
    env: dict[str, str] = Field(default_factory=dict, description="extra environment of the server process")
    modules: list[str] = Field(default_factory=list, description="Slurm: `module load` these first")
    nodes: int = Field(
        default=1,
        ge=1,
        description="Slurm: nodes per replica; >1 runs vLLM on a Ray cluster in the allocation",
    )

    @field_validator("gpus")
    @classmethod
    def _gpus_distinct(cls, gpus: list[int]) -> list[int]:
        if any(gpu < 0 for gpu in gpus):
            raise ValueError(f"GPU indices must be >= 0, got {gpus}")
        repeated = sorted({gpu for gpu in gpus if gpus.count(gpu) > 1})
        if repeated:
            raise ValueError(f"GPU {repeated[0]} is listed twice in {gpus}")
        return gpus

    @model_validator(mode="after")
    def _layout(self) -> LaunchSpec:
        if len(self.gpus) % self.tensor_parallel:
            raise ValueError(
                f"tensor_parallel={self.tensor_parallel} must divide the number of gpus ({len(self.gpus)}): "
                "each replica uses tensor_parallel GPUs"
            )
        if self.port + self.replica_count - 1 > 65535:
            raise ValueError(f"replica ports {self.port}..{self.port + self.replica_count - 1} exceed 65535")
        return self

    @property
    def replica_count(self) -> int:
        return len(self.gpus) // self.tensor_parallel

    def replica_gpus(self) -> list[list[int]]:
        tp = self.tensor_parallel
        return [self.gpus[i * tp : (i + 1) * tp] for i in range(self.replica_count)]

    def replica_ports(self) -> list[int]:
        return [self.port + i for i in range(self.replica_count)]

    @property
    def connect_host(self) -> str:
        return "127.0.0.1" if self.host in WILDCARD_HOSTS else self.host
