"""Edge operators by name, applied inside the model (prediction needs only amplitudes).

Each maps raw amplitudes (B, 1, H, W) or (B, 1, D, H, W) to an edge map of the same shape,
scaled per sample to unit maximum (or, with `edge_scale: p99`, to its 99th percentile).
They are fixed filters (no gradients to learn).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from seisfuse.errors import ConfigError, unknown

_SMOOTH = torch.tensor([1.0, 2.0, 1.0])
_SCHARR = torch.tensor([3.0, 10.0, 3.0])
_DIFF = torch.tensor([-1.0, 0.0, 1.0])


def _separable_kernel(axis: int, ndim: int, smooth: torch.Tensor) -> torch.Tensor:
    """Derivative along `axis`, smoothing along the others (Sobel/Scharr), as a conv weight."""
    kernel = torch.ones([3] * ndim)
    for d in range(ndim):
        vec = _DIFF if d == axis else smooth / smooth.sum()
        shape = [1] * ndim
        shape[d] = 3
        kernel = kernel * vec.reshape(shape)
    return kernel[None, None]


def _conv(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    conv = F.conv2d if x.dim() == 4 else F.conv3d
    pad = [1] * (2 * (x.dim() - 2))
    return conv(F.pad(x, pad, mode="replicate"), weight.to(x))


def _normalise(edge: torch.Tensor) -> torch.Tensor:
    peak = edge.flatten(1).amax(dim=1).clamp_min(1e-12)
    return edge / peak.reshape(-1, *[1] * (edge.dim() - 1))


def gradient_magnitude(x: torch.Tensor, smooth: torch.Tensor = _SMOOTH) -> torch.Tensor:
    ndim = x.dim() - 2
    grads = [_conv(x, _separable_kernel(a, ndim, smooth)) for a in range(ndim)]
    return torch.sqrt(sum(g * g for g in grads))


def sobel(x: torch.Tensor) -> torch.Tensor:
    return _normalise(gradient_magnitude(x, _SMOOTH))


def scharr(x: torch.Tensor) -> torch.Tensor:
    return _normalise(gradient_magnitude(x, _SCHARR))


def laplacian(x: torch.Tensor) -> torch.Tensor:
    ndim = x.dim() - 2
    kernel = torch.zeros([3] * ndim)
    centre = tuple([1] * ndim)
    kernel[centre] = -2.0 * ndim
    for d in range(ndim):
        for side in (0, 2):
            idx = list(centre)
            idx[d] = side
            kernel[tuple(idx)] = 1.0
    return _normalise(_conv(x, kernel[None, None]).abs())


def _gaussian(x: torch.Tensor, sigma: float) -> torch.Tensor:
    radius = max(1, int(3 * sigma))
    t = torch.arange(-radius, radius + 1, dtype=x.dtype, device=x.device)
    g = torch.exp(-t * t / (2 * sigma * sigma))
    g = g / g.sum()
    ndim = x.dim() - 2
    conv = F.conv2d if ndim == 2 else F.conv3d
    for d in range(ndim):
        shape = [1, 1] + [1] * ndim
        shape[2 + d] = len(g)
        pad = [0] * (2 * ndim)
        pad[2 * (ndim - 1 - d)] = pad[2 * (ndim - 1 - d) + 1] = radius
        x = conv(F.pad(x, pad, mode="replicate"), g.reshape(shape))
    return x


def structure_coherence(x: torch.Tensor, sigma: float = 2.0) -> torch.Tensor:
    """Structure-tensor coherence in [0, 1] (2D): ((l1 - l2) / (l1 + l2))^2 of the Gaussian-smoothed
    gradient outer products; 1 along locally planar reflectors, low where they stop (faults,
    edges of bodies) or where there is no structure. Independent of the amplitude's scale."""
    _require_2d(x, "coherence")
    gx = _conv(x, _separable_kernel(1, 2, _SMOOTH))
    gz = _conv(x, _separable_kernel(0, 2, _SMOOTH))
    jxx, jxz, jzz = (_gaussian(v, sigma) for v in (gx * gx, gx * gz, gz * gz))
    trace = jxx + jzz
    root = torch.sqrt((jxx - jzz) ** 2 + 4 * jxz * jxz)
    return ((root / trace.clamp_min(1e-12)) ** 2).clamp(0, 1)


def coherence(x: torch.Tensor, sigma: float = 2.0) -> torch.Tensor:
    """1 - structure-tensor coherence: high where reflectors stop being locally planar
    (faults, edges of bodies), low along continuous reflectors. 2D."""
    return _normalise(1.0 - structure_coherence(x, sigma))


def canny(x: torch.Tensor, sigma: float = 1.0, low: float = 0.1, high: float = 0.25) -> torch.Tensor:
    """Canny: smoothing, Sobel gradient, non-maximum suppression along the gradient
    direction (4 sectors), and hysteresis (weak edges kept next to strong ones). 2D."""
    _require_2d(x, "canny")
    smooth = _gaussian(x, sigma)
    gy = _conv(smooth, _separable_kernel(0, 2, _SMOOTH))
    gx = _conv(smooth, _separable_kernel(1, 2, _SMOOTH))
    mag = _normalise(torch.sqrt(gx * gx + gy * gy))
    angle = torch.rad2deg(torch.atan2(gy, gx)) % 180
    padded = F.pad(mag, (1, 1, 1, 1))
    h, w = mag.shape[-2:]
    shifted = lambda dy, dx: padded[..., 1 + dy:1 + dy + h, 1 + dx:1 + dx + w]  # noqa: E731
    sector = ((angle + 22.5) // 45).long() % 4  # 0: horizontal gradient, 1: 45, 2: vertical, 3: 135
    neighbours = [(0, 1), (1, 1), (1, 0), (1, -1)]
    keep = torch.zeros_like(mag, dtype=torch.bool)
    for s, (dy, dx) in enumerate(neighbours):
        local_max = (mag >= shifted(dy, dx)) & (mag >= shifted(-dy, -dx))
        keep |= (sector == s) & local_max
    thin = mag * keep
    strong = thin >= high
    weak = thin >= low
    near_strong = F.max_pool2d(strong.float(), 3, stride=1, padding=1) > 0
    return (strong | (weak & near_strong)).to(x.dtype)


def _require_2d(x: torch.Tensor, name: str) -> None:
    if x.dim() != 4:
        raise ConfigError(f"edge operator {name!r} is 2D only", fix=f"use one of {', '.join(EDGES_3D)} for 3D")


EDGE_OPERATORS = {"sobel": sobel, "scharr": scharr, "laplacian": laplacian, "canny": canny,
                  "coherence": coherence, "gradient": lambda x: _normalise(gradient_magnitude(x))}
EDGES_3D = ("sobel", "scharr", "laplacian", "gradient")


EDGE_SCALES = ("peak", "p99")


def _rescale(edge: torch.Tensor, scale: str) -> torch.Tensor:
    """`peak` (what every operator returns): the tile's largest edge is 1, so a few strong
    reflectors leave the rest of the map dim (RESULTS.md: mean 0.12 on F3). `p99`: the 99th
    percentile of the tile is 1 and the top 1 % is clipped there, for more contrast."""
    if scale == "peak":
        return edge
    flat = edge.flatten(1)
    # torch.quantile(..., interpolation="higher") as an order statistic: quantile refuses inputs
    # of over 2**24 values (a batch of large prediction tiles), kthvalue does not
    level = flat.kthvalue(math.ceil(0.99 * (flat.shape[1] - 1)) + 1, dim=1).values.clamp_min(1e-6)
    return (edge / level.reshape(-1, *[1] * (edge.dim() - 1))).clamp(max=1.0)


class EdgeMap(nn.Module):
    """The named operator as a module without parameters; never back-propagates."""

    def __init__(self, name: str, scale: str = "peak"):
        super().__init__()
        if name not in EDGE_OPERATORS:
            raise unknown("edge operator", name, EDGE_OPERATORS)
        if scale not in EDGE_SCALES:
            raise unknown("edge_scale", scale, EDGE_SCALES)
        self.name, self.scale = name, scale

    def forward(self, raw: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return _rescale(EDGE_OPERATORS[self.name](raw.float()), self.scale).to(raw.dtype)
