"""Training configuration: one frozen, validated model, loaded from YAML with `--set a.b=v`
overrides. It is written into the run directory and into every checkpoint."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import ByteSize, Field, StringConstraints, ValidationError, field_validator, model_validator

from seisfuse.config.base import Strict, describe, read_yaml
from seisfuse.config.commands import Device
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
    # split by image, for image-stack stores (`seisfuse datasets prepare`): these images
    # validate, the others train (default: the last val_fraction of the images); no gap
    val_images: list[str] = []
    # or by fold, for stacks that record one per image (tgs-salt: folds.csv or a stratified K-fold)
    val_fold: int | None = Field(None, ge=0)
    # split by labelled line, for sparse labels (`seisfuse labels import`): these lines validate,
    # e.g. ["inline 130", "crossline 575"] (the survey's numbers); default: the last val_fraction
    # of the labelled lines along `axis`; lines within `gap` of a validation line never train
    val_lines: list[Annotated[str, StringConstraints(pattern=r"^(inline|crossline)[ :_]?-?[0-9]+$")]] = []


class AugmentConfig(Strict):
    enabled: bool = True
    # where: "loader" (albumentations per tile, in the loader workers) or "device" (torch, on
    # whole batches on the training device: seisfuse.data.device_augment; 2D tiles)
    on: Literal["loader", "device"] = "loader"
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
    # statistics of the training lines pooled over every training store (reordering
    # data.stores changes nothing), or of the first store that has training lines
    normalize_over: Literal["pooled", "first"] = "pooled"
    # how a training tile picks its store: "positions" (uniform over every tile position of
    # every store, as the reference protocols sample) or "equal" (each store equally often)
    store_sampling: Literal["positions", "equal"] = "positions"
    clip_percentile: float = Field(99.5, gt=50, le=100)
    split: SplitConfig = SplitConfig()
    augment: AugmentConfig = AugmentConfig()
    # nnU-Net's foreground oversampling: this fraction of tiles is redrawn (up to 20 times)
    # until it holds the rare class
    oversample_foreground: float = Field(0.0, ge=0, le=1)
    # where tiles are cut from: "memmap" (a decoded copy of each survey in the run's cache, on
    # disk), "streamed" (slabs of inlines read from the store into a buffer of cache_budget per
    # rank, no copy), or "auto": streamed for a survey whose decoded size exceeds cache_budget
    source: Literal["auto", "memmap", "streamed"] = "auto"
    cache_budget: ByteSize = Field(ByteSize(4 * 2**30), gt=0)  # bytes, or e.g. "4GiB", "512MiB"
    # streamed: tiles cut from a slab per read, in multiples of the tile volumes it holds; 2:
    # the smallest that kept the streamed path within 0.8x of the memmap rate (BENCHMARKS.md)
    slab_reuse: float = Field(2.0, gt=0)

    @field_validator("tile")
    @classmethod
    def _tile(cls, tile):
        if len(tile) not in (2, 3) or min(tile) < 8:
            raise ValueError("tile needs 2 (2D) or 3 (3D) sizes of at least 8")
        return tile


class ModelConfig(Strict):
    name: str = "edge_fusion_unet"
    options: dict[str, Any] = {}


# The loss names (seisfuse.losses builds them); declared here so that a config names only these.
LOSS_NAMES = ("bce", "dice", "focal", "tversky", "lovasz", "iou", "jaccard", "ssim", "ms_ssim", "ce", "hybrid")
LossName = Literal[LOSS_NAMES]


# loss.pos_weight "rare" (the default) weights positives by N_neg / N_pos only when they are
# rare: below this fraction of the training voxels (faults: 2-5 %). Salt (about 25 %) is then
# left unweighted: on the TGS images, weighted BCE over-predicted salt (challenge metric 0.424
# against 0.582 unweighted, as reported in issue 15); one-voxel faults need the weight.
RARE_POSITIVES = 0.10


class LossConfig(Strict):
    # default: bce for binary tasks, ce for multiclass (see TrainConfig._default_loss)
    terms: dict[LossName, float] = Field({"bce": 1.0}, min_length=1)
    pos_weight: float | Literal["auto", "rare"] | None = "rare"  # auto: always N_neg / N_pos
    win_size: int = Field(11, ge=3)
    label_smoothing: float = Field(0.0, ge=0, lt=1)
    # multi-class ce weighted per class: median_frequency, median(f) / f_c with f_c the share of
    # class c in the live pixels of the training lines only (SegNet's balancing; the weights
    # used are written in the run's provenance.json)
    class_weight: Literal["median_frequency"] | None = None


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
    amp: Literal["none", "bf16", "fp16"] = "none"  # CUDA only: elsewhere float32, logged and noted in provenance.json
    channels_last: bool = True  # every device: faster on each model measured (BENCHMARKS.md, bench_train.py)
    compile: bool = False
    val_every: int = Field(50, ge=1)
    early_stopping: int | None = None  # validations without improvement
    seed: int = Field(0, ge=0)
    device: Device = "auto"  # auto, cpu, cuda, cuda:N or mps (one declaration with the commands')
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

    @model_validator(mode="before")
    @classmethod
    def _default_loss(cls, values):
        """A multi-class task without loss terms gets cross-entropy, not the binary default."""
        if isinstance(values, dict) and isinstance(values.get("data"), dict) \
                and values["data"].get("task") == "multiclass":
            loss = values.get("loss")
            loss = dict(loss or {}) if isinstance(loss, dict) or loss is None else loss
            if isinstance(loss, dict) and "terms" not in loss:
                values = {**values, "loss": {**loss, "terms": {"ce": 1.0}}}
        return values

    @model_validator(mode="after")
    def _rules(self):
        """Rules between sections, checked when the config is read (not at the first step)."""
        for problem in _problems(self):
            raise ValueError(problem)
        return self

    @property
    def run_dir(self) -> Path:
        return Path(self.runs_dir) / self.name


def output_stride(model: ModelConfig) -> int:
    """How much the model's encoder downsamples: tile sides must be multiples of it."""
    if "widths" in model.options:  # the 3D edge-fusion network: one halving per stage after the first
        return 2 ** (len(model.options["widths"]) - 1)
    if model.name == "edge_fusion_unet3d":
        return 8
    return 2 ** int(model.options.get("encoder_depth", 5))


def _problems(cfg: TrainConfig) -> list[str]:
    data, loss, out = cfg.data, cfg.loss, []
    if len(data.tile) != data.dims:
        out.append(f"data.tile {list(data.tile)} has {len(data.tile)} sizes but data.dims is {data.dims}: "
                   f"give {data.dims} tile sizes, or set data.dims to {len(data.tile)}")
    stride = output_stride(cfg.model)
    if any(t % stride for t in data.tile):
        out.append(f"data.tile {list(data.tile)} is not a multiple of {stride}, the output stride of model "
                   f"{cfg.model.name}: use tile sizes divisible by {stride} (or a smaller model.options.encoder_depth)")
    if data.augment.on == "device" and data.dims == 3:
        out.append("data.augment.on: device augments 2D tiles; 3D cubes are augmented in the loader "
                   "(data.augment.on: loader)")
    if data.task == "binary" and data.classes != 1:
        out.append(f"data.classes is {data.classes} but data.task is binary: set data.task: multiclass")
    if data.task == "multiclass" and data.classes < 2:
        out.append("data.task multiclass needs data.classes of at least 2")
    if data.task == "binary" and "ce" in loss.terms:
        out.append("loss ce is for multi-class tasks: use bce for data.task binary")
    if data.task == "multiclass" and "bce" in loss.terms:
        out.append("loss bce is for binary tasks: use ce for data.task multiclass")
    if ("ssim" in loss.terms or "ms_ssim" in loss.terms) and loss.win_size % 2 == 0:
        out.append(f"loss.win_size {loss.win_size} must be odd: use 11 (default) or 7")
    if "ms_ssim" in loss.terms and min(data.tile) <= (need := (loss.win_size - 1) * 16):
        out.append(f"loss ms_ssim with window {loss.win_size} needs tiles over {need} px, got data.tile "
                   f"{list(data.tile)}: use larger tiles, loss.win_size 7 (tiles over 96 px), or plain ssim")
    if "ssim" in loss.terms and min(data.tile) < loss.win_size:
        out.append(f"loss ssim with window {loss.win_size} needs tiles of at least {loss.win_size} px")
    out += _unused_settings(cfg)
    val = data.split.val_stores
    if val and (any(v not in data.stores for v in val) or len(val) == len(data.stores)):
        out.append(f"data.split.val_stores {val} must be some, not all, of data.stores {data.stores}: "
                   "list the validation surveys in data.stores too, and keep one to train on")
    return out


def _unused_settings(cfg: TrainConfig) -> list[str]:
    """Values that would change nothing in this run: refused rather than silently ignored."""
    out, defaults = [], OptimConfig()
    if cfg.optim.name != "sgd" and cfg.optim.momentum != defaults.momentum:
        out.append(f"optim.momentum {cfg.optim.momentum} is used by sgd only ({cfg.optim.name} keeps its own betas): "
                   "remove it, or set optim.name: sgd")
    if cfg.loss.class_weight is not None and (cfg.data.task != "multiclass" or "ce" not in cfg.loss.terms):
        out.append(f"loss.class_weight {cfg.loss.class_weight} weighs the ce term of a multi-class task, and this run "
                   f"has {'no ce term' if cfg.data.task == 'multiclass' else 'data.task binary'}: remove it"
                   + ("" if cfg.data.task == "multiclass" else " (loss.pos_weight weighs binary positives)"))
    if cfg.data.task == "multiclass" and cfg.loss.pos_weight not in (None, "rare"):
        out.append(f"loss.pos_weight {cfg.loss.pos_weight} weighs the positives of a binary task, and data.task is "
                   "multiclass: remove it (multi-class losses are unweighted)")
    unset = DistillConfig()
    if cfg.distill.teacher is None and (cfg.distill.weight, cfg.distill.temperature) != (unset.weight,
                                                                                          unset.temperature):
        out.append("distill.weight / distill.temperature are set but distill.teacher is not: give the teacher "
                   "checkpoint, or remove the distill section")
    return out


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
                          fix="see the docs: the configuration reference (docs/reference, built by scripts/docs.sh) "
                              "and docs/guide/training.md") from None


def load_config(path: str | Path | dict, overrides: list[str] | None = None) -> TrainConfig:
    data = dict(path) if isinstance(path, dict) else read_yaml(path)
    return validate(apply_overrides(data, overrides or []), str(path) if not isinstance(path, dict) else "config")
