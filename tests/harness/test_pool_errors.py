"""Pool-file and --model errors, checked line by line: the right line, the user's own field names."""

from __future__ import annotations

import pytest

from harness.cli import main
from harness.config import load_pool, parse_model_shorthand
from harness.yaml_model import ConfigFileError

POOL = """\
models:
  - name: qwen7b
    base_urls: [http://gpu1:8000/v1]
    max_concurency: 8
  - name: gpt
    base_url: htp//not a url
    api_key_env: OPENAI_API_KEY
"""


def test_pool_errors_name_the_line_and_the_field_as_written(tmp_path):
    path = tmp_path / "pool.yaml"
    path.write_text(POOL)
    with pytest.raises(ConfigFileError) as caught:
        load_pool(path)
    assert str(caught.value).splitlines() == [
        f"{path}:4: field 'models.0.max_concurency': Extra inputs are not permitted (did you mean 'max_concurrency'?)",
        f"{path}:6: field 'models.1.base_url': 'htp//not a url' is not a valid URL "
        "(Input should be a valid URL, relative URL without a base)",
    ]


def test_second_replica_of_a_list_is_pointed_at_exactly(tmp_path):
    path = tmp_path / "pool.yaml"
    path.write_text("models:\n  - name: m\n    base_urls:\n      - http://gpu1:8000/v1\n      - not-a-url\n")
    with pytest.raises(ConfigFileError, match=r"pool.yaml:5: field 'models.0.base_urls.1': 'not-a-url' is not"):
        load_pool(path)


def test_bad_model_url_is_one_line_without_pydantic_links(capsys):
    with pytest.raises(ConfigFileError) as caught:
        parse_model_shorthand("x=htp//bad url")
    message = str(caught.value)
    assert message == (
        "--model 'x=htp//bad url': 'htp//bad url' is not a valid URL "
        "(Input should be a valid URL, relative URL without a base)"
    )
    assert main(["eval", "--model", "x=htp//bad url"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "errors.pydantic.dev" not in err
