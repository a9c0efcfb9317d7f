"""Answer voting over stored samples: Self-Consistency (one model) and Model-Switch (several).

Rules, applied the same way everywhere:

- Samples with no extracted answer do not vote. Answers are grouped by the task's equivalence
  (``same(a, b)``, normally ``graders.same_answer``); identical strings are always equivalent.
- The largest group wins; among equally large groups the one whose first member was drawn first
  wins (deterministic, and in Model-Switch it favours the higher-ranked model).
- The item's score is the score of the winning group's first member.
- No sample has an answer (imported tables store only a score per item and model, and code tasks
  have no answer to vote on): the score is the mean of the drawn samples' scores, i.e. the
  expected correctness of one sample; in Model-Switch, that of the first model. Code tasks are
  instead scored by the first sample of the first model (``first_sample_only``).
- Model-Switch draws each model's samples in rank order and stops after a model whose drawn
  samples all carry an answer and all agree; the final answer is the majority over everything drawn.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

Equivalence = Callable[[str, str], bool]


@dataclass(frozen=True, slots=True)
class Sample:
    extracted: str | None
    score: float
    cost: float = 0.0  # what drawing this sample cost (e.g. dollars); 0 when unknown


@dataclass(frozen=True)
class VoteOutcome:
    score: float
    answer: str | None
    models_used: int
    stopped_early: bool = False
    cost: float = 0.0  # summed cost of every sample drawn


def exact_match(a: str, b: str) -> bool:
    return a == b


def _groups(samples: Sequence[Sample], same: Equivalence) -> list[list[int]]:
    groups: list[list[int]] = []
    for index, sample in enumerate(samples):
        if sample.extracted is None:
            continue
        for group in groups:
            head = samples[group[0]].extracted
            if head == sample.extracted or same(head, sample.extracted):
                group.append(index)
                break
        else:
            groups.append([index])
    return groups


def majority(samples: Sequence[Sample], same: Equivalence = exact_match) -> tuple[float, str | None]:
    """(score, answer) of the majority answer among ``samples`` under the rules above."""
    if not samples:
        return 0.0, None
    groups = _groups(samples, same)
    if not groups:
        return sum(s.score for s in samples) / len(samples), None
    winner = max(groups, key=lambda g: (len(g), -g[0]))
    head = samples[winner[0]]
    return head.score, head.extracted


def self_consistency(
    samples: Sequence[Sample],
    same: Equivalence = exact_match,
    *,
    k: int | None = None,
    first_sample_only: bool = False,
) -> float:
    """Majority over the first ``k`` samples of one model (all of them when k is None)."""
    drawn = list(samples[:k] if k is not None else samples)
    if first_sample_only:
        return drawn[0].score if drawn else 0.0
    return majority(drawn, same)[0]


def _agree(samples: Sequence[Sample], same: Equivalence) -> bool:
    return (
        bool(samples) and all(s.extracted is not None for s in samples) and len(_groups(samples, same)) == 1
    )


def model_switch(
    per_model: Sequence[Sequence[Sample]],
    same: Equivalence = exact_match,
    *,
    k_per_model: int | None = None,
    first_sample_only: bool = False,
) -> VoteOutcome:
    """Vote across models in rank order, switching to the next model only while samples disagree."""
    if first_sample_only:
        for used, samples in enumerate(per_model, start=1):
            if samples:
                return VoteOutcome(samples[0].score, samples[0].extracted, used, cost=samples[0].cost)
        return VoteOutcome(0.0, None, len(per_model))
    drawn: list[Sample] = []
    used = 0
    stopped = False
    for samples in per_model:
        batch = list(samples[:k_per_model] if k_per_model is not None else samples)
        if not batch:
            continue
        used += 1
        drawn.extend(batch)
        if _agree(batch, same):
            stopped = used < len(per_model)
            break
    if drawn and all(s.extracted is None for s in drawn):
        # Nothing to vote on (score-only cells): the first model's expected correctness.
        first = next(
            list(samples[:k_per_model] if k_per_model is not None else samples)
            for samples in per_model
            if samples
        )
        return VoteOutcome(sum(s.score for s in first) / len(first), None, used, stopped, drawn_cost(drawn))
    score, answer = majority(drawn, same)
    return VoteOutcome(score, answer, used, stopped, drawn_cost(drawn))


def drawn_cost(samples: Sequence[Sample]) -> float:
    return float(sum(s.cost for s in samples))


def answer_groups(samples: Sequence[Sample], same: Equivalence = exact_match) -> list[list[int]]:
    """Positions of the samples in each answer group (groups in the order their first member was drawn).

    With :func:`winning_group`, for live voting, where the caller needs the winning sample itself
    rather than its stored score.
    """
    return _groups(samples, same)


def winning_group(groups: Sequence[Sequence[int]]) -> Sequence[int] | None:
    """The group that wins under the rules above (largest, then drawn first); None when there is none."""
    return max(groups, key=lambda g: (len(g), -g[0])) if groups else None


def samples_agree(samples: Sequence[Sample], same: Equivalence = exact_match) -> bool:
    """Model-Switch's stop rule: every sample carries an answer and all answers are equivalent."""
    return _agree(samples, same)
