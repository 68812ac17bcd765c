"""Checkpoints: everything needed to resume or predict, loadable with
`torch.load(weights_only=True)` (tensors, dicts, lists, strings and numbers only).

Contents: model, optimizer, scheduler and scaler states, the torch RNG state, the step,
the resolved config, the normalisation, the model's registry name and options, and the
metrics history. Written to a temporary file and renamed, so a kill never leaves half a
checkpoint.
"""

from __future__ import annotations

import errno
import logging
import math
import os
from dataclasses import dataclass, field, fields
from pathlib import Path

import torch

from seisfuse import resources
from seisfuse.errors import ConfigError, SeisfuseError
from seisfuse.models.registry import build_model

FORMAT = "seisfuse-checkpoint-1"
log = logging.getLogger("seisfuse")


def _nbytes(state) -> int:
    if isinstance(state, torch.Tensor):
        return state.numel() * state.element_size()
    if isinstance(state, dict):
        return sum(_nbytes(v) for v in state.values())
    if isinstance(state, list | tuple):
        return sum(_nbytes(v) for v in state)
    return 64


def save(path: Path, **state) -> None:
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    try:
        torch.save({"format": FORMAT, **state}, tmp)
    except (OSError, RuntimeError) as exc:  # torch's writer says only "unexpected pos" on a full disk
        tmp.unlink(missing_ok=True)
        needed = _nbytes(state)
        failure = resources.write_failure(exc) or (
            resources.write_failure(OSError(errno.ENOSPC, "")) if resources.free_space(path) < needed else None)
        if failure is None:
            raise
        raise resources.disk_error(f"writing the checkpoint {path.name}", path, failure, None, needed,
                                   "resumes from the last checkpoint written") from None
    os.replace(tmp, path)


def load(path: str | Path, map_location="cpu") -> dict:
    path = Path(path)
    if not path.is_file():
        raise SeisfuseError("no checkpoint here", where=str(path),
                            fix="check the path (runs/<name>/best.pt or last.pt)")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # torch raises several types for corrupt or foreign files
        raise SeisfuseError(f"not a readable checkpoint ({type(exc).__name__}: {str(exc)[:200]})", where=str(path),
                            fix="use a best.pt or last.pt written by `seisfuse train`") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise SeisfuseError("not a seisfuse checkpoint", where=str(path),
                            fix="use a best.pt or last.pt written by `seisfuse train`")
    return state


def dropped_weights(model: torch.nn.Module, keys) -> list[str]:
    """The keys among `keys` that belong to encoder stages the model dropped as unused
    (seisfuse.models.blocks.drop_unused_stages): weights an earlier seisfuse saved for them."""
    prefixes = tuple(f"{name}.{stage}." if name else f"{stage}." for name, module in model.named_modules()
                     for stage in getattr(module, "dropped_stages", ()))
    return [k for k in keys if prefixes and k.startswith(prefixes)]


def load_model_state(model: torch.nn.Module, state: dict, where: str, expect: dict | None = None) -> int:
    """Load weights, refusing a checkpoint made for another model or model config; returns how
    many saved weights of unused encoder stages were left out (checkpoints of seisfuse before
    those stages were dropped)."""
    if expect is not None:
        mine, theirs = expect, {"name": state["model_name"], "options": state["model_options"]}
        if mine != theirs:
            raise ConfigError(f"the checkpoint is for model {theirs}, not {mine}", where=where,
                              fix="use the matching config, or another run directory / --checkpoint")
    missing, unexpected = model.load_state_dict(state["model"], strict=False)
    idle = dropped_weights(model, unexpected)
    if idle:
        log.info("%s: %d saved weights of encoder stages deeper than encoder_depth left out (never used)", where,
                 len(idle))
        unexpected = [k for k in unexpected if k not in set(idle)]
    if missing or unexpected:
        raise ConfigError(f"the checkpoint does not fit this model ({len(missing)} missing, {len(unexpected)} "
                          f"unexpected weights, e.g. {(missing or unexpected)[:3]})", where=where,
                          fix="use the checkpoint with the config it was trained with")
    return len(idle)


@dataclass
class Checkpoint:
    """What a checkpoint holds, and the one place that knows its format: saved with `save`,
    read back with `torch.load(weights_only=True)`, and turned into its model by `build`."""

    model: dict  # the model's state dict
    model_name: str
    model_options: dict  # the registry keywords, classes included
    config: dict = field(default_factory=dict)  # the resolved training config
    normalization: dict | None = None
    task: str = "binary"
    classes: int = 1
    tile: list = field(default_factory=list)
    dims: int = 2
    step: int = 0
    best: float = -math.inf
    since_best: int = 0
    history: list = field(default_factory=list)
    data_identity: list | None = None  # shapes and statistics of the data trained on
    optimizer: dict | None = None  # the states a resumed run needs
    scheduler: dict | None = None
    scaler: dict | None = None
    rng: torch.Tensor | None = None

    def save(self, path: Path) -> None:
        save(path, **{f.name: getattr(self, f.name) for f in fields(self)})  # no deep copy of the tensors

    @classmethod
    def load(cls, path: str | Path) -> Checkpoint:
        state = load(path)
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in state.items() if k in known})

    def build(self, where: str, expect: dict | None = None) -> torch.nn.Module:
        """The model with these weights (on the CPU); refuses a checkpoint of another model."""
        model = build_model(self.model_name, **self.model_options)
        load_model_state(model, {"model": self.model, "model_name": self.model_name,
                                 "model_options": self.model_options}, where, expect)
        return model
