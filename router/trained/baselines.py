"""The trained routers as extra rows of `router.evaluate.evaluate` (and the fidelity bench).

Each :class:`TrainedBaseline` is fitted per seed on that seed's calibration rows only (their
embeddings and query texts), and returns model orders for the test rows, so the same Self-Consistency / Model-Switch scoring applies.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from router.scoring import ScoreBook
from router.table import OutcomeTable
from router.trained.embedllm import EmbedLLMConfig, fit_embedllm
from router.trained.fitting import FittedRouter, TestSet
from router.trained.routerdc import RouterDCConfig, display_name, fit_routerdc
from router.trained.towers import load_encoder, resolve_device

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
        texts = [table.queries[i] for i in calibration]
        test_texts = [table.queries[i] for i in test]
        peak = (
            TestSet(embeddings[test], book.mean[test], table.task_of[test], test_texts)
            if self.peak_test_step
            else None
        )
        router = self.fit(
            embeddings[calibration],
            book.mean[calibration],
            groups,
            table.models,
            seed=seed,
            peak_test=peak,
            texts=texts,
        )
        return router.route(embeddings[test], test_texts)


def trained_baselines(
    names: tuple[str, ...] = TRAINED_NAMES,
    *,
    peak_test_step: bool = False,
    routerdc: RouterDCConfig | None = None,
    embedllm: EmbedLLMConfig | None = None,
) -> list[TrainedBaseline]:
    """RouterDC (ours) and EmbedLLM (ours); ``peak_test_step`` is the paper's (optimistic) reporting.

    A RouterDC ``encoder`` is loaded here, once for every seed (an :class:`EncoderLoadError` when it
    cannot be)."""
    unknown = [n for n in names if n not in TRAINED_NAMES]
    if unknown:
        raise ValueError(f"unknown trained router(s) {', '.join(unknown)}; known: {', '.join(TRAINED_NAMES)}")
    routerdc = routerdc or RouterDCConfig()
    makers = {
        "routerdc": lambda: _routerdc(routerdc, peak_test_step),
        "embedllm": lambda: TrainedBaseline(
            "EmbedLLM (ours)",
            lambda *a, texts=None, **k: fit_embedllm(*a, config=embedllm, **k),
            peak_test_step,
        ),
    }
    return [makers[n]() for n in names]


def _routerdc(config: RouterDCConfig, peak_test_step: bool) -> TrainedBaseline:
    encoder = load_encoder(config.encoder) if config.encoder is not None else None
    resolve_device(config.device)  # fail before any training when cuda is asked for and missing
    return TrainedBaseline(
        display_name(config),
        lambda *a, **k: fit_routerdc(*a, config=config, encoder=encoder, **k),
        peak_test_step,
    )
