"""Fixtures for the viewer tests: two real runs (one with a router) built once per session."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.view.helpers import EmbeddingServer, add_router, write_run


@pytest.fixture(scope="session")
def embedding_server():
    server = EmbeddingServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def view_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("view-cache")


@pytest.fixture(scope="session")
def runs_root(tmp_path_factory, embedding_server, view_cache) -> Path:
    """runs/pool-a (with router/) and runs/pool-b, as `harness eval` + `harness route ...` leave them."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HARNESS_CACHE_DIR", str(view_cache))
        root = tmp_path_factory.mktemp("runs")
        write_run(root / "pool-a")
        write_run(root / "pool-b", run_offset=1)
        add_router(root / "pool-a", embedding_server.spec)
    return root


@pytest.fixture
def run_copy(runs_root, tmp_path) -> Path:
    """A private copy of pool-a for tests that add samples to the store."""
    target = tmp_path / "runs" / "pool-a"
    shutil.copytree(runs_root / "pool-a", target, ignore=shutil.ignore_patterns("view-index.sqlite*"))
    return target


@pytest.fixture(autouse=True)
def _cache_env(monkeypatch, view_cache):
    monkeypatch.setenv("HARNESS_CACHE_DIR", str(view_cache))
