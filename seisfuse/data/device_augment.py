"""Augmentation of whole batches with torch on the training device (data.augment.on: device),
so that loader workers only cut and copy tiles. 2D tiles are (B, 1, lateral, sample).

Geometry (the label and the live mask get exactly the same warp, sampled nearest; pixels
warped in from outside the tile become not live, so the loss never sees them): a lateral flip,
a small rotation and an elastic deformation, composed into one sampling grid. Intensity (the
amplitude only): brightness/contrast, gamma on the magnitude (sign kept), Gaussian noise.
Probabilities and ranges are those of the loader's path (AugmentConfig, albumentations'
defaults for the ones it does not set). Every draw comes from a torch.Generator seeded by
(seed, step): a run is reproducible, and resumed runs draw the same.

Hand-written (not kornia): a dozen lines of affine_grid/grid_sample cover what seismic tiles
need, and a new dependency for it would be heavier than the code.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from seisfuse.config.train import AugmentConfig

ELASTIC_ALPHA, ELASTIC_SIGMA = 20.0, 5.0  # pixels, as the loader's A.ElasticTransform(alpha=20, sigma=5)
NOISE_STD = (0.02, 0.08)
GAMMA = (0.8, 1.2)
BRIGHTNESS = CONTRAST = 0.1


def _chance(p: float, n: int, g: torch.Generator, device) -> torch.Tensor:
    return torch.rand(n, generator=g, device=device) < p


def _uniform(lo: float, hi: float, n: int, g: torch.Generator, device) -> torch.Tensor:
    return lo + (hi - lo) * torch.rand(n, generator=g, device=device)


def _gaussian_blur(field: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian smoothing of (B, C, H, W)."""
    radius = max(1, int(3 * sigma))
    t = torch.arange(-radius, radius + 1, dtype=field.dtype, device=field.device)
    k = torch.exp(-t * t / (2 * sigma * sigma))
    k = k / k.sum()
    c = field.shape[1]
    field = F.conv2d(F.pad(field, (0, 0, radius, radius), mode="replicate"), k.view(1, 1, -1, 1).repeat(c, 1, 1, 1),
                     groups=c)
    return F.conv2d(F.pad(field, (radius, radius, 0, 0), mode="replicate"), k.view(1, 1, 1, -1).repeat(c, 1, 1, 1),
                    groups=c)


def sampling_grid(n: int, h: int, w: int, cfg: AugmentConfig, g: torch.Generator, device,
                  angle_deg: torch.Tensor | None = None) -> torch.Tensor:
    """(B, H, W, 2) grid of the composed lateral flip, rotation and elastic deformation."""
    flip = torch.where(_chance(cfg.flip_lateral, n, g, device), -1.0, 1.0)
    if angle_deg is None:
        angle_deg = _uniform(-cfg.rotate_limit, cfg.rotate_limit, n, g, device)
        angle_deg = torch.where(_chance(cfg.rotate_p, n, g, device), angle_deg, torch.zeros_like(angle_deg))
    a = angle_deg * math.pi / 180
    # affine_grid works in normalised coordinates (x: width = sample axis, y: height = lateral);
    # the lateral flip negates y. Rotation in pixel units, corrected for a non-square tile.
    cos, sin = torch.cos(a), torch.sin(a)
    theta = torch.zeros(n, 2, 3, device=device)
    theta[:, 0, 0], theta[:, 0, 1] = cos, -sin * h / w
    theta[:, 1, 0], theta[:, 1, 1] = sin * w / h * flip, cos * flip
    grid = F.affine_grid(theta, (n, 1, h, w), align_corners=False)
    elastic = _chance(cfg.elastic_p, n, g, device)
    if elastic.any():
        noise = torch.rand(n, 2, h, w, generator=g, device=device) * 2 - 1
        field = _gaussian_blur(noise, ELASTIC_SIGMA) * ELASTIC_ALPHA  # pixels
        field = field * elastic.view(-1, 1, 1, 1)
        grid = grid + torch.stack([field[:, 0] * 2 / w, field[:, 1] * 2 / h], dim=-1)
    return grid


def warp(x: torch.Tensor, grid: torch.Tensor, mode: str) -> torch.Tensor:
    return F.grid_sample(x, grid, mode=mode, padding_mode="zeros", align_corners=False)


def augment_batch(x: torch.Tensor, y: torch.Tensor, valid: torch.Tensor, cfg: AugmentConfig,
                  g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """x (B, 1, H, W) float, y (B, H, W) integer classes, valid (B, H, W) bool -> the same."""
    if not cfg.enabled:
        return x, y, valid
    n, _, h, w = x.shape
    device = x.device
    grid = sampling_grid(n, h, w, cfg, g, device)
    x = warp(x, grid, "bilinear")
    y = warp(y[:, None].float(), grid, "nearest")[:, 0].round().to(y.dtype)
    inside = warp(torch.ones_like(x), grid, "nearest")[:, 0] > 0.5  # not warped in from outside
    valid = (warp(valid[:, None].float(), grid, "nearest")[:, 0] > 0.5) & inside
    scale = torch.where(_chance(cfg.brightness_contrast_p, n, g, device),
                        _uniform(1 - CONTRAST, 1 + CONTRAST, n, g, device), torch.ones(n, device=device))
    shift = torch.where(_chance(cfg.brightness_contrast_p, n, g, device),
                        _uniform(-BRIGHTNESS, BRIGHTNESS, n, g, device), torch.zeros(n, device=device))
    x = x * scale.view(-1, 1, 1, 1) + shift.view(-1, 1, 1, 1)
    gamma = torch.where(_chance(cfg.gamma_p, n, g, device), _uniform(*GAMMA, n, g, device),
                        torch.ones(n, device=device))
    x = torch.sign(x) * x.abs().pow(gamma.view(-1, 1, 1, 1))
    std = torch.where(_chance(cfg.noise_p, n, g, device), _uniform(*NOISE_STD, n, g, device),
                      torch.zeros(n, device=device))
    x = x + torch.randn(x.shape, generator=g, device=device) * std.view(-1, 1, 1, 1)
    return x, y, valid


def generator(seed: int, step: int, device) -> torch.Generator:
    """The generator of one step's batch: a function of (seed, step) only."""
    g = torch.Generator(device=device)
    g.manual_seed((seed * 1_000_003 + step) % (2 ** 63))
    return g
