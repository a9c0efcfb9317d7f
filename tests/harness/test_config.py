"""The model pool file and --model shorthand: valid files load, mistakes name file, field and line."""

from __future__ import annotations

import pytest

from harness.cli import main
from harness.config import ApiMode, load_pool, parse_model_shorthand
from harness.yaml_model import ConfigFileError

GOOD = """\
models:
  - name: qwen7b
    base_urls: [http://gpu1:8000/v1, http://gpu2:8000/v1/]
    served_model_id: Qwen/Qwen2.5-7B-Instruct
    max_concurrency: 128
    extra_body: {top_k: 20}
  - name: api-model
    base_url: https://api.example.com/v1
    api_key_env: EXAMPLE_KEY
    mode: completions
  - name: to-launch
    launch: {gpus: [0, 1], port: 8100, tensor_parallel: 2, max_model_len: 8192}
"""


def test_a_full_pool_file_loads(tmp_path):
    path = tmp_path / "pool.yaml"
    path.write_text(GOOD)
    pool = load_pool(path)
    qwen, api, launched = pool.models
    assert qwen.urls() == ["http://gpu1:8000/v1", "http://gpu2:8000/v1"]
    assert qwen.model_id == "Qwen/Qwen2.5-7B-Instruct" and qwen.extra_body == {"top_k": 20}
    assert api.urls() == ["https://api.example.com/v1"] and api.mode == ApiMode.COMPLETIONS
    assert launched.launch.replica_count == 1
    with pytest.raises(ConfigFileError, match="serve-pool"):
        launched.urls()


@pytest.mark.parametrize(
    ("text", "line", "field", "message"),
    [
        ("models:\n  - name: a\n    base_url: http://x/v1\n    max_concurency: 4\n", 4, "models.0.max_concurency",
         "Extra inputs"),
        ("models:\n  - name: a\n    base_urls: [not a url]\n", 3, "models.0.base_urls.0", "URL"),
        ("models:\n  - base_url: http://x/v1\n", 2, "models.0.name", "required"),
        ("models:\n  - name: a\n    base_url: http://x/v1\n  - name: a\n    base_url: http://y/v1\n", 2,
         "models", "appears twice"),
    ],
    ids=["unknown-key", "bad-url", "missing-name", "duplicate-name"],
)
def test_mistakes_name_file_field_and_line(tmp_path, text, line, field, message):
    path = tmp_path / "pool.yaml"
    path.write_text(text)
    with pytest.raises(ConfigFileError) as error:
        load_pool(path)
    text = str(error.value)
    assert f"{path}:{line}: field '{field}'" in text and message in text


def test_missing_api_key_variable_is_named(monkeypatch, tmp_path):
    path = tmp_path / "pool.yaml"
    path.write_text(GOOD)
    monkeypatch.delenv("EXAMPLE_KEY", raising=False)
    with pytest.raises(ConfigFileError, match="EXAMPLE_KEY is not set"):
        load_pool(path).models[1].api_key()


def test_model_shorthand():
    spec = parse_model_shorthand("qwen7b=http://a:8000/v1,http://b:8000/v1")
    assert spec.name == "qwen7b" and spec.urls() == ["http://a:8000/v1", "http://b:8000/v1"]
    with pytest.raises(ConfigFileError, match="NAME=URL"):
        parse_model_shorthand("http://a:8000/v1")


def test_cli_reports_a_bad_pool_file_without_a_traceback(tmp_path, capsys):
    path = tmp_path / "pool.yaml"
    path.write_text("models:\n  - name: a\n    base_url: http://x/v1\n    timeout: 5\n")
    assert main(["eval", "--tasks", "aime", "--models", str(path)]) == 2
    err = capsys.readouterr().err
    assert "pool.yaml:4" in err and "timeout" in err and "Traceback" not in err
