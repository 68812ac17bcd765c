"""EdgeFusionUNet: a raw-amplitude encoder and an edge-map encoder, joined at every scale
by a fusion block, gated by attention, decoded by a U-Net decoder.

    raw (B,1,H,W) ──> raw encoder ──┐
                                    ├─ fusion_i ─ attention_i ─> U-Net decoder ─> head ─> logits
    edge(raw) ──────> edge encoder ─┘

Every switch is a constructor argument (so a config key): encoders by smp/timm name,
fusion `dense|concat|add|none` (`none` drops the edge branch: the plain U-Net), attention
by name at `encoder`, `fusion` and/or `decoder` positions, deep supervision.
"""

from __future__ import annotations

import segmentation_models_pytorch as smp
import torch
from torch import nn

from seisfuse.errors import ConfigError
from seisfuse.models import research
from seisfuse.models._smp_decoder import UnetDecoderAdapter
from seisfuse.models.attention import POSITIONS, build_attention
from seisfuse.models.edges import EdgeMap
from seisfuse.models.fusion import FUSIONS, build_fusion

DEFAULT_DECODER = (256, 128, 64, 32, 16)
DROPOUT_POSITIONS = ("fusion", "decoder", "head")
DEFORMABLE_POSITIONS = ("fusion", "decoder", "encoder_last")


def make_encoder(name: str, depth: int, weights: str | None) -> nn.Module:
    try:
        return smp.encoders.get_encoder(name, in_channels=1, depth=depth, weights=weights)
    except (KeyError, ValueError) as exc:
        raise ConfigError(f"cannot build encoder {name!r} ({exc})",
                          fix="use an encoder name from segmentation_models_pytorch.encoders.get_encoder_names(), "
                              "or 'tu-<timm name>' for timm") from None


class EdgeFusionUNet(nn.Module):
    def __init__(self, classes: int = 1, encoder: str = "resnet18", edge_encoder: str | None = None,
                 encoder_depth: int = 5, encoder_weights: str | None = None, edge_operator: str = "sobel",
                 edge_input: str = "internal", fusion: str = "dense", fusion_layers: int = 2, growth_rate: int = 32,
                 attention: str = "spatial", attention_positions: tuple[str, ...] = ("fusion",),
                 decoder_channels: tuple[int, ...] | None = None, deep_supervision: bool = False,
                 activation: str = "relu", norm: str = "batch", dropout: float = 0.0,
                 dropout_position: str = "head", separable: bool = False, deformable: tuple[str, ...] = (),
                 dilation: tuple[int, ...] | None = None, aspp: bool = False, init: str = "default"):
        super().__init__()
        if fusion not in FUSIONS:
            raise ConfigError(f"unknown fusion {fusion!r}", fix=f"use one of {', '.join(FUSIONS)}")
        if edge_input not in ("internal", "external"):
            raise ConfigError(f"unknown edge_input {edge_input!r}", fix="use internal or external")
        bad = [p for p in attention_positions if p not in POSITIONS]
        if bad:
            raise ConfigError(f"unknown attention position(s) {bad}", fix=f"use any of {', '.join(POSITIONS)}")
        self.config = {k: v for k, v in locals().items() if k not in ("self", "__class__", "bad")}
        self.edge_input, self.fusion_kind, self.deep_supervision = edge_input, fusion, deep_supervision
        self.raw_encoder = make_encoder(encoder, encoder_depth, encoder_weights)
        channels = list(self.raw_encoder.out_channels)  # input first, then one per scale
        self.output_stride = 2 ** encoder_depth
        self.edge_map = EdgeMap(edge_operator)
        positions = set(attention_positions)
        scale_channels = channels[1:]

        def attend(where: str, widths) -> nn.ModuleList:
            return nn.ModuleList(build_attention(attention if where in positions else "none", c) for c in widths)

        self.encoder_attention = attend("encoder", scale_channels)
        if fusion != "none":
            self.edge_encoder = make_encoder(edge_encoder or encoder, encoder_depth, encoder_weights)
            edge_channels = list(self.edge_encoder.out_channels)[1:]
            self.fusion = nn.ModuleList(
                build_fusion(fusion, c, e, c, layers=fusion_layers, growth=growth_rate)
                for c, e in zip(scale_channels, edge_channels))
            self.fusion_attention = attend("fusion", scale_channels)
        decoder_channels = tuple(decoder_channels or DEFAULT_DECODER[-encoder_depth:])
        if len(decoder_channels) != encoder_depth:
            raise ConfigError(f"decoder_channels needs {encoder_depth} entries for encoder_depth {encoder_depth}, "
                              f"got {len(decoder_channels)}")
        self.decoder = UnetDecoderAdapter(channels, decoder_channels, attend("decoder", decoder_channels))
        self.head = nn.Conv2d(decoder_channels[-1], classes, 3, padding=1)
        if deep_supervision:
            self.aux_heads = nn.ModuleList(nn.Conv2d(c, classes, 1) for c in decoder_channels[:-1])
        self._research_options(channels[-1], activation, norm, dropout, dropout_position, separable, deformable,
                               dilation, aspp, init, encoder_weights)

    def _research_options(self, deepest: int, activation, norm, dropout, dropout_position, separable, deformable,
                          dilation, aspp, init, encoder_weights) -> None:
        """The ablation switches of seisfuse.models.research, applied to the built network."""
        if dropout_position not in DROPOUT_POSITIONS:
            raise ConfigError(f"unknown dropout_position {dropout_position!r}",
                              fix=f"use one of {', '.join(DROPOUT_POSITIONS)}")
        bad = [p for p in deformable if p not in DEFORMABLE_POSITIONS]
        if bad:
            raise ConfigError(f"unknown deformable position(s) {bad}",
                              fix=f"use any of {', '.join(DEFORMABLE_POSITIONS)}")
        if dilation and aspp:
            raise ConfigError("dilation and aspp are two bottleneck options; choose one")
        self.bottleneck = (research.DilatedBlock(deepest, tuple(dilation)) if dilation else
                           research.ASPP(deepest) if aspp else nn.Identity())
        self.dropout = nn.Dropout2d(dropout) if dropout else nn.Identity()
        self.dropout_position = dropout_position
        if separable and self.fusion_kind != "none":
            research.make_separable(self.edge_encoder)
            research.make_separable(self.fusion)
        if "fusion" in deformable and self.fusion_kind != "none":
            research.make_deformable(self.fusion)
        if "decoder" in deformable:
            research.make_deformable(self.decoder)
        if "encoder_last" in deformable:
            stage = self.raw_encoder.get_stages().get(self.output_stride)  # {output stride: modules}
            if stage is None:
                raise ConfigError("deformable at encoder_last needs the deepest stage of an encoder_depth of 4 or 5",
                                  fix="raise encoder_depth or drop encoder_last")
            research.make_deformable(stage if isinstance(stage, nn.Module) else nn.ModuleList(stage))
        research.swap_norms(self, norm)
        research.swap_activations(self, activation)
        for name, module in self.named_children():  # pretrained encoders keep their weights
            if not (encoder_weights and name in ("raw_encoder", "edge_encoder")):
                research.initialise(module, init)

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
