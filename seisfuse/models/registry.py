"""One registry for every model: `build_model(name, **kwargs)`.

All models share one forward contract, `model(raw, edge=None) -> logits`. The
segmentation-models-pytorch baselines ignore the edge map or stack it as a second input
channel (`baseline_edge_input`). Unknown names or arguments give errors listing what is valid.
"""

from __future__ import annotations

import inspect

import segmentation_models_pytorch as smp
import torch
from torch import nn

from seisfuse.errors import ConfigError, unknown
from seisfuse.models.blocks import drop_unused_stages
from seisfuse.models.edge_fusion_unet import EdgeFusionUNet
from seisfuse.models.edge_fusion_unet3d import EdgeFusionUNet3D
from seisfuse.models.edges import EdgeMap

MIN_TILE = {"pan": 128}  # PAN's feature pyramid attention pools its deepest map three more times
SMP_ARCHITECTURES = {
    "unet": "Unet", "unetplusplus": "UnetPlusPlus", "deeplabv3plus": "DeepLabV3Plus", "fpn": "FPN",
    "manet": "MAnet", "linknet": "Linknet", "pspnet": "PSPNet", "pan": "PAN", "upernet": "UPerNet",
    "segformer": "Segformer",
}


class SmpBaseline(nn.Module):
    """A segmentation-models-pytorch architecture behind seisfuse's forward contract."""

    def __init__(self, arch: str, classes: int = 1, encoder: str = "resnet18", encoder_weights: str | None = None,
                 baseline_edge_input: str = "ignore", edge_operator: str = "sobel", **arch_kwargs):
        super().__init__()
        if baseline_edge_input not in ("ignore", "stack"):
            raise ConfigError(f"unknown baseline_edge_input {baseline_edge_input!r}", fix="use ignore or stack")
        self.config = {"arch": arch, "classes": classes, "encoder": encoder, "encoder_weights": encoder_weights,
                       "baseline_edge_input": baseline_edge_input, "edge_operator": edge_operator, **arch_kwargs}
        self.stack = baseline_edge_input == "stack"
        self.edge_map = EdgeMap(edge_operator)
        _check_arch_options(arch, encoder, arch_kwargs)
        try:
            self.net = smp.create_model(SMP_ARCHITECTURES[arch], encoder_name=encoder, encoder_weights=encoder_weights,
                                        in_channels=2 if self.stack else 1, classes=classes, **arch_kwargs)
        except (KeyError, ValueError, TypeError) as exc:
            raise ConfigError(f"cannot build {arch} with encoder {encoder!r} and {arch_kwargs} ({exc})",
                              fix="check the encoder name and the architecture's arguments") from None
        drop_unused_stages(self.net.encoder, in_channels=2 if self.stack else 1)  # e.g. PSPNet's depth 3: layer3, 4
        self.output_stride = 2 ** arch_kwargs.get("encoder_depth", 5)

    def forward(self, raw: torch.Tensor, edge: torch.Tensor | None = None) -> torch.Tensor:
        if raw.dim() != 4 or raw.shape[1] != 1:
            raise ConfigError(f"{self.config['arch']} takes (B, 1, H, W) amplitudes, got shape {tuple(raw.shape)}")
        h, w = raw.shape[-2:]
        smallest = MIN_TILE.get(self.config["arch"], self.output_stride)
        if h % self.output_stride or w % self.output_stride or min(h, w) < smallest:
            raise ConfigError(f"tile {h}x{w} does not fit {self.config['arch']}",
                              fix=f"use tile sizes divisible by {self.output_stride} and at least {smallest}")
        if self.stack:
            raw = torch.cat([raw, self.edge_map(raw) if edge is None else edge], dim=1)  # (B, 2, H, W)
        return self.net(raw)


def _check_arch_options(arch: str, encoder: str, options: dict) -> None:
    """smp architectures take **kwargs and hand them to the encoder, and smp's own encoders drop
    them without a word (a misspelt `encoder_dept` would train at the default depth), so a key
    the architecture does not name is refused; timm encoders (`tu-`) take their own keywords."""
    cls = getattr(smp, SMP_ARCHITECTURES.get(arch, ""), None)
    if cls is None or encoder.startswith("tu-"):
        return
    named = [n for n, p in inspect.signature(cls.__init__).parameters.items()
             if n != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]
    unknown = sorted(set(options) - set(named))
    if unknown:
        ours = ["encoder", "encoder_weights", "baseline_edge_input", "edge_operator"]
        keys = [n for n in named if n not in ("encoder_name", "encoder_weights", "in_channels", "classes")] + ours
        raise ConfigError(f"{arch} has no option {unknown[0]!r} (smp would ignore it)",
                          fix=f"use one of {', '.join(keys)}")


def _baseline(arch: str):
    def build(**kwargs) -> SmpBaseline:
        return SmpBaseline(arch, **kwargs)

    build.__signature__ = inspect.signature(SmpBaseline).replace(
        parameters=[p for p in inspect.signature(SmpBaseline).parameters.values() if p.name != "arch"])
    return build


MODELS = {"edge_fusion_unet": EdgeFusionUNet, "edge_fusion_unet3d": EdgeFusionUNet3D,
          **{name: _baseline(name) for name in SMP_ARCHITECTURES}}


def build_model(name: str, **kwargs) -> nn.Module:
    if name not in MODELS:
        raise unknown("model", name, MODELS)
    builder = MODELS[name]
    params = inspect.signature(builder).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    strangers = [k for k in kwargs if k not in params]
    if strangers and not takes_any:
        valid = [p for p in params if params[p].kind is not inspect.Parameter.VAR_KEYWORD]
        raise ConfigError(f"unknown argument(s) {strangers} for model {name!r}", fix=f"valid: {', '.join(valid)}")
    model = builder(**kwargs)
    model.registry_name = name
    return model


def to_channels_last(model: nn.Module) -> nn.Module:
    """The model's weights in channels-last order (channels_last_3d for a 3D network), which
    oneDNN convolves faster (1.05-1.5x a training step and up to 1.34x a forward pass of the
    grid's models on 2 CPU cores, BENCHMARKS.md; on a GPU not measured yet).
    `Module.to(memory_format=channels_last)` alone fails on 5D weights."""
    fmt = torch.channels_last_3d if any(p.dim() == 5 for p in model.parameters()) else torch.channels_last
    return model.to(memory_format=fmt)
