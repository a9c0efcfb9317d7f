"""``<run_dir>/manifest.json``: what produced a run, so its numbers can be trusted and reproduced."""

from __future__ import annotations

import hashlib
import importlib.metadata
import platform
import re
import sys
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from results.files import write_text_atomic
from results.records import SamplingParams, TaskInfo

MANIFEST_FILENAME = "manifest.json"
DISTRIBUTION_NAME = "avengers-harness"
KEY_PACKAGES = (
    "aiohttp",
    "openai",
    "numpy",
    "scikit-learn",
    "datasets",
    "sympy",
    "math-verify",
    "evalplus",
    "pydantic",
    "tenacity",
    "pyyaml",
    "rich",
    "pyarrow",
    "torch",
    "sentence-transformers",
    "llama-cpp-python",
)
REDACTED = "<redacted>"
# Config keys whose values must never reach a file that people share alongside results.
_SECRET_KEYS = {"apikey", "token", "secret", "password", "passwd", "authorization", "cookie", "credentials"}
_SECRET_SUFFIXES = ("_key", "_token", "_secret", "_password", "_credentials")
# user[:password]@ right after a scheme's "//": the credentials a URL can carry.
_URL_CREDENTIALS = re.compile(r"(?<=//)[^/\s@:]*(?::[^/\s@]*)?@")


class ManifestError(ValueError):
    """The manifest is unreadable, or a resumed run would mix incompatible settings."""


def _now() -> datetime:
    return datetime.now(UTC)


def harness_version() -> str:
    try:
        return importlib.metadata.version(DISTRIBUTION_NAME)
    except importlib.metadata.PackageNotFoundError:
        return "unknown (not installed; running from a source tree)"


def package_versions(names: Iterable[str] = KEY_PACKAGES) -> dict[str, str | None]:
    """Installed version of each distribution, None when it is not installed."""
    versions: dict[str, str | None] = {}
    for name in names:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def _is_secret_key(key: str) -> bool:
    lowered = key.lower().replace("-", "_")
    return lowered in _SECRET_KEYS or lowered.endswith(_SECRET_SUFFIXES)


def redact_credentials(text: str) -> str:
    """The text with the credentials of every URL in it (http://user:pass@host) replaced by <redacted>."""
    return _URL_CREDENTIALS.sub(REDACTED + "@", text) if "@" in text else text


def redact_secrets(value: Any) -> Any:
    """A copy of a JSON-like config with every secret-looking key's value replaced by ``<redacted>``,
    and the credentials of every URL in a string value (``http://user:pass@host``) too.

    Keys naming an environment variable that holds a secret (``api_key_env``) are kept: the variable
    name is not the secret and tells a reader how the run was authenticated.
    """
    if isinstance(value, Mapping):
        cleaned: dict[str, Any] = {}
        for key, item in value.items():
            key_str = str(key)
            if _is_secret_key(key_str) and not key_str.lower().endswith("_env") and item not in (None, ""):
                cleaned[key_str] = REDACTED
            else:
                cleaned[key_str] = redact_secrets(item)
        return cleaned
    if isinstance(value, list | tuple):
        return [redact_secrets(v) for v in value]
    if isinstance(value, str):
        return redact_credentials(value)
    return value


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class RunManifest(BaseModel):
    run_name: str
    created_at: datetime = Field(default_factory=_now)
    updated_at: datetime = Field(default_factory=_now)
    harness_version: str = Field(default_factory=harness_version)
    python_version: str = Field(default_factory=lambda: sys.version.split()[0])
    platform: str = Field(default_factory=platform.platform)
    packages: dict[str, str | None] = Field(default_factory=package_versions)
    config: dict[str, Any] = Field(default_factory=dict, description="the full run config, secrets redacted")
    sampling: SamplingParams
    model_sampling: dict[str, SamplingParams] = Field(
        default_factory=dict, description="per-model overrides of `sampling`, keyed by model name"
    )
    n_samples: int | None = None
    seed: int | None = None
    tasks: list[str] = Field(default_factory=list)
    limit: int | None = None
    task_hashes: dict[str, str] = Field(
        default_factory=dict, description="task name -> sha256 of its task file"
    )
    task_info: dict[str, TaskInfo] = Field(
        default_factory=dict, description="what `harness report` needs to recompute metrics"
    )

    def sampling_for(self, model: str) -> SamplingParams:
        return self.model_sampling.get(model, self.sampling)


def build_manifest(
    run_name: str,
    *,
    config: BaseModel | Mapping[str, Any],
    sampling: SamplingParams,
    seed: int | None,
    tasks: Iterable[str],
    task_files: Mapping[str, Path] | None = None,
    limit: int | None = None,
    n_samples: int | None = None,
    model_sampling: Mapping[str, SamplingParams] | None = None,
    task_info: Mapping[str, TaskInfo] | None = None,
) -> RunManifest:
    """A fresh manifest; ``config`` (a pydantic model or dict) is dumped and redacted here."""
    raw = config.model_dump(mode="json") if isinstance(config, BaseModel) else dict(config)
    return RunManifest(
        run_name=run_name,
        config=redact_secrets(raw),
        sampling=sampling,
        model_sampling=dict(model_sampling or {}),
        n_samples=n_samples,
        seed=seed,
        tasks=list(tasks),
        limit=limit,
        task_hashes={name: file_sha256(path) for name, path in (task_files or {}).items()},
        task_info=dict(task_info or {}),
    )


def manifest_path(run_dir: Path) -> Path:
    return Path(run_dir) / MANIFEST_FILENAME


def write_manifest(run_dir: Path, manifest: RunManifest) -> Path:
    """Write atomically (temp file + rename) so a crash never leaves half a manifest."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    return write_text_atomic(manifest_path(run_dir), manifest.model_dump_json(indent=2), fsync=True)


def read_manifest(run_dir: Path) -> RunManifest | None:
    """The run's manifest, or None when the run directory has none yet."""
    path = manifest_path(Path(run_dir))
    if not path.is_file():
        return None
    try:
        return RunManifest.model_validate_json(path.read_text(encoding="utf-8"))
    except ValidationError as exc:
        raise ManifestError(f"{path} is not a valid run manifest:\n{exc}") from exc


def check_compatible(existing: RunManifest, new: RunManifest) -> list[str]:
    """Raise ManifestError if resuming ``existing`` with ``new`` settings would mix incompatible samples.

    Sampling parameters and the seed must match (otherwise samples from two settings would be
    averaged together). Returns notes about harmless differences (task files edited, limit or
    task selection changed, harness upgraded) for the caller to show.
    """
    problems: list[str] = []
    if existing.seed != new.seed:
        problems.append(f"seed: {existing.seed} -> {new.seed}")
    if existing.sampling != new.sampling:
        problems.append(f"sampling: {_describe(existing.sampling)} -> {_describe(new.sampling)}")
    for model in sorted(set(existing.model_sampling) | set(new.model_sampling)):
        before, after = existing.sampling_for(model), new.sampling_for(model)
        if before != after and existing.sampling == new.sampling:
            problems.append(f"sampling for model {model}: {_describe(before)} -> {_describe(after)}")
    if problems:
        raise ManifestError(
            f"run {existing.run_name!r} already exists with different settings ("
            + "; ".join(problems)
            + "). Resuming would mix samples drawn under different settings: "
            "pick a new run name with --run, or restore the original settings."
        )
    notes: list[str] = []
    for task in sorted(set(existing.task_hashes) & set(new.task_hashes)):
        if existing.task_hashes[task] != new.task_hashes[task]:
            notes.append(
                f"task file for {task} changed since the run started; samples whose prompt changed are redone"
            )
    added = [t for t in new.tasks if t not in existing.tasks]
    if added:
        notes.append(f"tasks added to the run: {', '.join(added)}")
    if existing.limit != new.limit:
        notes.append(f"limit changed: {existing.limit} -> {new.limit}")
    if existing.n_samples != new.n_samples:
        notes.append(f"samples per item changed: {existing.n_samples} -> {new.n_samples}")
    if existing.harness_version != new.harness_version:
        notes.append(f"harness version changed: {existing.harness_version} -> {new.harness_version}")
    return notes


def merge_for_resume(existing: RunManifest, new: RunManifest) -> RunManifest:
    """The manifest to write after a compatible resume: original creation time, union of tasks, new details."""
    return new.model_copy(
        update={
            "created_at": existing.created_at,
            "updated_at": _now(),
            "tasks": list(dict.fromkeys([*existing.tasks, *new.tasks])),
            "task_hashes": {**existing.task_hashes, **new.task_hashes},
            "task_info": {**existing.task_info, **new.task_info},
        }
    )


def _describe(params: SamplingParams) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in params.model_dump().items())
