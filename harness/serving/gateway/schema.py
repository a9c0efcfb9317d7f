"""Incoming OpenAI requests, validated; errors come back in OpenAI's error body shape."""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

MAX_N = 16


class ApiError(Exception):
    """An error answered as ``{"error": {"message", "type", "param", "code"}}`` with ``status``."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}


class AvengersOptions(BaseModel):
    """``extra_body={"avengers": {...}}``: per-request choices of the gateway."""

    model_config = ConfigDict(extra="forbid")

    answer_format: str | None = Field(
        default=None, description="grader whose extraction/equivalence votes (math, choice, ...), or 'none'"
    )
    answer_options: dict[str, Any] = Field(default_factory=dict, description="that grader's options")
    samples: int | None = Field(
        default=None, ge=1, le=64, description="samples per answer (overrides --samples)"
    )
    top_n: int | None = Field(default=None, ge=1, le=16, description="models per answer (overrides --top-n)")
    query: str | None = Field(default=None, description="the text to route on instead of the prompt")


class Message(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: Literal["system", "developer", "user", "assistant"]
    content: str

    @field_validator("content", mode="before")
    @classmethod
    def _text_parts(cls, value: Any) -> Any:
        # The content-parts form: [{"type": "text", "text": ...}, ...]; only text is supported.
        if isinstance(value, list):
            texts = []
            for part in value:
                if (
                    not isinstance(part, dict)
                    or part.get("type") != "text"
                    or not isinstance(part.get("text"), str)
                ):
                    raise ValueError("only text content parts are supported")
                texts.append(part["text"])
            return "".join(texts)
        return value


class _Common(BaseModel):
    model_config = ConfigDict(extra="allow")

    model: str
    n: int = Field(default=1, ge=1, le=MAX_N)
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    top_p: float | None = Field(default=None, gt=0.0, le=1.0)
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    seed: int | None = None
    stop: str | list[str] | None = None
    stream: bool = False
    stream_options: dict[str, Any] | None = None
    avengers: AvengersOptions = Field(default_factory=AvengersOptions)

    @property
    def stops(self) -> list[str]:
        if self.stop is None:
            return []
        return [self.stop] if isinstance(self.stop, str) else list(self.stop)

    @property
    def token_limit(self) -> int | None:
        return self.max_completion_tokens or self.max_tokens


class ChatRequest(_Common):
    messages: list[Message] = Field(min_length=1)

    @field_validator("messages")
    @classmethod
    def _has_user(cls, messages: list[Message]) -> list[Message]:
        if not any(m.role == "user" for m in messages):
            raise ValueError("at least one message must have role 'user'")
        return messages


class CompletionRequest(_Common):
    prompt: str | list[str]

    @field_validator("prompt")
    @classmethod
    def _one_prompt(cls, prompt: str | list[str]) -> str | list[str]:
        if isinstance(prompt, list) and len(prompt) != 1:
            raise ValueError("exactly one prompt per request is supported")
        return prompt

    @property
    def text(self) -> str:
        return self.prompt if isinstance(self.prompt, str) else self.prompt[0]


UNSUPPORTED = ("tools", "functions", "tool_choice", "logprobs", "top_logprobs", "echo", "best_of", "suffix")


def parse_request(kind: type[_Common], raw: bytes):
    """The request body as ``kind``; JSON is parsed and validated in one pass (pydantic-core), a
    third of the CPU of json.loads plus validating the dict."""
    try:
        parsed = kind.model_validate_json(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        if first["type"] == "json_invalid":
            raise ApiError(400, "the request body is not valid JSON") from None
        if first["type"] == "model_type" and not first["loc"]:
            raise ApiError(400, "the request body must be a JSON object") from None
        _refuse_unsupported(_top_level_fields(raw))
        param = ".".join(str(p) for p in first["loc"]) or None
        raise ApiError(400, f"{param}: {first['msg']}" if param else first["msg"], param=param) from None
    _refuse_unsupported(parsed.model_extra or {})
    return parsed


def _top_level_fields(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw)
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _refuse_unsupported(fields: dict[str, Any]) -> None:
    for name in UNSUPPORTED:
        if fields.get(name) not in (None, False, [], 0):
            raise ApiError(
                400, f"'{name}' is not supported by the Avengers gateway", param=name, code="unsupported"
            )
