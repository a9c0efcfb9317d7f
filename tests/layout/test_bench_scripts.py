"""bench/ scripts run as `python bench/<name>.py`, which puts bench/ first on sys.path: a script named like
one of the project's packages would be imported in its place by every other script (bench/graders.py once
made `import graders` load the bench instead of the graders whenever the project was on PYTHONPATH)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = {path.parent.name for path in ROOT.glob("*/__init__.py")}


def test_no_bench_script_is_named_like_a_package() -> None:
    assert {"harness", "graders", "router", "results"} <= PACKAGES
    clashes = sorted(path.name for path in (ROOT / "bench").glob("*.py") if path.stem in PACKAGES)
    assert not clashes, f"bench scripts shadowing packages: {clashes}"


def test_a_bench_script_imports_the_real_packages_with_the_project_on_pythonpath() -> None:
    # what `python bench/x.py` does to sys.path, without writing a script into the checkout
    code = f"import sys; sys.path.insert(0, {str(ROOT / 'bench')!r}); import graders, router; " \
        "print(graders.__file__); print(router.__file__)"
    out = subprocess.run(
        [sys.executable, "-c", code], env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=120, check=True,
    ).stdout.split()
    assert out == [str(ROOT / "graders" / "__init__.py"), str(ROOT / "router" / "__init__.py")]
