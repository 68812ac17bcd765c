"""Batch pipeline files (`seisfuse run`): a list of named steps, each validated."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, ValidationError, model_validator

from seisfuse.config import commands
from seisfuse.config.base import Strict, describe, read_yaml
from seisfuse.errors import ConfigError


class ExperimentStep(Strict):
    """A grid: variants (lists of overrides) x datasets (name: store in the workdir) x seeds."""

    name: str
    base: str  # a training config (path from where `seisfuse run` starts)
    datasets: dict[str, str]
    variants: dict[str, list[str]]
    seeds: list[Annotated[int, Field(ge=0)]] = Field([0], min_length=1)
    common: list[str] = []
    reference: str | None = None
    # the test split of a dataset: stores evaluated once per run with its best checkpoint,
    # after training, with the data set's own metric (seisfuse.experiments.held_out)
    test: dict[str, list[str]] = {}
    # published figures of other code, shown as rows of the test table, marked as such
    published: dict[str, dict[str, float]] = {}
    # by_image: every dataset is one image stack and each image is held out once (fold k
    # validates image k, the others train): a cell per variant x dataset x fold x seed, and the
    # report pools each seed's held-out confusion matrices over the folds
    folds: Literal["by_image"] | None = None

    @model_validator(mode="after")
    def _folds_without_test(self):
        if self.folds is not None and self.test:
            raise ValueError("folds and test do not go together: each fold's model would score the test stores, "
                             "and the report pools held-out folds, not test scores; use a grid without folds for "
                             "the test split")
        return self


class CompareStep(Strict):
    """Byte comparison of two files: the round-trip check."""

    a: str
    b: str


# The data and model steps are the commands themselves (one declaration each, in
# seisfuse.config.commands); experiment grids and byte comparisons exist only in pipelines.
STEP_TYPES: dict[str, type[BaseModel]] = {
    **{name: model for name, model in commands.COMMANDS.items() if name != "run"},
    "experiment": ExperimentStep, "compare": CompareStep,
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
            model, where = STEP_TYPES[kind], f"steps[{i}].{kind}"
            options = dict(options or {})
            if issubclass(model, commands.Command):
                allowed = model.fields_in("step")
                unknown = [k for k in options if k not in allowed and k not in commands.step_aliases(model)]
                if unknown:
                    raise ConfigError(f"unknown key {where + '.' + unknown[0]!r} (allowed: {', '.join(allowed)})",
                                      fix=f"see `seisfuse {kind} --help`; paths are inside the workdir")
            try:
                out.append((kind, model(**options)))
            except ValidationError as exc:
                raise ConfigError(describe(exc, where, model),
                                  fix=f"see the step's options in README (Pipelines) or `seisfuse {kind} --help`") \
                    from None
        return out


def load_pipeline(path: str | Path) -> Pipeline:
    data = read_yaml(path)
    try:
        pipeline = Pipeline(**data)
    except ValidationError as exc:
        raise ConfigError(describe(exc, "", Pipeline), where=str(path),
                          fix="see the docs: HPC and pipelines (docs/guide/hpc.md), configuration reference") from None
    try:
        pipeline.parsed_steps()
    except ConfigError as exc:
        raise ConfigError(exc.what, where=str(path), fix=exc.fix) from None
    return pipeline
