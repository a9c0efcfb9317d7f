"""What a strategy entry of a pool file says: `strategy: {kind: moa | symbolic_moe | llm_router, ...}`.

Members are named by the pool's other model entries (which are evaluated as models too).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MoAConfig(_Strict):
    """Mixture-of-Agents (Wang et al. 2024): proposers answer, later layers see the previous layer's
    answers, an aggregator writes the final answer. ``proposers_by_task`` gives a task its own
    proposers (the paper's MoA (Oracle): the top-3 models of each task)."""

    kind: Literal["moa"]
    proposers: list[str] = Field(min_length=1)
    aggregator: str
    layers: int = Field(default=1, ge=1, le=8, description="proposer layers before the aggregator")
    proposers_by_task: dict[str, list[str]] = Field(default_factory=dict)

    def proposers_for(self, task: str | None) -> list[str]:
        return self.proposers_by_task.get(task or "", self.proposers)

    def members(self) -> set[str]:
        return {*self.proposers, self.aggregator, *(m for ms in self.proposers_by_task.values() for m in ms)}


class SymbolicMoEConfig(_Strict):
    """Symbolic-MoE (Chen et al. 2025): an annotator names the skills a query needs, the experts whose
    skill profiles match best are recruited, answer, and an aggregator writes the final answer."""

    kind: Literal["symbolic_moe"]
    annotator: str = Field(description="the member that names a query's skills")
    aggregator: str
    profiles: dict[str, dict[str, float]] = Field(
        min_length=1, description="expert -> skill keyword -> strength (e.g. validation accuracy gains)"
    )
    recruit: int = Field(default=3, ge=1, description="experts per query")

    def members(self) -> set[str]:
        return {self.annotator, self.aggregator, *self.profiles}


class LLMRouterConfig(_Strict):
    """LLM Router: a model reads the query and short model descriptions, names one; that model answers."""

    kind: Literal["llm_router"]
    router: str
    descriptions: dict[str, str] = Field(min_length=1, description="candidate -> one-line description")
    fallback: str | None = Field(
        default=None, description="when the pick names no candidate (default: first)"
    )

    @model_validator(mode="after")
    def _fallback_is_a_candidate(self) -> LLMRouterConfig:
        if self.fallback is not None and self.fallback not in self.descriptions:
            raise ValueError(f"fallback {self.fallback!r} is not one of the described candidates")
        return self

    def members(self) -> set[str]:
        return {self.router, *self.descriptions}


StrategyConfig = Annotated[MoAConfig | SymbolicMoEConfig | LLMRouterConfig, Field(discriminator="kind")]
_ADAPTER: TypeAdapter = TypeAdapter(StrategyConfig)


def parse_strategy(
    name: str, raw: dict, pool_names: set[str]
) -> MoAConfig | SymbolicMoEConfig | LLMRouterConfig:
    """The typed strategy of pool entry ``name``; unknown members are an error naming the entry."""
    from harness.yaml_model import ConfigFileError

    try:
        config = _ADAPTER.validate_python(raw)
    except ValueError as exc:
        raise ConfigFileError(f"model {name}: strategy: {exc}") from None
    missing = sorted(config.members() - pool_names)
    if missing:
        raise ConfigFileError(
            f"model {name}: strategy {config.kind} names models the pool lacks: {', '.join(missing)}"
        )
    if name in config.members():
        raise ConfigFileError(f"model {name}: a strategy cannot call itself")
    return config
