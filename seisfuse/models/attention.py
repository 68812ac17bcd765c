"""Attention blocks by name, for (B, C, H, W) and, where marked, (B, C, D, H, W).

Each keeps the input shape. `spatial` (the default, after CBAM's spatial module) pools the
channels by max and mean, convolves, and gates every position with a sigmoid.

Two forms (`form`): `identity` (the default) starts every block as the identity, so that
placing attention anywhere cannot hurt an untrained network: the gating blocks compute
`x * 2 sigmoid(z)` with the layer that makes `z` zero-initialised (a factor in (0, 2), 1 at
initialisation, with a non-zero gradient into the gate from the first step); the blocks
without such a layer (simam, ema) compute `x + gamma * (block(x) - x)` with a per-channel
`gamma` that starts at zero. `gate` is the original multiplicative form, `x * sigmoid(z)`
(about x / 2 everywhere at initialisation), kept as an ablation row.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod

import torch
from torch import nn

from seisfuse.errors import ConfigError, unknown


def _conv(dims: int):
    return nn.Conv2d if dims == 2 else nn.Conv3d


FORMS = ("identity", "gate")


def zero_init(layer: nn.Module) -> None:
    """Zero a gate's last layer, and mark it so that an `init` scheme does not redo it."""
    nn.init.zeros_(layer.weight)
    if layer.bias is not None:
        nn.init.zeros_(layer.bias)
    layer.seisfuse_zero_init = True


class Gate(nn.Module, ABC):
    """A block that multiplies its input by sigmoid(z): `gain` is 1 (gate form) or 2 with the
    layer making z zeroed (identity form), see the module docstring."""

    gain = 1.0

    @abstractmethod
    def last_layers(self) -> list[nn.Module]:
        """The layers that make z (zeroed for the identity start)."""

    def start_as_identity(self) -> None:
        for layer in self.last_layers():
            zero_init(layer)
        self.gain = 2.0


def _pool(x: torch.Tensor, op: str) -> torch.Tensor:
    axes = tuple(range(2, x.dim()))
    return x.mean(dim=axes, keepdim=True) if op == "mean" else x.amax(dim=axes, keepdim=True)


class SpatialAttention(Gate):
    """x * sigmoid(conv([max_c x, mean_c x])): a weight in [0, 1] per position."""

    def __init__(self, channels: int, dims: int = 2, kernel_size: int = 7):
        super().__init__()
        self.conv = _conv(dims)(2, 1, kernel_size, padding=kernel_size // 2, bias=False)

    def weights(self, x: torch.Tensor) -> torch.Tensor:
        pooled = torch.cat([x.amax(dim=1, keepdim=True), x.mean(dim=1, keepdim=True)], dim=1)  # (B, 2, ...)
        return self.gain * torch.sigmoid(self.conv(pooled))  # (B, 1, ...)

    def last_layers(self):
        return [self.conv]

    def forward(self, x):
        return x * self.weights(x)


class SqueezeExcitation(Gate):
    def __init__(self, channels: int, dims: int = 2, reduction: int = 16):
        super().__init__()
        hidden = max(4, channels // reduction)
        self.fc = nn.Sequential(_conv(dims)(channels, hidden, 1), nn.ReLU(inplace=True),
                                _conv(dims)(hidden, channels, 1), nn.Sigmoid())

    def last_layers(self):
        return [self.fc[2]]

    def forward(self, x):
        return x * (self.gain * self.fc(_pool(x, "mean")))


class ChannelAttention(Gate):
    """CBAM's channel module: a shared MLP over max- and mean-pooled channels."""

    def __init__(self, channels: int, dims: int = 2, reduction: int = 16):
        super().__init__()
        hidden = max(4, channels // reduction)
        self.mlp = nn.Sequential(_conv(dims)(channels, hidden, 1), nn.ReLU(inplace=True),
                                 _conv(dims)(hidden, channels, 1))

    def last_layers(self):
        return [self.mlp[2]]

    def forward(self, x):
        return x * (self.gain * torch.sigmoid(self.mlp(_pool(x, "max")) + self.mlp(_pool(x, "mean"))))


class CBAM(nn.Module):
    def __init__(self, channels: int, dims: int = 2):
        super().__init__()
        self.channel = ChannelAttention(channels, dims)
        self.spatial = SpatialAttention(channels, dims)

    def start_as_identity(self) -> None:
        self.channel.start_as_identity()
        self.spatial.start_as_identity()

    def forward(self, x):
        return self.spatial(self.channel(x))


class ECA(Gate):
    """Efficient channel attention: a 1D conv across the pooled channel vector."""

    def __init__(self, channels: int, dims: int = 2, gamma: int = 2, b: int = 1):
        super().__init__()
        k = int(abs((math.log2(channels) + b) / gamma))
        k = k if k % 2 else k + 1
        self.conv = nn.Conv1d(1, 1, k, padding=k // 2, bias=False)

    def forward(self, x):
        y = _pool(x, "mean").flatten(1)[:, None]  # (B, 1, C)
        y = torch.sigmoid(self.conv(y)).reshape(x.shape[0], x.shape[1], *[1] * (x.dim() - 2))
        return x * (self.gain * y)

    def last_layers(self):
        return [self.conv]


class SimAM(nn.Module):
    """Parameter-free attention from an energy function (Yang et al. 2021)."""

    def __init__(self, channels: int, dims: int = 2, lam: float = 1e-4):
        super().__init__()
        self.lam = lam

    def forward(self, x):
        axes = tuple(range(2, x.dim()))
        n = math.prod(x.shape[2:]) - 1
        d = (x - x.mean(dim=axes, keepdim=True)) ** 2
        energy = d / (4 * (d.sum(dim=axes, keepdim=True) / max(n, 1) + self.lam)) + 0.5
        return x * torch.sigmoid(energy)


class CoordinateAttention(Gate):
    """Coordinate attention (Hou et al. 2021): pooling along each axis keeps position. 2D."""

    def __init__(self, channels: int, dims: int = 2, reduction: int = 32):
        super().__init__()
        _require_2d(dims, "ca")
        hidden = max(8, channels // reduction)
        self.shared = nn.Sequential(nn.Conv2d(channels, hidden, 1), nn.BatchNorm2d(hidden), nn.Hardswish())
        self.to_h = nn.Conv2d(hidden, channels, 1)
        self.to_w = nn.Conv2d(hidden, channels, 1)

    def forward(self, x):
        h, w = x.shape[2:]
        pooled_h = x.mean(dim=3, keepdim=True)  # (B, C, H, 1)
        pooled_w = x.mean(dim=2, keepdim=True).transpose(2, 3)  # (B, C, W, 1)
        y = self.shared(torch.cat([pooled_h, pooled_w], dim=2))  # (B, hidden, H + W, 1)
        y_h, y_w = torch.split(y, [h, w], dim=2)
        gain = self.gain ** 0.5  # two gates: each 1 at initialisation in the identity form
        return x * (gain * torch.sigmoid(self.to_h(y_h))) * (gain * torch.sigmoid(self.to_w(y_w.transpose(2, 3))))

    def last_layers(self):
        return [self.to_h, self.to_w]

    def start_as_identity(self) -> None:
        super().start_as_identity()
        self.gain = 4.0  # 2 per gate


class EMA(nn.Module):
    """Efficient multi-scale attention (Ouyang et al. 2023): channel groups, a 1x1 branch
    with directional pooling and a 3x3 branch, joined by cross-spatial learning. 2D."""

    def __init__(self, channels: int, dims: int = 2, groups: int = 8):
        super().__init__()
        _require_2d(dims, "ema")
        self.groups = groups if channels % groups == 0 else 1
        c = channels // self.groups
        self.conv1x1 = nn.Conv2d(c, c, 1)
        self.conv3x3 = nn.Conv2d(c, c, 3, padding=1)
        self.norm = nn.GroupNorm(c, c)

    def forward(self, x):
        b, ch, h, w = x.shape
        g = x.reshape(b * self.groups, -1, h, w)  # (B*G, C/G, H, W)
        x_h = g.mean(dim=3, keepdim=True)
        x_w = g.mean(dim=2, keepdim=True).transpose(2, 3)
        hw = self.conv1x1(torch.cat([x_h, x_w], dim=2))
        x_h, x_w = torch.split(hw, [h, w], dim=2)
        x1 = self.norm(g * x_h.sigmoid() * x_w.transpose(2, 3).sigmoid())
        x2 = self.conv3x3(g)
        a1 = torch.softmax(x1.mean(dim=(2, 3)), dim=-1)[:, None]  # (B*G, 1, C/G)
        a2 = torch.softmax(x2.mean(dim=(2, 3)), dim=-1)[:, None]
        weights = a1 @ x2.flatten(2) + a2 @ x1.flatten(2)  # (B*G, 1, H*W)
        return (g * weights.reshape(b * self.groups, 1, h, w).sigmoid()).reshape(b, ch, h, w)


class Identity(nn.Module):
    def __init__(self, channels: int = 0, dims: int = 2):
        super().__init__()

    def forward(self, x):
        return x


def _require_2d(dims: int, name: str) -> None:
    if dims != 2:
        raise ConfigError(f"attention {name!r} is 2D only", fix=f"use one of {', '.join(ATTENTION_3D)} in 3D")


ATTENTION = {"none": Identity, "spatial": SpatialAttention, "se": SqueezeExcitation, "cbam": CBAM, "eca": ECA,
             "ca": CoordinateAttention, "simam": SimAM, "ema": EMA}
ATTENTION_3D = ("none", "spatial", "se", "cbam", "eca", "simam")
POSITIONS = ("encoder", "fusion", "decoder")


class ScaledResidual(nn.Module):
    """x + gamma * (block(x) - x), gamma per channel and zero at initialisation: the identity
    form of a block that has no gate layer to zero (simam, ema)."""

    def __init__(self, block: nn.Module, channels: int, dims: int = 2):
        super().__init__()
        self.block = block
        self.gamma = nn.Parameter(torch.zeros(1, channels, *[1] * dims))

    def forward(self, x):
        return x + self.gamma * (self.block(x) - x)


def build_attention(name: str, channels: int, dims: int = 2, form: str = "identity") -> nn.Module:
    if name not in ATTENTION:
        raise unknown("attention", name, ATTENTION)
    if form not in FORMS:
        raise unknown("attention form", form, FORMS)
    block = ATTENTION[name](channels, dims)
    if form == "gate" or name == "none":
        return block
    if hasattr(block, "start_as_identity"):
        block.start_as_identity()
        return block
    return ScaledResidual(block, channels, dims)
