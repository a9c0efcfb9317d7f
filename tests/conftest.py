"""Shared fixtures: where the real benchmark mirror and router data live.

Tests that need them skip with a clear message when they are absent, so the
suite still runs on a checkout without ../shared beside it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Tests never reach the Hugging Face hub: fail at once instead of retrying for a minute.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED = REPO_ROOT.parent / "shared"


def _first_dir(*candidates: str | Path | None) -> Path | None:
    for candidate in candidates:
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    return None


@pytest.fixture(scope="session")
def data_dir() -> Path:
    path = _first_dir(os.environ.get("HARNESS_DATA_DIR"), SHARED / "datasets")
    if path is None:
        pytest.skip("benchmark mirror not found: set HARNESS_DATA_DIR (e.g. ../shared/datasets)")
    return path


@pytest.fixture(scope="session")
def routerdata_dir() -> Path:
    path = _first_dir(os.environ.get("HARNESS_ROUTERDATA_DIR"), SHARED / "routerdata")
    if path is None:
        pytest.skip("router data not found: set HARNESS_ROUTERDATA_DIR (e.g. ../shared/routerdata)")
    return path
