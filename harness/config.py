"""The model pool: which models to evaluate and how to reach them."""

from __future__ import annotations

import os
import re
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import (
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from harness.serving.launch_spec import LaunchSpec
from harness.yaml_model import ConfigFileError, error_messages, load_yaml_model
from results.manifest import redact_credentials

__all__ = ["ApiMode", "ModelPool", "ModelSpec", "load_pool", "parse_model_shorthand", "redact_credentials"]

MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]*$")
DEFAULT_MAX_RESPONSE_BYTES = 8 * 1024 * 1024


class ApiMode(StrEnum):
    CHAT = "chat"
    COMPLETIONS = "completions"


class ModelSpec(BaseModel):
    """One model of the pool, served behind one or more OpenAI-compatible base URLs (replicas)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="the name results are stored under")
    base_urls: list[AnyHttpUrl] = Field(
        default_factory=list,
        description="replica base URLs, e.g. http://gpu1:8000/v1 (may be left out with launch)",
    )
    served_model_id: str | None = Field(
        default=None, description="the `model` sent to the server; default: name"
    )
    api_key_env: str | None = Field(default=None, description="environment variable holding the API key")
    mode: ApiMode = ApiMode.CHAT
    max_concurrency: int = Field(default=64, ge=1, le=100_000, description="in-flight requests per replica")
    request_timeout_s: float = Field(default=1800.0, gt=0, description="idle/read timeout of one request")
    request_deadline_s: float = Field(
        default=7200.0,
        gt=0,
        description="total time one request (connect to last byte) may take, however steadily it trickles",
    )
    connect_timeout_s: float = Field(default=30.0, gt=0)
    max_response_bytes: int = Field(
        default=DEFAULT_MAX_RESPONSE_BYTES, ge=1024, description="largest response body read; more fails the row"
    )
    max_retry_after_s: float = Field(
        default=300.0, ge=0, description="longest wait a server's Retry-After header may impose"
    )
    max_attempts: int = Field(
        default=6, ge=1, le=50, description="tries per request on 429/5xx/connection errors"
    )
    supports_n: bool | None = Field(
        default=None, description="server honours n>1; None = detect on first request"
    )
    extra_body: dict[str, Any] = Field(default_factory=dict, description="extra JSON fields, e.g. vLLM top_k")
    launch: LaunchSpec | None = Field(default=None, description="how `harness serve-pool` starts vLLM for it")
    price_input_per_mtok: float | None = Field(default=None, ge=0, description="cost per 1M prompt tokens")
    price_output_per_mtok: float | None = Field(default=None, ge=0, description="cost per 1M output tokens")
    cost_per_call: float | None = Field(default=None, ge=0, description="cost per request (added to tokens)")
    strategy: dict[str, Any] | None = Field(
        default=None,
        description="a generation strategy over other pool models instead of an endpoint "
        "(harness.strategies: kind moa | symbolic_moe | llm_router)",
    )

    @model_validator(mode="before")
    @classmethod
    def _single_base_url(cls, data: Any) -> Any:
        if isinstance(data, dict) and "base_url" in data:
            if "base_urls" in data:
                raise ValueError("give either base_url or base_urls, not both")
            data = {**data, "base_urls": [data["base_url"]]}
            del data["base_url"]
        return data

    @model_validator(mode="after")
    def _reachable_somehow(self) -> ModelSpec:
        if not self.base_urls and self.launch is None and self.strategy is None:
            raise ValueError(
                f"model {self.name!r} needs base_urls (or a launch block for `harness serve-pool`)"
            )
        return self

    @field_validator("name")
    @classmethod
    def _name_ok(cls, value: str) -> str:
        if not MODEL_NAME.match(value):
            raise ValueError(f"model name {value!r} may hold only letters, digits and . _ : / -")
        return value

    @property
    def model_id(self) -> str:
        return self.served_model_id or self.name

    def api_key(self) -> str | None:
        if self.api_key_env is None:
            return None
        key = os.environ.get(self.api_key_env)
        if key is None:
            raise ConfigFileError(f"model {self.name}: environment variable {self.api_key_env} is not set")
        return key

    def urls(self) -> list[str]:
        if not self.base_urls:
            raise ConfigFileError(
                f"model {self.name} has a launch block but no base_urls: start it with "
                "`python -m harness serve-pool POOL.yaml` and evaluate with `--models endpoints.yaml`"
            )
        return [str(url).rstrip("/") for url in self.base_urls]


class ModelPool(BaseModel):
    model_config = ConfigDict(extra="forbid")

    models: list[ModelSpec] = Field(min_length=1)

    @field_validator("models")
    @classmethod
    def _unique_names(cls, models: list[ModelSpec]) -> list[ModelSpec]:
        seen: set[str] = set()
        for model in models:
            if model.name in seen:
                raise ValueError(f"model name {model.name!r} appears twice")
            seen.add(model.name)
        return models


def load_pool(path: str | Path) -> ModelPool:
    return load_yaml_model(path, ModelPool)


def parse_model_shorthand(text: str) -> ModelSpec:
    """`name=url[,url…]` as given to --model."""
    name, sep, urls = text.partition("=")
    if not sep or not name or not urls:
        raise ConfigFileError(
            f"--model {text!r}: expected NAME=URL[,URL...], e.g. qwen7b=http://gpu1:8000/v1"
        )
    try:
        return ModelSpec(name=name.strip(), base_urls=[u.strip() for u in urls.split(",") if u.strip()])
    except ValidationError as exc:
        problems = "; ".join(message for _, message in error_messages(exc, ModelSpec))
        raise ConfigFileError(f"--model {text!r}: {problems}") from None
