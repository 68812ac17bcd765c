"""Fusion blocks that join the raw and edge branches at one scale.

`dense` is DenseNet-style: every layer receives the concatenation of both branches and of
all earlier layers' outputs; a 1x1 transition maps the lot to the raw branch's width, so
the decoder sees the same channels as a plain U-Net. `concat` and `add` are the ablation
alternatives; `none` means no edge branch at all (the plain U-Net).
"""

from __future__ import annotations

import torch
from torch import nn

from seisfuse.errors import ConfigError
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


def build_fusion(name: str, raw_ch: int, edge_ch: int, out_ch: int, dims: int = 2, layers: int = 2,
                 growth: int = 32, norm: str = "batch") -> nn.Module:
    if name == "dense":
        return DenseFusion(raw_ch, edge_ch, out_ch, dims, layers, growth, norm)
    if name == "concat":
        return ConcatFusion(raw_ch, edge_ch, out_ch, dims, norm)
    if name == "add":
        return AddFusion(raw_ch, edge_ch, out_ch, dims, norm)
    raise ConfigError(f"unknown fusion {name!r}", fix=f"use one of {', '.join(FUSIONS)}")
