"""Training configuration: one frozen, validated model, loaded from YAML with `--set a.b=v`
overrides. It is written into the run directory and into every checkpoint."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, ValidationError, field_validator

from seisfuse.config.base import Strict, describe, read_yaml
from seisfuse.errors import ConfigError


class SplitConfig(Strict):
    """Spatial split: the last `val_fraction` of the lines along `axis` validate, after a gap
    of `gap` lines that neither side uses (neighbouring sections are near-copies)."""

    axis: Literal["inline", "crossline"] = "inline"
    val_fraction: float = Field(0.2, gt=0, lt=1)
    gap: int = Field(8, ge=0)
    # split by survey instead: these stores (also listed in data.stores) only validate,
    # the other stores only train
    val_stores: list[str] = []


class AugmentConfig(Strict):
    enabled: bool = True
    flip_lateral: float = Field(0.5, ge=0, le=1)  # flips along the lateral axis only
    rotate_limit: float = Field(5.0, ge=0)  # degrees, 2D
    rotate_p: float = Field(0.3, ge=0, le=1)
    elastic_p: float = Field(0.0, ge=0, le=1)
    brightness_contrast_p: float = Field(0.3, ge=0, le=1)
    noise_p: float = Field(0.3, ge=0, le=1)
    gamma_p: float = Field(0.0, ge=0, le=1)


class DataConfig(Strict):
    stores: list[str]
    label: str = "fault"
    task: Literal["binary", "multiclass"] = "binary"
    classes: int = Field(1, ge=1)
    dims: Literal[2, 3] = 2
    sections: Literal["inline", "crossline", "both"] = "both"
    tile: tuple[int, ...] = (128, 128)
    val_stride: float = Field(1.0, gt=0, le=1)  # validation grid step as a fraction of the tile
    normalization: Literal["robust_zscore", "robust_minmax"] = "robust_zscore"
    clip_percentile: float = Field(99.5, gt=50, le=100)
    split: SplitConfig = SplitConfig()
    augment: AugmentConfig = AugmentConfig()
    # nnU-Net's foreground oversampling: this fraction of tiles is redrawn (up to 20 times)
    # until it holds the rare class
    oversample_foreground: float = Field(0.0, ge=0, le=1)

    @field_validator("tile")
    @classmethod
    def _tile(cls, tile):
        if len(tile) not in (2, 3) or min(tile) < 8:
            raise ValueError("tile needs 2 (2D) or 3 (3D) sizes of at least 8")
        return tile


class ModelConfig(Strict):
    name: str = "edge_fusion_unet"
    options: dict[str, Any] = {}


class LossConfig(Strict):
    terms: dict[str, float] = {"bce": 1.0}
    pos_weight: float | Literal["auto"] | None = "auto"
    win_size: int = 11
    label_smoothing: float = Field(0.0, ge=0, lt=1)


class OptimConfig(Strict):
    name: Literal["adam", "adamw", "sgd"] = "adamw"
    lr: float = Field(1e-3, gt=0)
    weight_decay: float = Field(1e-4, ge=0)
    momentum: float = Field(0.9, ge=0, lt=1)
    schedule: Literal["none", "cosine", "onecycle", "plateau"] = "cosine"
    warmup_steps: int = Field(0, ge=0)


class TrainLoopConfig(Strict):
    steps: int = Field(200, ge=1)
    batch_size: int = Field(8, ge=1)  # per process
    accumulate: int = Field(1, ge=1)
    grad_clip: float | None = 1.0
    amp: Literal["none", "bf16", "fp16"] = "none"  # CUDA only; ignored on CPU
    channels_last: bool = False
    compile: bool = False
    val_every: int = Field(50, ge=1)
    early_stopping: int | None = None  # validations without improvement
    seed: int = 0
    device: str = "auto"
    loader_workers: int = Field(0, ge=0)
    threads: int | None = None


class DistillConfig(Strict):
    """Knowledge distillation: loss = (1 - weight) * task + weight * distillation, the second
    against the teacher's probabilities at `temperature`."""

    teacher: str | None = None  # a checkpoint
    weight: float = Field(0.5, ge=0, le=1)
    temperature: float = Field(1.0, gt=0)


class TrainConfig(Strict):
    name: str
    runs_dir: str = "runs"
    data: DataConfig
    model: ModelConfig = ModelConfig()
    loss: LossConfig = LossConfig()
    optim: OptimConfig = OptimConfig()
    train: TrainLoopConfig = TrainLoopConfig()
    distill: DistillConfig = DistillConfig()

    @property
    def run_dir(self) -> Path:
        return Path(self.runs_dir) / self.name


def _set(data: dict, dotted: str, value) -> None:
    keys = dotted.split(".")
    node = data
    for key in keys[:-1]:
        node = node.setdefault(key, {})
        if not isinstance(node, dict):
            raise ConfigError(f"cannot set {dotted!r}: {key!r} is not a section")
    node[keys[-1]] = value


def apply_overrides(data: dict, overrides: list[str]) -> dict:
    """`a.b=v` overrides; values are parsed as YAML (numbers, lists, booleans, strings)."""
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"override {item!r} is not key=value", fix="write e.g. --set optim.lr=0.001")
        key, raw = item.split("=", 1)
        _set(data, key.strip(), yaml.safe_load(raw))
    return data


def validate(data: dict, where: str = "config") -> TrainConfig:
    try:
        return TrainConfig(**data)
    except ValidationError as exc:
        raise ConfigError(describe(exc, "", TrainConfig), where=where,
                          fix="see README (Training configuration)") from None


def load_config(path: str | Path | dict, overrides: list[str] | None = None) -> TrainConfig:
    data = dict(path) if isinstance(path, dict) else read_yaml(path)
    return validate(apply_overrides(data, overrides or []), str(path) if not isinstance(path, dict) else "config")
