"""EdgeFusionUNet: a raw-amplitude encoder and an edge-map encoder, joined at every scale
by a fusion block, gated by attention, decoded by a U-Net decoder.

    raw (B,1,H,W) ──> raw encoder ──┐
                                    ├─ fusion_i ─ attention_i ─> U-Net decoder ─> head ─> logits
    edge(raw) ──────> edge encoder ─┘

Every switch is a constructor argument (so a config key): encoders by smp/timm name,
fusion `dense|concat|add|none` (`none` drops the edge branch: the plain U-Net), attention
by name at `encoder`, `fusion` and/or `decoder` positions, deep supervision.

Untrained, the network is its own `fusion: none` ablation: the fusion is residual with a
zero-initialised scale (`fusion_residual`) and attention starts as the identity
(`attention_form: identity`), so the edge branch and the attention can only add what they
learn (tests/unit/models/test_edge_fusion_start.py). `fusion_residual: false` and
`attention_form: gate` are the first design, kept as ablation rows. The edge encoder is
`light` by default (seisfuse.models.blocks.LightEncoder, `edge_width` channels at the first
scale: 1.2 M parameters), any smp encoder name, or None for the raw encoder's kind (the first
design: a second resnet18); the choice and its numbers are in RESULTS.md. The raw encoder may be
`light` too (`encoder_width` channels at the first scale): with `fusion: none` a plain U-Net of
FaultSeg's size (16-32-64-128), the compact model seisfuse ships (pipelines/pretrain_faults.yaml).
"""

from __future__ import annotations

import functools

import segmentation_models_pytorch as smp
import torch
from torch import nn

from seisfuse.errors import ConfigError
from seisfuse.models import research
from seisfuse.models._smp_decoder import UnetDecoderAdapter
from seisfuse.models.attention import FORMS, POSITIONS, build_attention
from seisfuse.models.blocks import LightEncoder, drop_unused_stages
from seisfuse.models.edges import EdgeMap
from seisfuse.models.fusion import FUSIONS, build_fusion

DEFAULT_DECODER = (256, 128, 64, 32, 16)
DROPOUT_POSITIONS = ("fusion", "decoder", "head")
DEFORMABLE_POSITIONS = ("fusion", "decoder", "encoder_last")


def make_encoder(name: str, depth: int, weights: str | None) -> nn.Module:
    try:
        return drop_unused_stages(smp.encoders.get_encoder(name, in_channels=1, depth=depth, weights=weights))
    except (KeyError, ValueError) as exc:
        raise ConfigError(f"cannot build encoder {name!r} ({exc})",
                          fix="use an encoder name from segmentation_models_pytorch.encoders.get_encoder_names(), "
                              "or 'tu-<timm name>' for timm") from None


def _check_options(fusion, edge_input, attention_positions, dropout_position, deformable, dilation, aspp,
                   attention_form) -> None:
    checks = [("fusion", [fusion], FUSIONS), ("edge_input", [edge_input], ("internal", "external")),
              ("attention_form", [attention_form], FORMS),
              ("attention position", attention_positions, POSITIONS),
              ("dropout_position", [dropout_position], DROPOUT_POSITIONS),
              ("deformable position", deformable, DEFORMABLE_POSITIONS)]
    for what, given, valid in checks:
        bad = [v for v in given if v not in valid]
        if bad:
            raise ConfigError(f"unknown {what} {bad[0]!r}", fix=f"use one of {', '.join(valid)}")
    if dilation and aspp:
        raise ConfigError("dilation and aspp are two bottleneck options; choose one")


def _deepest_stage(encoder: nn.Module, stride: int) -> nn.Module:
    stage = encoder.get_stages().get(stride)  # {output stride: modules}
    if stage is None:
        raise ConfigError("deformable at encoder_last needs the deepest stage of an encoder_depth of 4 or 5",
                          fix="raise encoder_depth or drop encoder_last")
    return stage if isinstance(stage, nn.Module) else nn.ModuleList(stage)


class EdgeFusionUNet(nn.Module):
    def __init__(self, classes: int = 1, encoder: str = "resnet18", edge_encoder: str | None = "light",
                 encoder_depth: int = 5, encoder_weights: str | None = None, edge_operator: str = "sobel",
                 edge_input: str = "internal", fusion: str = "dense", fusion_layers: int = 2, growth_rate: int = 32,
                 attention: str = "spatial", attention_positions: tuple[str, ...] = ("fusion",),
                 decoder_channels: tuple[int, ...] | None = None, deep_supervision: bool = False,
                 activation: str = "relu", norm: str = "batch", dropout: float = 0.0,
                 dropout_position: str = "head", separable: bool = False, deformable: tuple[str, ...] = (),
                 dilation: tuple[int, ...] | None = None, aspp: bool = False, init: str = "smp",
                 fusion_residual: bool = True, attention_form: str = "identity", edge_width: int = 16,
                 edge_scale: str = "peak", encoder_width: int = 16):
        super().__init__()
        _check_options(fusion, edge_input, attention_positions, dropout_position, deformable, dilation, aspp,
                       attention_form)
        self.config = {k: v for k, v in locals().items() if k not in ("self", "__class__")}
        self.edge_input, self.fusion_kind, self.deep_supervision = edge_input, fusion, deep_supervision
        self.dropout_position, self.output_stride = dropout_position, 2 ** encoder_depth
        # every part is built with the ablation switches applied (seisfuse.models.research.adapt)
        part = functools.partial(research.adapt, norm=norm, activation=activation, init=init)
        positions = set(attention_positions)

        def attend(where: str, widths) -> nn.ModuleList:  # attention blocks of one position, one per scale
            return part(nn.ModuleList(build_attention(attention if where in positions else "none", c,
                                                      form=attention_form) for c in widths))

        if encoder == "light" and (encoder_weights or "encoder_last" in deformable):
            raise ConfigError("the light encoder has no pretrained weights and no deepest smp stage",
                              fix="drop encoder_weights and deformable: [encoder_last], or use an smp encoder")
        raw_encoder = LightEncoder(encoder_depth, encoder_width) if encoder == "light" else \
            make_encoder(encoder, encoder_depth, encoder_weights)
        if "encoder_last" in deformable:
            research.make_deformable(_deepest_stage(raw_encoder, self.output_stride))
        self.raw_encoder = part(raw_encoder, pretrained=bool(encoder_weights), role="encoder")
        channels = list(self.raw_encoder.out_channels)  # input first, then one per scale
        scale_channels = channels[1:]
        self.edge_map = part(EdgeMap(edge_operator, edge_scale))
        self.encoder_attention = attend("encoder", scale_channels)
        if fusion != "none":
            light = (edge_encoder or encoder) == "light"
            self.edge_encoder = part(LightEncoder(encoder_depth, edge_width) if light else
                                     make_encoder(edge_encoder or encoder, encoder_depth, encoder_weights),
                                     separable=separable, pretrained=bool(encoder_weights) and not light,
                                     role="encoder")
            edge_channels = list(self.edge_encoder.out_channels)[1:]
            self.fusion = part(nn.ModuleList(build_fusion(fusion, c, e, c, layers=fusion_layers, growth=growth_rate,
                                                          residual=fusion_residual)
                                             for c, e in zip(scale_channels, edge_channels)),
                               separable=separable, deformable="fusion" in deformable)
            self.fusion_attention = attend("fusion", scale_channels)
        deepest = channels[-1]
        self.bottleneck = part(research.DilatedBlock(deepest, tuple(dilation), norm) if dilation else
                               research.ASPP(deepest, norm_kind=norm) if aspp else nn.Identity())
        self.dropout = nn.Dropout2d(dropout) if dropout else nn.Identity()
        decoder_channels = tuple(decoder_channels or DEFAULT_DECODER[-encoder_depth:])
        if len(decoder_channels) != encoder_depth:
            raise ConfigError(f"decoder_channels needs {encoder_depth} entries for encoder_depth {encoder_depth}, "
                              f"got {len(decoder_channels)}")
        self.decoder = part(UnetDecoderAdapter(channels, decoder_channels, attend("decoder", decoder_channels)),
                            deformable="decoder" in deformable)
        self.head = part(nn.Conv2d(decoder_channels[-1], classes, 3, padding=1), role="head")
        if deep_supervision:
            self.aux_heads = part(nn.ModuleList(nn.Conv2d(c, classes, 1) for c in decoder_channels[:-1]), role="head")

    def check_input(self, raw: torch.Tensor) -> None:
        if raw.dim() != 4 or raw.shape[1] != 1:
            raise ConfigError(f"EdgeFusionUNet takes (B, 1, H, W) amplitudes, got shape {tuple(raw.shape)}")
        h, w = raw.shape[-2:]
        if h % self.output_stride or w % self.output_stride:
            raise ConfigError(f"tile {h}x{w} is not a multiple of the encoder's output stride {self.output_stride}",
                              fix=f"use tile sizes divisible by {self.output_stride}, or a smaller encoder_depth")

    def forward(self, raw: torch.Tensor, edge: torch.Tensor | None = None):
        self.check_input(raw)
        features = self.raw_encoder(raw)  # [raw, f1 (H/2), ..., fD (H/2^D)]
        features = [features[0]] + [att(f) for att, f in zip(self.encoder_attention, features[1:])]
        if self.fusion_kind != "none":
            if edge is None:
                if self.edge_input == "external":
                    raise ConfigError("edge_input is 'external' but no edge map was given",
                                      fix="pass forward(raw, edge) or set edge_input: internal")
                edge = self.edge_map(raw)  # (B, 1, H, W) in [0, 1]
            edge_features = self.edge_encoder(edge)
            features = [features[0]] + [
                att(fuse(f, e)) for fuse, att, f, e in
                zip(self.fusion, self.fusion_attention, features[1:], edge_features[1:])]
        features[-1] = self.bottleneck(features[-1])
        if self.dropout_position == "fusion":
            features = [features[0]] + [self.dropout(f) for f in features[1:]]
        x, block_outputs = self.decoder(features)
        logits = self.head(self.dropout(x) if self.dropout_position in ("head", "decoder") else x)  # (B, C, H, W)
        if self.deep_supervision and self.training:
            size = logits.shape[-2:]
            aux = [nn.functional.interpolate(h(o), size=size, mode="bilinear", align_corners=False)
                   for h, o in zip(self.aux_heads, block_outputs[:-1])]
            return logits, aux
        return logits
