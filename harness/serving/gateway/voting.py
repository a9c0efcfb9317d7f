"""Live Self-Consistency and Model-Switch: draw samples model by model, vote with the graders' rules.

The rules are the offline ones (:mod:`router.voting`, used by `route eval`), applied to fresh samples:

- one model (top-n 1): ``samples`` samples from the best model, majority answer;
- several models: ``max(1, samples // top_n)`` samples per model in rank order, stopping after the
  first model whose samples all carry an answer and agree; the majority over everything drawn wins;
- no answer format, or one that cannot vote (code): one sample of the best model is the answer;
- no sample carries an answer: the first sample of the first model that answered.

The returned message is the full text of the first sample of the winning group. A model that fails
(after the client's retries) is replaced by the next model of the cluster's ranking.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from harness.serving.gateway.answers import AnswerFormat
from harness.serving.gateway.members import Draw, Generation, MemberFailed
from router.voting import Sample, answer_groups, samples_agree, winning_group

DrawFn = Callable[[str, int], Awaitable[Draw]]


@dataclass(frozen=True)
class DrawnSample:
    model: str
    generation: Generation
    extracted: str | None


@dataclass
class Fallback:
    model: str
    error: str


@dataclass
class VoteResult:
    winner: DrawnSample
    samples: list[DrawnSample]
    draws: list[Draw]
    votes: dict[str, int]
    fallbacks: list[Fallback] = field(default_factory=list)
    stopped_early: bool = False
    mode: str = "self-consistency"

    @property
    def models_asked(self) -> list[str]:
        return [d.model for d in self.draws]


class AllModelsFailed(Exception):
    def __init__(self, fallbacks: list[Fallback]):
        super().__init__("every model of the ranking failed: " + "; ".join(f.error for f in fallbacks))
        self.fallbacks = fallbacks


async def vote(
    ranking: Sequence[str],
    draw: DrawFn,
    *,
    samples: int,
    top_n: int,
    answer_format: AnswerFormat | None,
) -> VoteResult:
    votable = answer_format is not None and answer_format.votable
    top_n = max(1, min(top_n, len(ranking)))
    if not votable:
        mode, per_model, wanted = "first-sample", 1, 1
    elif top_n == 1:
        mode, per_model, wanted = "self-consistency", samples, 1
    else:
        mode, per_model, wanted = "model-switch", max(1, samples // top_n), top_n

    drawn: list[DrawnSample] = []
    draws: list[Draw] = []
    fallbacks: list[Fallback] = []
    stopped = False
    for model in ranking:
        if len(draws) == wanted:
            break
        try:
            result = await draw(model, per_model)
        except MemberFailed as exc:
            fallbacks.append(Fallback(model, str(exc)))
            continue
        draws.append(result)
        batch = [
            DrawnSample(model, g, answer_format.extract(g.text, g.finish_reason) if votable else None)
            for g in result.generations
        ]
        drawn.extend(batch)
        if mode == "model-switch" and samples_agree(_as_samples(batch), answer_format.same):
            stopped = len(draws) < wanted
            break
    if not draws:
        raise AllModelsFailed(fallbacks)

    groups = answer_groups(_as_samples(drawn), answer_format.same) if votable else []
    best = winning_group(groups)
    winner = drawn[best[0]] if best is not None else drawn[0]
    votes = {drawn[g[0]].extracted: len(g) for g in groups}
    return VoteResult(
        winner=winner,
        samples=drawn,
        draws=draws,
        votes=votes,  # type: ignore[arg-type]
        fallbacks=fallbacks,
        stopped_early=stopped,
        mode=mode,
    )


def _as_samples(drawn: Sequence[DrawnSample]) -> list[Sample]:
    return [Sample(d.extracted, 0.0) for d in drawn]
