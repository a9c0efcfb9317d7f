"""Run manifests: written atomically, secrets redacted, incompatible resumes refused."""

from __future__ import annotations

import json

import pytest
from pydantic import BaseModel

from results.manifest import (
    REDACTED,
    ManifestError,
    build_manifest,
    check_compatible,
    merge_for_resume,
    read_manifest,
    redact_secrets,
    write_manifest,
)
from results.records import SamplingParams, TaskInfo


class _Endpoint(BaseModel):
    name: str
    base_url: str
    api_key: str | None = None
    api_key_env: str | None = None


class _Config(BaseModel):
    models: list[_Endpoint]
    max_tokens: int = 512
    headers: dict[str, str] = {}


def _manifest(tmp_path, **overrides):
    task_file = tmp_path / "gsm8k.yaml"
    if not task_file.exists():
        task_file.write_text("name: gsm8k\n")
    values = dict(
        config=_Config(
            models=[
                _Endpoint(
                    name="m1", base_url="http://localhost:8000/v1", api_key="sk-live-123", api_key_env="KEY"
                )
            ],
            headers={"Authorization": "Bearer abc", "X-Trace": "on"},
        ),
        sampling=SamplingParams(temperature=0.7, max_tokens=512),
        seed=1234,
        tasks=["gsm8k"],
        task_files={"gsm8k": task_file},
        limit=100,
        n_samples=5,
        task_info={"gsm8k": TaskInfo(category="math", grader="math")},
    )
    values.update(overrides)
    return build_manifest("demo", **values)


def test_write_then_read_round_trip_without_secrets(tmp_path):
    manifest = _manifest(tmp_path)
    path = write_manifest(tmp_path / "run", manifest)
    text = path.read_text()
    assert "sk-live-123" not in text and "Bearer abc" not in text
    data = json.loads(text)
    assert data["config"]["models"][0]["api_key"] == REDACTED
    assert data["config"]["models"][0]["api_key_env"] == "KEY"  # a variable name, not the secret
    assert data["config"]["headers"] == {"Authorization": REDACTED, "X-Trace": "on"}
    assert data["config"]["max_tokens"] == 512  # "tokens" is not a secret
    assert len(data["task_hashes"]["gsm8k"]) == 64
    assert data["packages"]["pydantic"]  # installed here, so a version string
    assert read_manifest(tmp_path / "run") == manifest
    assert not list((tmp_path / "run").glob(".manifest.*"))  # no temp file left behind


def test_read_manifest_absent_and_invalid(tmp_path):
    assert read_manifest(tmp_path) is None
    (tmp_path / "manifest.json").write_text('{"run_name": 3}')
    with pytest.raises(ManifestError, match="manifest.json"):
        read_manifest(tmp_path)


def test_redact_nested_lists():
    cleaned = redact_secrets({"a": [{"token": "t"}, {"password": ""}], "openai_api_key": "k"})
    assert cleaned == {"a": [{"token": REDACTED}, {"password": ""}], "openai_api_key": REDACTED}


def test_compatible_resume_reports_harmless_changes(tmp_path):
    old = _manifest(tmp_path)
    (tmp_path / "gsm8k.yaml").write_text("name: gsm8k\nprompt: changed\n")
    new = _manifest(tmp_path, limit=200, tasks=["gsm8k", "mbpp"])
    notes = check_compatible(old, new)
    assert any("task file for gsm8k changed" in n for n in notes)
    assert any("limit changed: 100 -> 200" in n for n in notes)
    assert any("mbpp" in n for n in notes)
    merged = merge_for_resume(old, new)
    assert merged.created_at == old.created_at and merged.updated_at >= new.updated_at
    assert merged.tasks == ["gsm8k", "mbpp"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"seed": 99}, "seed: 1234 -> 99"),
        ({"sampling": SamplingParams(temperature=0.0, max_tokens=512)}, "temperature=0.0"),
        (
            {"model_sampling": {"m1": SamplingParams(temperature=1.0, max_tokens=512)}},
            "sampling for model m1",
        ),
    ],
)
def test_incompatible_resume_is_refused(tmp_path, change, message):
    old = _manifest(tmp_path)
    new = _manifest(tmp_path, **change)
    with pytest.raises(ManifestError, match="--run") as info:
        check_compatible(old, new)
    assert message in str(info.value)
