"""Losses by name, as a weighted sum, applied to every deep-supervision output.

    build_loss({"bce": 1.0, "ssim": 1.0}, mode="binary", tile=(128, 128), pos_weight=12.0)

Names: bce (pos_weight), dice, focal, tversky, lovasz, iou/jaccard (segmentation-models-
pytorch), ssim and ms_ssim (pytorch-msssim on probabilities, data_range=1, channel set,
window checked against the tile; multi-class: the softmax against the one-hot label, one
channel per class), ce (multi-class, label smoothing, class weights), and hybrid = the
BASNet loss bce + ssim + iou. 2D and 3D.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from pytorch_msssim import ms_ssim, ssim
from segmentation_models_pytorch import losses as smp_losses
from torch import nn

from seisfuse.config.train import LOSS_NAMES
from seisfuse.errors import ConfigError, unknown

LOSSES = LOSS_NAMES
MODES = ("binary", "multiclass")
IGNORE = -100  # the label of pixels that no multi-class term sees (missing traces, padding)
CONFIDENT = 20.0  # a logit margin whose softmax or sigmoid is 1 (or 0) to about 1e-8


class SSIMLoss(nn.Module):
    """1 - (MS-)SSIM between predicted probabilities and the target, both in [0, 1]."""

    def __init__(self, multiscale: bool, win_size: int, tile: tuple[int, ...] | None, mode: str):
        super().__init__()
        self.multiscale, self.win_size, self.mode = multiscale, win_size, mode
        if win_size % 2 == 0:
            raise ConfigError(f"SSIM window {win_size} must be odd", fix="use 11 (default) or 7")
        if tile is not None:
            self.check(tile)

    def check(self, spatial: tuple[int, ...]) -> None:
        need = (self.win_size - 1) * 2**4 if self.multiscale else self.win_size
        if min(spatial) <= need - (0 if self.multiscale else 1):
            name = "ms_ssim" if self.multiscale else "ssim"
            raise ConfigError(
                f"{name} with window {self.win_size} needs tiles {'over' if self.multiscale else 'of at least'} "
                f"{need} px, got {'x'.join(map(str, spatial))}",
                fix="use larger tiles, a smaller ssim window (win_size 7 needs MS-SSIM tiles over 96 px), "
                    "or plain ssim")

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        self.check(tuple(logits.shape[2:]))
        if self.mode == "binary":
            prob, ref = torch.sigmoid(logits), target.float()
        else:
            prob = torch.softmax(logits, dim=1)
            ref = F.one_hot(target.long(), logits.shape[1]).movedim(-1, 1).float()
        fn = ms_ssim if self.multiscale else ssim
        return 1 - fn(prob.float(), ref, data_range=1.0, size_average=True, win_size=self.win_size)


class BCE(nn.Module):
    def __init__(self, pos_weight: float | None, smoothing: float = 0.0):
        super().__init__()
        self.register_buffer("pos_weight", None if pos_weight is None else torch.tensor(float(pos_weight)))
        self.smoothing = smoothing

    def forward(self, logits, target, valid=None):
        target = target.float()
        if self.smoothing:
            target = target * (1 - self.smoothing) + 0.5 * self.smoothing
        if valid is None:
            return F.binary_cross_entropy_with_logits(logits, target, pos_weight=self.pos_weight)
        per_voxel = F.binary_cross_entropy_with_logits(logits, target, pos_weight=self.pos_weight, reduction="none")
        weight = valid.to(per_voxel.dtype)
        return (per_voxel * weight).sum() / weight.sum().clamp_min(1)


class CE(nn.Module):
    def __init__(self, smoothing: float = 0.0, class_weight: list[float] | None = None):
        super().__init__()
        self.smoothing = smoothing
        self.register_buffer("class_weight", None if class_weight is None else torch.tensor(class_weight))

    def forward(self, logits, target, valid=None):
        target = target.long().squeeze(1) if target.dim() == logits.dim() else target.long()
        if valid is not None:
            if not valid.any():  # no live pixel (all padding): nothing to learn, not NaN
                return logits.sum() * 0.0
            target = torch.where(valid.reshape(target.shape), target, torch.full_like(target, IGNORE))
        weight = None if self.class_weight is None else self.class_weight.to(logits.dtype)
        return F.cross_entropy(logits, target, weight=weight, label_smoothing=self.smoothing, ignore_index=IGNORE)


def _term(name: str, mode: str, tile, pos_weight, win_size, smoothing, class_weight=None) -> nn.Module:
    smp_mode = smp_losses.BINARY_MODE if mode == "binary" else smp_losses.MULTICLASS_MODE
    ignore = IGNORE if mode == "multiclass" else None  # multi-class: smp leaves the IGNORE pixels out exactly
    if name == "bce":
        if mode != "binary":
            raise ConfigError("bce is for binary tasks", fix="use ce for multi-class")
        return BCE(pos_weight, smoothing)
    if name == "ce":
        if mode != "multiclass":
            raise ConfigError("ce is for multi-class tasks", fix="use bce for binary")
        return CE(smoothing, class_weight)
    if name == "dice":
        return smp_losses.DiceLoss(smp_mode, from_logits=True, ignore_index=ignore)
    if name == "focal":
        return smp_losses.FocalLoss(smp_mode, ignore_index=ignore)
    if name == "tversky":
        return smp_losses.TverskyLoss(smp_mode, from_logits=True, alpha=0.3, beta=0.7, ignore_index=ignore)
    if name == "lovasz":
        return smp_losses.LovaszLoss(smp_mode, ignore_index=ignore)
    if name in ("iou", "jaccard"):
        return smp_losses.JaccardLoss(smp_mode, from_logits=True, ignore_index=ignore)
    if name in ("ssim", "ms_ssim"):
        return SSIMLoss(name == "ms_ssim", win_size, tile, mode)
    raise unknown("loss", name, LOSSES)


class CompositeLoss(nn.Module):
    """sum_k weight_k * loss_k(output, target), summed over the main and auxiliary outputs."""

    def __init__(self, terms: dict[str, nn.Module], weights: dict[str, float], mode: str):
        super().__init__()
        self.terms, self.weights, self.mode = nn.ModuleDict(terms), weights, mode

    def parts(self, logits: torch.Tensor, target: torch.Tensor, valid: torch.Tensor | None = None):
        """Each term's value. `valid` (missing traces are False) is honoured exactly by bce and
        ce (mean over valid voxels) and by the multi-class smp losses (the invalid voxels'
        label is IGNORE); for the binary region losses the invalid voxels are set to a
        confident, correct background so that they add nothing to dice/iou/tversky, and for
        SSIM (which needs every pixel of its windows) they are predicted confidently as their
        label: identical in prediction and target there, with no gradient."""
        if self.mode == "binary" and target.dim() == logits.dim() - 1:
            target = target.unsqueeze(1)
        if valid is not None and valid.dim() == logits.dim() - 1:
            valid = valid.unsqueeze(1)
        out = {}
        for name, term in self.terms.items():
            if isinstance(term, BCE | CE):
                out[name] = term(logits, target, valid)
            elif valid is None:
                out[name] = term(logits, target)
            elif self.mode == "binary":
                masked_logits = torch.where(valid, logits, torch.full_like(logits, -CONFIDENT))
                out[name] = term(masked_logits, target * valid)
            elif isinstance(term, SSIMLoss):
                hot = F.one_hot(target.long(), logits.shape[1]).movedim(-1, 1).to(logits.dtype)  # (B, C, ...)
                out[name] = term(torch.where(valid, logits, CONFIDENT * hot), target)
            else:
                out[name] = term(logits, torch.where(valid.squeeze(1), target.long(), IGNORE))
        return out

    def forward(self, outputs, target: torch.Tensor, valid: torch.Tensor | None = None) -> torch.Tensor:
        outputs = [outputs[0], *outputs[1]] if isinstance(outputs, tuple) else [outputs]
        total = 0.0
        for logits in outputs:
            total = total + sum(self.weights[n] * v for n, v in self.parts(logits, target, valid).items())
        return total


def build_loss(spec: dict[str, float] | str, mode: str = "binary", *, tile: tuple[int, ...] | None = None,
               pos_weight: float | None = None, win_size: int = 11, label_smoothing: float = 0.0,
               class_weight: list[float] | None = None) -> CompositeLoss:
    """A weighted sum of named losses; `spec` is {name: weight} or one name. class_weight: a
    weight per class for ce (class_weights gives the median-frequency ones)."""
    if mode not in MODES:
        raise unknown("loss mode", mode, MODES)
    spec = {spec: 1.0} if isinstance(spec, str) else dict(spec)
    if "hybrid" in spec:  # BASNet: bce + ssim + iou
        weight = spec.pop("hybrid")
        for part in ("bce", "ssim", "iou"):
            spec[part] = spec.get(part, 0.0) + weight
    strangers = [n for n in spec if n not in LOSSES]
    if strangers or not spec:
        raise ConfigError(f"unknown loss name(s) {strangers}" if strangers else "no loss terms given",
                          fix=f"use any of {', '.join(LOSSES)}")
    terms = {n: _term(n, mode, tile, pos_weight, win_size, label_smoothing, class_weight) for n in spec}
    return CompositeLoss(terms, spec, mode)


def class_balance(labels) -> float:
    """pos_weight = N_negative / N_positive of binary training labels (FaultSeg3D's balance)."""
    labels = torch.as_tensor(labels)
    positives = float((labels > 0).sum())
    if positives == 0:
        raise ConfigError("the training labels have no positive voxels", fix="check the label variable")
    return (labels.numel() - positives) / positives


def class_weights(counts) -> list[float]:
    """Median-frequency balancing (Eigen and Fergus 2015, as SegNet weighs its classes): the
    weight of class c is median(f) / f_c, f_c its share of the (training) pixels, the median
    over the classes present; a class with no pixel gets 1 (no pixel carries its weight)."""
    counts = torch.as_tensor(counts, dtype=torch.float64)
    if counts.sum() == 0:
        raise ConfigError("the training labels have no labelled pixels", fix="check the label variable")
    freq = counts / counts.sum()
    present = counts > 0
    weight = torch.where(present, freq[present].quantile(0.5) / freq.clamp_min(1e-300), torch.ones_like(freq))
    return weight.tolist()


class DistillationLoss(nn.Module):
    """(1 - weight) * task + weight * distillation. The distillation term is BCE against the
    teacher's probabilities (binary) or T^2 * KL against its softened distribution (multi-class),
    both at temperature T; weight 0 is plain training."""

    def __init__(self, task: CompositeLoss, weight: float, temperature: float = 1.0):
        super().__init__()
        self.task, self.weight, self.temperature = task, weight, temperature

    def distillation(self, logits: torch.Tensor, teacher_probs: torch.Tensor) -> torch.Tensor:
        t = self.temperature
        if self.task.mode == "binary":
            return F.binary_cross_entropy_with_logits(logits / t, teacher_probs)
        log_p = F.log_softmax(logits / t, dim=1)
        return F.kl_div(log_p, teacher_probs, reduction="batchmean") * t * t / math.prod(logits.shape[2:])

    def forward(self, outputs, target, valid=None, teacher_probs: torch.Tensor | None = None):
        task = self.task(outputs, target, valid)
        if teacher_probs is None or self.weight == 0:
            return task
        main = outputs[0] if isinstance(outputs, tuple) else outputs
        return (1 - self.weight) * task + self.weight * self.distillation(main, teacher_probs)


def teacher_probabilities(logits: torch.Tensor, mode: str, temperature: float = 1.0) -> torch.Tensor:
    return torch.sigmoid(logits / temperature) if mode == "binary" else torch.softmax(logits / temperature, dim=1)
