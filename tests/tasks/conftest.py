"""Fixtures of the task-layer tests: hand-made data in the official schemas, and a task-file writer."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

FIXTURE_DATA = Path(__file__).parent / "fixtures" / "data"


@pytest.fixture(scope="session")
def fixture_data_dir() -> Path:
    """Hand-made items (not benchmark data) for the tasks missing from the mirror: finqa, mathbench."""
    return FIXTURE_DATA


@pytest.fixture
def write_task(tmp_path: Path) -> Callable[[str, str], Path]:
    """Write tasks/<name>.yaml under tmp_path from dedented YAML text; returns the file path."""
    directory = tmp_path / "tasks"
    directory.mkdir(exist_ok=True)

    def write(name: str, text: str) -> Path:
        path = directory / f"{name}.yaml"
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return write
