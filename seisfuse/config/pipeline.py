"""Batch pipeline files (`seisfuse run`): a list of named steps, each validated."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError, model_validator

from seisfuse.config.base import Strict, describe, read_yaml
from seisfuse.errors import ConfigError


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
    workers: int | None = None
    scheduler: str | None = None  # Dask: "local", "slurm:N" or an address; None = threads here


class InfoStep(Strict):
    path: str


class ExportStep(Strict):
    store: str
    out: str
    var: str = "amplitude"
    format: Literal["source", "ibm", "ieee"] | None = None


class TrainStep(Strict):
    """Train from a config file (path relative to where `seisfuse run` is started), with
    overrides; `runs_dir` defaults to <workdir>/runs and relative data.stores are taken
    inside the workdir."""

    config: str
    set: list[str] = []


class PredictStep(Strict):
    """Predict a store with a checkpoint (both paths inside the workdir)."""

    store: str
    checkpoint: str
    var: str = "prediction"
    overlap: float = 0.5
    blend: Literal["gaussian", "hann", "constant"] = "gaussian"
    direction: Literal["inline", "crossline", "both"] = "inline"
    tta: bool = False
    output: Literal["probability", "label", "probabilities"] = "probability"
    scheduler: str | None = None


class EvaluateStep(Strict):
    store: str
    pred: str = "prediction"
    label: str | None = None
    region: tuple[int, int] | None = None
    task: Literal["binary", "multiclass"] = "binary"
    tolerance: int = 2
    out: str | None = None  # a JSON file inside the workdir


class ExperimentStep(Strict):
    """A grid: variants (lists of overrides) x datasets (name: store in the workdir) x seeds."""

    name: str
    base: str  # a training config (path from where `seisfuse run` starts)
    datasets: dict[str, str]
    variants: dict[str, list[str]]
    seeds: list[int] = [0]
    common: list[str] = []
    reference: str | None = None


class PanelSpec(Strict):
    store: str
    label: str = "fault"
    predictions: list[str] = []


class ReportStep(Strict):
    runs: list[str]  # experiment directories inside the workdir (experiments/<name>)
    out: str = "report"
    caption: str = "seisfuse experiments"
    panel: PanelSpec | None = None


class CompareStep(Strict):
    """Byte comparison of two files: the round-trip check."""

    a: str
    b: str


STEP_TYPES: dict[str, type[Strict]] = {
    "synth": SynthStep, "ingest": IngestStep, "info": InfoStep, "export": ExportStep, "compare": CompareStep,
    "train": TrainStep, "predict": PredictStep, "evaluate": EvaluateStep, "experiment": ExperimentStep,
    "report": ReportStep,
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
                raise ConfigError(describe(exc, f"steps[{i}].{kind}", STEP_TYPES[kind]),
                                  fix="see the step's options in README (Pipelines)") from None
        return out


def load_pipeline(path: str | Path) -> Pipeline:
    data = read_yaml(path)
    try:
        pipeline = Pipeline(**data)
    except ValidationError as exc:
        raise ConfigError(describe(exc, "", Pipeline), where=str(path),
                          fix="see README (Pipelines)") from None
    try:
        pipeline.parsed_steps()
    except ConfigError as exc:
        raise ConfigError(exc.what, where=str(path), fix=exc.fix) from None
    return pipeline
