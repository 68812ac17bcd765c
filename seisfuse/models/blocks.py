"""Small building blocks shared by the 2D and 3D networks."""

from __future__ import annotations

import logging

import torch
from torch import nn

log = logging.getLogger("seisfuse")


def conv_layer(dims: int):
    return nn.Conv2d if dims == 2 else nn.Conv3d


def norm_layer(kind: str, channels: int, dims: int) -> nn.Module:
    if kind == "batch":
        return (nn.BatchNorm2d if dims == 2 else nn.BatchNorm3d)(channels)
    if kind == "group":
        return nn.GroupNorm(min(8, channels), channels)
    if kind == "instance":
        return (nn.InstanceNorm2d if dims == 2 else nn.InstanceNorm3d)(channels, affine=True)
    return nn.Identity()


class ConvNormAct(nn.Sequential):
    """conv (k, same padding, no bias) -> norm -> ReLU."""

    def __init__(self, in_ch: int, out_ch: int, kernel_size: int = 3, dims: int = 2, norm: str = "batch",
                 stride: int = 1):
        super().__init__(conv_layer(dims)(in_ch, out_ch, kernel_size, stride=stride, padding=kernel_size // 2,
                                          bias=False),
                         norm_layer(norm, out_ch, dims), nn.ReLU(inplace=True))


class LightEncoder(nn.Module):
    """A narrow plain encoder for the edge map (an edge map carries far less than amplitudes:
    a FaultSeg-sized branch, not a second resnet): at each of `depth` scales a stride-2 3x3
    convolution and a 3x3 convolution, `base * 2^i` channels (at most `cap`). Its
    `out_channels` and its features (the input first, then one per scale) are those of an smp
    encoder, so it takes an smp encoder's place."""

    def __init__(self, depth: int = 5, base: int = 16, cap: int = 256, dims: int = 2, norm: str = "batch"):
        super().__init__()
        widths = [min(base * 2 ** i, cap) for i in range(depth)]
        self.out_channels = [1, *widths]
        self.stages = nn.ModuleList(
            nn.Sequential(ConvNormAct(c_in, c_out, 3, dims, norm, stride=2), ConvNormAct(c_out, c_out, 3, dims, norm))
            for c_in, c_out in zip(self.out_channels[:-1], widths))

    def forward(self, x):
        features = [x]
        for stage in self.stages:
            x = stage(x)
            features.append(x)
        return features


class Dropped(nn.Module):
    """What stands where an encoder module was dropped as unused: passes its input on (an
    EfficientNet still calls the block past its depth, with extra arguments, and discards it)."""

    def forward(self, x, *args, **kwargs):
        return x


def drop_unused_stages(encoder: nn.Module, in_channels: int = 1, size: int = 64) -> nn.Module:
    """An smp encoder keeps modules its forward never runs: the stages deeper than its depth
    (resnet18's layer3 and layer4 at encoder_depth 3: 10.5 M weights) and, for EfficientNets,
    the classification head. They would count as parameters in the tables, ride in every
    checkpoint and stop DDP (parameters without gradients). One backward pass of a small input
    (eval mode, so no statistics change) finds them; each outermost module whose weights got no
    gradient becomes an empty module, named in `encoder.dropped_stages` so that a checkpoint
    saved with them still loads (seisfuse.models.checkpoint.load_model_state)."""
    was_training = encoder.training
    encoder.eval()
    try:
        with torch.enable_grad():  # also when the model is built inside a no_grad block
            features = encoder(torch.zeros(1, in_channels, size, size))
            sum(f.float().sum() for f in features[1:]).backward()
    except (RuntimeError, ValueError) as exc:  # an encoder this small input does not fit: kept whole
        log.warning("%s: unused stages not looked for (a %dx%d input does not fit: %s); DDP may stop on "
                    "parameters without gradients", type(encoder).__name__, size, size, str(exc)[:120])
        encoder.dropped_stages = []
        return encoder.train(was_training)
    idle = {n for n, p in encoder.named_parameters() if p.grad is None}
    encoder.zero_grad(set_to_none=True)
    encoder.train(was_training)
    names = [name for name, m in encoder.named_modules() if name and (own := [n for n, _ in m.named_parameters()])
             and all(f"{name}.{n}" in idle for n in own)]
    names = [n for n in names if not any(n.startswith(other + ".") for other in names)]  # outermost only
    for name in names:
        parent, _, attr = name.rpartition(".")
        setattr(encoder.get_submodule(parent), attr, Dropped())
    encoder.dropped_stages = names
    return encoder
