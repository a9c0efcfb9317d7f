"""Trained routing baselines over the correctness matrix: RouterDC and EmbedLLM (CPU, frozen embedder)."""

from router.trained.baselines import TRAINED_NAMES, TrainedBaseline, trained_baselines
from router.trained.embedllm import EmbedLLMConfig, fit_embedllm
from router.trained.fitting import FittedRouter, TestSet
from router.trained.routerdc import RouterDCConfig, fit_routerdc

__all__ = [
    "TRAINED_NAMES",
    "EmbedLLMConfig",
    "FittedRouter",
    "RouterDCConfig",
    "TestSet",
    "TrainedBaseline",
    "fit_embedllm",
    "fit_routerdc",
    "trained_baselines",
]
