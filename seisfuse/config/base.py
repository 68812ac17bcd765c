"""Typed, validated configuration (pydantic): unknown keys and wrong types are errors that
name the key and what is allowed. YAML is read with safe_load only."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from seisfuse.errors import ConfigError


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _model_at(model: type[BaseModel], path) -> type[BaseModel]:
    """The (nested) model that holds the key at `path`, to list its allowed keys."""
    for name in path:
        field = model.model_fields.get(str(name))
        annotation = getattr(field, "annotation", None)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            model = annotation
        else:
            break
    return model


def describe(exc: ValidationError, prefix: str, model: type[BaseModel]) -> str:
    problems = []
    for err in exc.errors():
        key = ".".join(str(p) for p in (prefix, *err["loc"]) if p != "")
        if err["type"] == "extra_forbidden":
            owner = _model_at(model, err["loc"][:-1])
            problems.append(f"unknown key {key!r} (allowed: {', '.join(owner.model_fields)})")
        elif err["type"] == "missing":
            problems.append(f"{key}: missing (required)")
        else:
            message = err["msg"].removeprefix("Value error, ")
            shown = "" if isinstance(err.get("input"), dict) else f" (got {err.get('input')!r})"
            problems.append(f"{key}: {message}{shown}" if key else message)
    return "; ".join(problems)


def read_yaml(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise ConfigError("no such file", where=str(path), fix="check the path")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"not valid YAML ({exc})", where=str(path), fix="fix the YAML syntax") from None
    if not isinstance(data, dict):
        raise ConfigError("expected a mapping of keys at the top level", where=str(path))
    return data


