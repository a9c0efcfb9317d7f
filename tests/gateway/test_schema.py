"""Request bodies as bytes: parsed and validated in one pass, with the OpenAI-style error each deserves."""

from __future__ import annotations

import pytest

from harness.serving.gateway.schema import ApiError, ChatRequest, CompletionRequest, parse_request


@pytest.mark.parametrize(
    ("raw", "message", "param"),
    [
        (b"{not json", "the request body is not valid JSON", None),
        (b"", "the request body is not valid JSON", None),
        (b'{"model": "avengers", "messages": [{"role": "user", "content": "\xff"}]}', "not valid JSON", None),
        (b'[{"model": "avengers"}]', "the request body must be a JSON object", None),
        (b'"hello"', "the request body must be a JSON object", None),
        (
            b'{"model": "avengers", "messages": [{"role": "user", "content": "x"}], "tools": [{}]}',
            "'tools'",
            "tools",
        ),
        (b'{"model": "avengers", "messages": [], "logprobs": true}', "'logprobs'", "logprobs"),
        (b'{"model": "avengers", "messages": [{"role": "user", "content": "x"}], "n": "many"}', "n:", "n"),
        (
            b'{"model": "avengers", "messages": [{"role": "robot", "content": "x"}]}',
            "messages.0.role",
            "messages.0.role",
        ),
    ],
)
def test_bad_bodies_name_what_is_wrong(raw, message, param):
    with pytest.raises(ApiError) as caught:
        parse_request(ChatRequest, raw)
    assert caught.value.status == 400 and message in caught.value.message
    assert caught.value.param == param


def test_a_good_body_keeps_its_fields_and_content_parts():
    raw = (
        b'{"model": "avengers", "n": 2, "temperature": 0.5, "seed": 7, "stop": "##", "logprobs": false,'
        b' "messages": [{"role": "user", "content": [{"type": "text", "text": "2 + "}, {"type": "text", "text": "2"}]}],'
        b' "avengers": {"answer_format": "math", "samples": 3}, "user": "me"}'
    )
    request = parse_request(ChatRequest, raw)
    assert request.messages[0].content == "2 + 2" and request.n == 2 and request.seed == 7
    assert request.stops == ["##"] and request.avengers.samples == 3 and request.model_extra["user"] == "me"
    completion = parse_request(CompletionRequest, b'{"model": "avengers", "prompt": ["Q: 1 + 1 ="]}')
    assert completion.text == "Q: 1 + 1 ="
