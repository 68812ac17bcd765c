"""Typed, validated configuration (pydantic): unknown keys and wrong types are errors that
name the key and what is allowed. YAML is read with safe_load only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from seisfuse.errors import ConfigError


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SynthStep(Strict):
    out: str
    segy: str | None = None
    shape: tuple[int, int, int] = (128, 128, 128)
    seed: int = 0
    segy_format: Literal["ieee", "ibm"] = "ieee"
    task: Literal["faults", "facies"] = "faults"


class IngestStep(Strict):
    src: str
    store: str
    var: str = "amplitude"
    iline_byte: int = 189
    xline_byte: int = 193
    layout: Literal["3d", "2d"] = "3d"
    chunks: tuple[int, ...] | None = None
    duplicates: Literal["error", "first", "last"] = "error"


class InfoStep(Strict):
    path: str


class ExportStep(Strict):
    store: str
    out: str
    var: str = "amplitude"
    format: Literal["source", "ibm", "ieee"] | None = None


class CompareStep(Strict):
    """Byte comparison of two files: the round-trip check."""

    a: str
    b: str


STEP_TYPES: dict[str, type[Strict]] = {
    "synth": SynthStep, "ingest": IngestStep, "info": InfoStep, "export": ExportStep, "compare": CompareStep,
}


class Pipeline(Strict):
    name: str
    workdir: str = "runs"
    overwrite: bool = True
    steps: list[dict[str, Any]]

    @model_validator(mode="after")
    def _check_steps(self):
        for i, step in enumerate(self.steps):
            if len(step) != 1 or next(iter(step)) not in STEP_TYPES:
                raise ValueError(f"step {i + 1} must be one of {sorted(STEP_TYPES)} with its options, got "
                                 f"{list(step)}")
        return self

    def parsed_steps(self) -> list[tuple[str, Strict]]:
        out = []
        for i, step in enumerate(self.steps):
            kind, options = next(iter(step.items()))
            try:
                out.append((kind, STEP_TYPES[kind](**(options or {}))))
            except ValidationError as exc:
                raise ConfigError(_describe(exc, f"steps[{i}].{kind}", STEP_TYPES[kind]),
                                  fix="see the step's options in README (Pipelines)") from None
        return out


def _describe(exc: ValidationError, prefix: str, model: type[BaseModel]) -> str:
    problems = []
    for err in exc.errors():
        key = ".".join(str(p) for p in (prefix, *err["loc"]))
        if err["type"] == "extra_forbidden":
            problems.append(f"unknown key {key!r} (allowed: {', '.join(model.model_fields)})")
        else:
            problems.append(f"{key}: {err['msg']} (got {err.get('input')!r})")
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


def load_pipeline(path: str | Path) -> Pipeline:
    data = read_yaml(path)
    try:
        pipeline = Pipeline(**data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, "", Pipeline).replace("'.", "'"), where=str(path),
                          fix="see README (Pipelines)") from None
    try:
        pipeline.parsed_steps()
    except ConfigError as exc:
        raise ConfigError(exc.what, where=str(path), fix=exc.fix) from None
    return pipeline
