"""Small building blocks shared by the 2D and 3D networks."""

from __future__ import annotations

from torch import nn


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

    def __init__(self, in_ch: int, out_ch: int, kernel_size: int = 3, dims: int = 2, norm: str = "batch"):
        super().__init__(conv_layer(dims)(in_ch, out_ch, kernel_size, padding=kernel_size // 2, bias=False),
                         norm_layer(norm, out_ch, dims), nn.ReLU(inplace=True))
