"""Building-block swaps that ablations need: activation, normalisation, depthwise-separable
convolutions, weight initialisation, deformable convolution, dilation schedules and ASPP.

`adapt` applies them to one part of a network as the network builds that part: the swaps
walk the part (smp encoders included, whose blocks take no such arguments) and replace
modules in place, so one config key changes every block of that kind.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.ops import DeformConv2d

from seisfuse.errors import unknown

ACTIVATIONS = {"relu": lambda: nn.ReLU(inplace=True), "silu": nn.SiLU, "mish": nn.Mish, "hardswish": nn.Hardswish,
               "gelu": nn.GELU, "elu": nn.ELU, "leaky_relu": lambda: nn.LeakyReLU(0.01, inplace=True)}
NORMS = ("batch", "group", "instance", "layer", "none")
INITS = ("default", "kaiming", "xavier", "smp")
ROLES = ("encoder", "head", "other")  # what a part is, for the `smp` scheme
NORM_TYPES = (nn.modules.batchnorm._NormBase, nn.GroupNorm, nn.LayerNorm)
# Hybrid dilated convolution (Wang et al. 2018): rates without a common factor > 1 cover
# every input position; [2, 4, 8] leaves a grid of holes (the gridding artefact).
HYBRID_DILATIONS = (1, 2, 5)


def _check(name: str, valid, what: str) -> None:
    if name not in valid:
        raise unknown(f"{what}", name, valid)


def activation(name: str) -> nn.Module:
    _check(name, ACTIVATIONS, "activation")
    return ACTIVATIONS[name]()


def replace_modules(model: nn.Module, matches, make) -> nn.Module:
    """Replace, in place, every submodule for which matches(module) holds by make(module)."""
    for parent in list(model.modules()):
        for child_name, child in parent.named_children():
            if matches(child):
                setattr(parent, child_name, make(child))
    return model


def adapt(part: nn.Module, *, norm: str = "batch", activation: str = "relu", init: str = "default",
          separable: bool = False, deformable: bool = False, pretrained: bool = False,
          role: str = "other") -> nn.Module:
    """One part of a network with the ablation switches applied, in this order: separable and
    deformable convolutions, normalisation, activation, then initialisation (not of pretrained
    weights; `role` is what the part is, for the `smp` scheme)."""
    if separable:
        make_separable(part)
    if deformable:
        make_deformable(part)
    swap_norms(part, norm)
    swap_activations(part, activation)
    if not pretrained:
        initialise(part, init, role)
    return part


def swap_activations(model: nn.Module, name: str) -> nn.Module:
    """Replace every ReLU (the default of smp encoders and seisfuse blocks) by `name`."""
    _check(name, ACTIVATIONS, "activation")
    if name == "relu":
        return model
    return replace_modules(model, lambda m: isinstance(m, nn.ReLU), lambda m: activation(name))


def norm(kind: str, channels: int, dims: int = 2) -> nn.Module:
    _check(kind, NORMS, "normalisation")
    if kind == "batch":
        return (nn.BatchNorm2d if dims == 2 else nn.BatchNorm3d)(channels)
    if kind == "group":
        return nn.GroupNorm(next(g for g in (32, 16, 8, 4, 2, 1) if channels % g == 0), channels)
    if kind == "instance":
        return (nn.InstanceNorm2d if dims == 2 else nn.InstanceNorm3d)(channels, affine=True)
    if kind == "layer":  # over channels and space of each sample
        return nn.GroupNorm(1, channels)
    return nn.Identity()


def swap_norms(model: nn.Module, kind: str) -> nn.Module:
    """Replace every BatchNorm by `kind` (group norm matters in 3D, where batches are 1-2)."""
    _check(kind, NORMS, "normalisation")
    if kind == "batch":
        return model
    return replace_modules(model, lambda m: isinstance(m, nn.BatchNorm2d | nn.BatchNorm3d),
                           lambda m: norm(kind, m.num_features, 2 if isinstance(m, nn.BatchNorm2d) else 3))


class SeparableConv2d(nn.Sequential):
    """Depthwise k x k then pointwise 1 x 1: k*k*C_in + C_in*C_out weights instead of k*k*C_in*C_out."""

    def __init__(self, conv: nn.Conv2d):
        depthwise = nn.Conv2d(conv.in_channels, conv.in_channels, conv.kernel_size, conv.stride, conv.padding,
                              conv.dilation, groups=conv.in_channels, bias=False)
        pointwise = nn.Conv2d(conv.in_channels, conv.out_channels, 1, bias=conv.bias is not None)
        super().__init__(depthwise, pointwise)


def make_separable(module: nn.Module) -> nn.Module:
    """Every ordinary k x k (k > 1) convolution of `module` becomes depthwise-separable."""
    return replace_modules(module, lambda m: type(m) is nn.Conv2d and m.groups == 1 and max(m.kernel_size) > 1
                           and m.in_channels > 1, SeparableConv2d)


def initialise(module: nn.Module, scheme: str, role: str = "other") -> nn.Module:
    """Re-initialise the weights of one part. `default` keeps PyTorch's (kaiming-uniform with
    a = sqrt(5): std 1 / sqrt(3 fan_in)); `kaiming` and `xavier` re-draw every convolution;
    `smp` is what segmentation-models-pytorch gives its models (encoders keep their own, the
    rest kaiming-uniform for relu, std sqrt(2 / fan_in), norms 1 and 0, the head
    xavier-uniform). smp's own initialize_decoder is not called: it would overwrite the
    zero-initialised gates that make the network start as its ablation, and it skips 3D."""
    _check(scheme, INITS, "init")
    _check(role, ROLES, "part role")
    if scheme == "default" or (scheme == "smp" and role == "encoder"):
        return module
    uniform = scheme == "smp" and role == "other"
    for m in module.modules():
        if getattr(m, "seisfuse_zero_init", False):  # a gate that starts as the identity stays zero
            continue
        if uniform and isinstance(m, NORM_TYPES) and getattr(m, "weight", None) is not None:
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Conv2d | nn.Conv3d | nn.ConvTranspose3d | nn.Linear):
            if scheme == "kaiming":
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif uniform and not isinstance(m, nn.Linear):
                nn.init.kaiming_uniform_(m.weight, mode="fan_in", nonlinearity="relu")
            else:
                nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return module


class DeformableConv2d(nn.Module):
    """Modulated deformable convolution (DCN v2, torchvision.ops.DeformConv2d): a small conv
    predicts per-position offsets and a mask; both start as a plain convolution (offsets 0,
    mask 1) and are learned with the rest, so the kernel can bend along reflectors and faults."""

    def __init__(self, in_ch: int, out_ch: int, kernel_size: int = 3, padding: int = 1, dilation: int = 1,
                 bias: bool = False):
        super().__init__()
        k = kernel_size * kernel_size
        self.conv = DeformConv2d(in_ch, out_ch, kernel_size, padding=padding, dilation=dilation, bias=bias)
        self.offset = nn.Conv2d(in_ch, 3 * k, kernel_size, padding=padding, dilation=dilation)
        nn.init.zeros_(self.offset.weight)
        nn.init.zeros_(self.offset.bias)
        self.k = k

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.offset(x)  # (B, 3k, H, W): 2k offsets, k mask logits
        offset, mask_logits = out[:, :2 * self.k], out[:, 2 * self.k:]
        mask = 2 * torch.sigmoid(mask_logits)  # 1 at initialisation
        return self.conv(x, offset, mask)


def deformable_from(conv: nn.Conv2d) -> DeformableConv2d:
    """A deformable convolution that starts with `conv`'s weights (so it starts as `conv`)."""
    d = DeformableConv2d(conv.in_channels, conv.out_channels, conv.kernel_size[0], conv.padding[0],
                         conv.dilation[0], conv.bias is not None)
    with torch.no_grad():
        d.conv.weight.copy_(conv.weight)
        if conv.bias is not None:
            d.conv.bias.copy_(conv.bias)
    return d


def make_deformable(module: nn.Module) -> nn.Module:
    """Every stride-1 k x k convolution of `module` becomes a deformable convolution."""
    return replace_modules(module, lambda m: type(m) is nn.Conv2d and m.groups == 1 and m.kernel_size[0] > 1
                           and m.stride == (1, 1), deformable_from)


class DilatedBlock(nn.Sequential):
    """3 x 3 convolutions with a dilation schedule, e.g. (1, 2, 4) or the hybrid (1, 2, 5):
    receptive field 1 + 2 * sum(rates) along each axis."""

    def __init__(self, channels: int, rates=HYBRID_DILATIONS, norm_kind: str = "batch", dims: int = 2):
        conv = nn.Conv2d if dims == 2 else nn.Conv3d
        layers = []
        for r in rates:
            layers += [conv(channels, channels, 3, padding=r, dilation=r, bias=False), norm(norm_kind, channels, dims),
                       nn.ReLU(inplace=True)]
        super().__init__(*layers)


class ASPP(nn.Module):
    """Atrous spatial pyramid pooling (DeepLab): parallel 1x1, dilated 3x3 and image-pooling
    branches, concatenated and projected back to `channels`."""

    def __init__(self, channels: int, rates=(1, 2, 4, 6), norm_kind: str = "batch"):
        super().__init__()
        width = max(8, channels // 4)
        self.branches = nn.ModuleList(
            nn.Sequential(nn.Conv2d(channels, width, 1 if r == 1 else 3, padding=0 if r == 1 else r, dilation=r,
                                    bias=False), norm(norm_kind, width), nn.ReLU(inplace=True)) for r in rates)
        self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(channels, width, 1), nn.ReLU(inplace=True))
        self.project = nn.Sequential(nn.Conv2d(width * (len(rates) + 1), channels, 1, bias=False),
                                     norm(norm_kind, channels), nn.ReLU(inplace=True))

    def forward(self, x):
        pooled = F.interpolate(self.pool(x), size=x.shape[-2:], mode="nearest")
        return self.project(torch.cat([b(x) for b in self.branches] + [pooled], dim=1))
