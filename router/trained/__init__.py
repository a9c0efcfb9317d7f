"""Trained routing baselines over the correctness matrix: RouterDC and EmbedLLM (CPU, frozen embedder;
RouterDC optionally with its query encoder fine-tuned)."""

from router.trained.baselines import TRAINED_NAMES, TrainedBaseline, trained_baselines
from router.trained.embedllm import EmbedLLMConfig, fit_embedllm
from router.trained.fitting import FittedRouter, TestSet
from router.trained.routerdc import RouterDCConfig, fit_routerdc
from router.trained.towers import EncoderLoadError

__all__ = [
    "TRAINED_NAMES",
    "EmbedLLMConfig",
    "EncoderLoadError",
    "FittedRouter",
    "RouterDCConfig",
    "TestSet",
    "TrainedBaseline",
    "fit_embedllm",
    "fit_routerdc",
    "trained_baselines",
]
