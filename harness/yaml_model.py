"""Load a YAML file into a pydantic model, with errors that name file, field and line."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

ModelT = TypeVar("ModelT", bound=BaseModel)


class ConfigFileError(ValueError):
    """A configuration or task file is malformed; the message names file, field and line."""


def _node_at(node: yaml.Node, loc: tuple[Any, ...]) -> yaml.Node:
    """Follow a pydantic error location down the YAML node tree as far as it goes."""
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if k.value == str(part)), None)
            if match is None:
                key = next((k for k, _ in node.value if k.value == str(part)), None)
                return key if key is not None else node
            node = match
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            break
    return node


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
        for error in exc.errors():
            loc = tuple(error["loc"])
            field = ".".join(str(p) for p in loc) or "(top level)"
            line = _node_at(node, loc).start_mark.line + 1 if node is not None else None
            where = f"{path}:{line}" if line else str(path)
            lines.append(f"{where}: field '{field}': {error['msg']}")
        raise ConfigFileError("\n".join(lines)) from None


def load_yaml_model(path: str | Path, model: type[ModelT]) -> ModelT:
    path = Path(path)
    data, node = load_yaml_text(path)
    return validate_with_lines(model, data, node, path)
