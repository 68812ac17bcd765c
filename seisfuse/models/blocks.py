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
