"""Fusion blocks that join the raw and edge branches at one scale.

`dense` is DenseNet-style: every layer receives the concatenation of both branches and of
all earlier layers' outputs; a 1x1 transition maps the lot to the raw branch's width, so
the decoder sees the same channels as a plain U-Net. `concat` and `add` are the ablation
alternatives; `none` means no edge branch at all (the plain U-Net).

Residual (the default): each block returns `raw + gamma * f(raw, edge)` with a per-channel
`gamma` that starts at zero (ReZero, Bachlechner et al. 2020), so an untrained edge-fusion
network computes exactly what its `fusion: none` ablation computes with the same raw-branch
weights, and the edge branch can only add what it learns. `residual=False` keeps the first
design (the fused features replace the raw ones), as an ablation row.
"""

from __future__ import annotations

import torch
from torch import nn

from seisfuse.errors import unknown
from seisfuse.models.blocks import ConvNormAct, conv_layer, norm_layer

FUSIONS = ("dense", "concat", "add", "none")


class DenseFusion(nn.Module):
    def __init__(self, raw_ch: int, edge_ch: int, out_ch: int, dims: int = 2, layers: int = 2, growth: int = 32,
                 norm: str = "batch"):
        super().__init__()
        self.layers = nn.ModuleList()
        width = raw_ch + edge_ch
        for _ in range(layers):
            self.layers.append(ConvNormAct(width, growth, 3, dims, norm))
            width += growth
        self.transition = ConvNormAct(width, out_ch, 1, dims, norm)

    def forward(self, raw, edge):
        features = [raw, edge]
        for layer in self.layers:
            features.append(layer(torch.cat(features, dim=1)))  # each layer sees all before it
        return self.transition(torch.cat(features, dim=1))


class ConcatFusion(nn.Module):
    def __init__(self, raw_ch: int, edge_ch: int, out_ch: int, dims: int = 2, norm: str = "batch"):
        super().__init__()
        self.project = ConvNormAct(raw_ch + edge_ch, out_ch, 1, dims, norm)

    def forward(self, raw, edge):
        return self.project(torch.cat([raw, edge], dim=1))


class AddFusion(nn.Module):
    def __init__(self, raw_ch: int, edge_ch: int, out_ch: int, dims: int = 2, norm: str = "batch"):
        super().__init__()
        self.project = nn.Sequential(conv_layer(dims)(edge_ch, out_ch, 1, bias=False), norm_layer(norm, out_ch, dims))

    def forward(self, raw, edge):
        return raw + self.project(edge)


class Residual(nn.Module):
    """raw + gamma * fusion(raw, edge), gamma per channel and zero at initialisation."""

    def __init__(self, fusion: nn.Module, channels: int, dims: int = 2):
        super().__init__()
        self.fusion = fusion
        self.gamma = nn.Parameter(torch.zeros(1, channels, *[1] * dims))

    def forward(self, raw, edge):
        return raw + self.gamma * self.fusion(raw, edge)


def build_fusion(name: str, raw_ch: int, edge_ch: int, out_ch: int, dims: int = 2, layers: int = 2,
                 growth: int = 32, norm: str = "batch", residual: bool = True) -> nn.Module:
    if name == "dense":
        block = DenseFusion(raw_ch, edge_ch, out_ch, dims, layers, growth, norm)
    elif name == "concat":
        block = ConcatFusion(raw_ch, edge_ch, out_ch, dims, norm)
    elif name == "add":
        block = AddFusion(raw_ch, edge_ch, out_ch, dims, norm)
    else:
        raise unknown("fusion", name, FUSIONS)
    if not residual:
        return block
    if name == "add":  # AddFusion is raw + project(edge) already: the zero scale goes on the edge term
        block.project = nn.Sequential(block.project, _Scale(out_ch, dims))
        return block
    return Residual(block, out_ch, dims)


class _Scale(nn.Module):
    def __init__(self, channels: int, dims: int):
        super().__init__()
        self.gamma = nn.Parameter(torch.zeros(1, channels, *[1] * dims))

    def forward(self, x):
        return self.gamma * x
