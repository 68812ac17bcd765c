"""EdgeFusionUNet3D: the edge-fusion idea for volumes (B, 1, D, H, W).

A compact 3D U-Net in the size class of FaultSeg3D (16-32-64-128 channels), a lighter 3D
edge branch, 3D fusion and 3D spatial attention at every encoder scale. Hand-written:
segmentation-models-pytorch has no 3D encoders.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from seisfuse.errors import ConfigError, unknown
from seisfuse.models import research
from seisfuse.models.attention import build_attention
from seisfuse.models.blocks import ConvNormAct
from seisfuse.models.edges import EDGES_3D, EdgeMap
from seisfuse.models.fusion import FUSIONS, build_fusion


class DoubleConv3d(nn.Sequential):
    def __init__(self, in_ch: int, out_ch: int, norm: str):
        super().__init__(ConvNormAct(in_ch, out_ch, 3, 3, norm), ConvNormAct(out_ch, out_ch, 3, 3, norm))


class Encoder3d(nn.Module):
    def __init__(self, widths: tuple[int, ...], norm: str):
        super().__init__()
        ins = (1, *widths[:-1])
        self.stages = nn.ModuleList(DoubleConv3d(i, o, norm) for i, o in zip(ins, widths))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        features = []
        for i, stage in enumerate(self.stages):
            x = stage(x if i == 0 else F.max_pool3d(x, 2))
            features.append(x)  # scale i: (B, widths[i], D/2^i, H/2^i, W/2^i)
        return features


class EdgeFusionUNet3D(nn.Module):
    def __init__(self, classes: int = 1, widths: tuple[int, ...] = (16, 32, 64, 128), edge_width_factor: float = 0.5,
                 edge_operator: str = "sobel", edge_input: str = "internal", fusion: str = "dense",
                 fusion_layers: int = 2, growth_rate: int = 8, attention: str = "spatial", norm: str = "batch",
                 activation: str = "relu", dropout: float = 0.0, dilation: tuple[int, ...] | None = None,
                 init: str = "default", fusion_residual: bool = True, attention_form: str = "identity"):
        super().__init__()
        if fusion not in FUSIONS:
            raise unknown("fusion", fusion, FUSIONS)
        if edge_operator not in EDGES_3D:
            raise ConfigError(f"edge operator {edge_operator!r} is 2D only", fix=f"use one of {', '.join(EDGES_3D)}")
        self.config = {k: v for k, v in locals().items() if k not in ("self", "__class__")}
        self.fusion_kind, self.edge_input = fusion, edge_input
        self.output_stride = 2 ** (len(widths) - 1)
        self.raw_encoder = Encoder3d(widths, norm)
        self.edge_map = EdgeMap(edge_operator)
        if fusion != "none":
            edge_widths = tuple(max(4, int(w * edge_width_factor)) for w in widths)
            self.edge_encoder = Encoder3d(edge_widths, norm)
            self.fusion = nn.ModuleList(build_fusion(fusion, w, e, w, dims=3, layers=fusion_layers, growth=growth_rate,
                                                     norm=norm, residual=fusion_residual)
                                        for w, e in zip(widths, edge_widths))
        self.attention = nn.ModuleList(build_attention(attention, w, dims=3, form=attention_form) for w in widths)
        self.up = nn.ModuleList(nn.ConvTranspose3d(widths[i + 1], widths[i], 2, stride=2)
                                for i in range(len(widths) - 1))
        self.decode = nn.ModuleList(DoubleConv3d(2 * widths[i], widths[i], norm) for i in range(len(widths) - 1))
        self.head = nn.Conv3d(widths[0], classes, 1)
        self.bottleneck = (research.DilatedBlock(widths[-1], tuple(dilation), norm, dims=3) if dilation
                           else nn.Identity())
        self.dropout = nn.Dropout3d(dropout) if dropout else nn.Identity()
        research.swap_activations(self, activation)
        for name, child in self.named_children():  # the `smp` scheme treats encoders and head apart
            research.initialise(child, init, "encoder" if name.endswith("encoder") else
                                "head" if name == "head" else "other")

    def forward(self, raw: torch.Tensor, edge: torch.Tensor | None = None) -> torch.Tensor:
        if raw.dim() != 5 or raw.shape[1] != 1:
            raise ConfigError(f"EdgeFusionUNet3D takes (B, 1, D, H, W) volumes, got shape {tuple(raw.shape)}")
        if any(s % self.output_stride for s in raw.shape[2:]):
            raise ConfigError(f"cube {tuple(raw.shape[2:])} is not a multiple of {self.output_stride}",
                              fix=f"use cube sizes divisible by {self.output_stride}")
        features = self.raw_encoder(raw)
        if self.fusion_kind != "none":
            if edge is None:
                if self.edge_input == "external":
                    raise ConfigError("edge_input is 'external' but no edge map was given")
                edge = self.edge_map(raw)
            features = [fuse(f, e) for fuse, f, e in zip(self.fusion, features, self.edge_encoder(edge))]
        features = [att(f) for att, f in zip(self.attention, features)]
        x = self.bottleneck(features[-1])
        for i in reversed(range(len(self.up))):
            x = self.decode[i](torch.cat([self.up[i](x), features[i]], dim=1))
        return self.head(self.dropout(x))  # (B, classes, D, H, W)
