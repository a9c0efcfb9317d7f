"""The trained routers as extra rows of `router.evaluate.evaluate` (and the fidelity bench).

Each :class:`TrainedBaseline` is fitted per seed on that seed's calibration rows only, and returns
model orders for the test rows, so the same Self-Consistency / Model-Switch scoring applies.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from router.scoring import ScoreBook
from router.table import OutcomeTable
from router.trained.embedllm import EmbedLLMConfig, fit_embedllm
from router.trained.fitting import FittedRouter, TestSet
from router.trained.routerdc import RouterDCConfig, fit_routerdc

TRAINED_NAMES = ("routerdc", "embedllm")


@dataclass
class TrainedBaseline:
    name: str
    fit: Callable[..., FittedRouter]
    peak_test_step: bool = False

    @property
    def label(self) -> str:
        return f"{self.name}, peak test step (optimistic)" if self.peak_test_step else self.name

    def orders(
        self,
        table: OutcomeTable,
        book: ScoreBook,
        embeddings: np.ndarray,
        calibration: np.ndarray,
        test: np.ndarray,
        seed: int,
    ) -> np.ndarray:
        groups = table.task_of[calibration]
        peak = (
            TestSet(embeddings[test], book.mean[test], table.task_of[test]) if self.peak_test_step else None
        )
        router = self.fit(
            embeddings[calibration], book.mean[calibration], groups, table.models, seed=seed, peak_test=peak
        )
        return router.order(embeddings[test])


def trained_baselines(
    names: tuple[str, ...] = TRAINED_NAMES,
    *,
    peak_test_step: bool = False,
    routerdc: RouterDCConfig | None = None,
    embedllm: EmbedLLMConfig | None = None,
) -> list[TrainedBaseline]:
    """RouterDC (ours) and EmbedLLM (ours); ``peak_test_step`` is the paper's (optimistic) reporting."""
    makers = {
        "routerdc": TrainedBaseline(
            "RouterDC (ours)", lambda *a, **k: fit_routerdc(*a, config=routerdc, **k), peak_test_step
        ),
        "embedllm": TrainedBaseline(
            "EmbedLLM (ours)", lambda *a, **k: fit_embedllm(*a, config=embedllm, **k), peak_test_step
        ),
    }
    unknown = [n for n in names if n not in makers]
    if unknown:
        raise ValueError(f"unknown trained router(s) {', '.join(unknown)}; known: {', '.join(makers)}")
    return [makers[n] for n in names]
