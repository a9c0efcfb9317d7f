"""Load a YAML file into a pydantic model, with errors that name file, field and line."""

from __future__ import annotations

import difflib
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

ModelT = TypeVar("ModelT", bound=BaseModel)


class ConfigFileError(ValueError):
    """A configuration or task file is malformed; the message names file, field and line."""


def _mapping_value(node: yaml.MappingNode, key: str) -> tuple[yaml.Node | None, yaml.Node | None]:
    return next(((k, v) for k, v in node.value if k.value == key), (None, None))


def _node_at(node: yaml.Node, loc: tuple[Any, ...]) -> tuple[yaml.Node, list[str]]:
    """Follow a pydantic error location down the YAML node tree as far as it goes.

    Returns the node and the location in the user's own words: a list field given in its singular
    form (`base_url: X` for `base_urls: [X]`) is named and pointed at as written.
    """
    names: list[str] = []
    parts = list(loc)
    while parts:
        part = parts.pop(0)
        if isinstance(node, yaml.MappingNode):
            key, value = _mapping_value(node, str(part))
            if key is None and isinstance(part, str) and part.endswith("s"):
                key, value = _mapping_value(node, part[:-1])
                if key is not None:
                    part = part[:-1]
                    if parts and isinstance(parts[0], int) and isinstance(value, yaml.ScalarNode):
                        parts.pop(0)
            names.append(str(part))
            if key is None:
                return node, names + [str(p) for p in parts]
            if value is None or (parts == [] and isinstance(value, yaml.MappingNode | yaml.SequenceNode)):
                return (key if value is None else value), names
            node = value
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            names.append(str(part))
            node = node.value[part]
        else:
            names.append(str(part))
            return node, names + [str(p) for p in parts]
    return node, names


def field_names(model: type[BaseModel]) -> set[str]:
    """Every field name of `model` and of the models nested in it (for "did you mean")."""
    names: set[str] = set()
    pending, seen = [model], set()
    while pending:
        current = pending.pop()
        if current in seen:
            continue
        seen.add(current)
        for name, info in current.model_fields.items():
            names.add(name)
            stack = [info.annotation]
            while stack:
                annotation = stack.pop()
                if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                    pending.append(annotation)
                stack.extend(typing.get_args(annotation))
    names |= {n[:-1] for n in names if n.endswith("s")}  # the singular forms accepted for list fields
    return names


def did_you_mean(key: str, candidates: set[str]) -> str:
    match = difflib.get_close_matches(key, sorted(candidates), n=1, cutoff=0.6)
    return f" (did you mean '{match[0]}'?)" if match else ""


def error_messages(exc: ValidationError, model: type[BaseModel]) -> list[tuple[tuple[Any, ...], str]]:
    """(location, one-line message) per error: pydantic's text without its links, plus "did you mean"."""
    out = []
    for error in exc.errors(include_url=False):
        loc = tuple(error["loc"])
        message = error["msg"]
        if error["type"] == "extra_forbidden" and loc:
            message += did_you_mean(str(loc[-1]), field_names(model))
        elif error["type"].startswith("url_") and isinstance(error.get("input"), str):
            message = f"{error['input']!r} is not a valid URL ({message})"
        out.append((loc, message))
    return out


def load_yaml_text(path: Path) -> tuple[Any, yaml.Node | None]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigFileError(f"{path}: cannot read file: {exc.strerror}") from exc
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        raise ConfigFileError(f"{where}: invalid YAML: {getattr(exc, 'problem', exc)}") from exc
    return data, node


def validate_with_lines(model: type[ModelT], data: Any, node: yaml.Node | None, path: Path) -> ModelT:
    try:
        return model.model_validate(data if data is not None else {})
    except ValidationError as exc:
        lines = []
        for loc, message in error_messages(exc, model):
            names = [str(p) for p in loc]
            line = None
            if node is not None:
                target, names = _node_at(node, loc)
                line = target.start_mark.line + 1
            field = ".".join(names) or "(top level)"
            where = f"{path}:{line}" if line else str(path)
            lines.append(f"{where}: field '{field}': {message}")
        raise ConfigFileError("\n".join(lines)) from None


def load_yaml_model(path: str | Path, model: type[ModelT]) -> ModelT:
    path = Path(path)
    data, node = load_yaml_text(path)
    return validate_with_lines(model, data, node, path)
