"""Augmentation: albumentations for 2D tiles (the same geometric transform on the label),
numpy flips and noise for 3D cubes. Tiles are (lateral, sample): the lateral flip is
albumentations' VerticalFlip; nothing ever flips the time/depth axis.

Every call takes its randomness from a seed, so a batch is a function of (seed, step):
resumed and multi-process runs draw the same tiles as an uninterrupted single process.
"""

from __future__ import annotations

import os
from functools import lru_cache

import numpy as np

from seisfuse.config.train import AugmentConfig

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")  # albumentations checks PyPI on import otherwise
import albumentations as A  # noqa: E402
import cv2  # noqa: E402


@lru_cache(maxsize=8)  # built once per (frozen, hashable) config, not once per batch
def build_2d(cfg: AugmentConfig) -> A.Compose | None:
    if not cfg.enabled:
        return None
    transforms = [A.VerticalFlip(p=cfg.flip_lateral)]
    if cfg.rotate_p and cfg.rotate_limit:
        transforms.append(A.Rotate(limit=cfg.rotate_limit, border_mode=cv2.BORDER_REFLECT_101, p=cfg.rotate_p))
    if cfg.elastic_p:
        transforms.append(A.ElasticTransform(alpha=20, sigma=5, p=cfg.elastic_p))
    if cfg.brightness_contrast_p:
        transforms.append(A.RandomBrightnessContrast(0.1, 0.1, p=cfg.brightness_contrast_p))
    if cfg.noise_p:
        transforms.append(A.GaussNoise(std_range=(0.02, 0.08), p=cfg.noise_p))
    if cfg.gamma_p:
        transforms.append(A.RandomGamma(p=cfg.gamma_p))
    return A.Compose(transforms)


def apply_2d(transform, image: np.ndarray, mask: np.ndarray, valid: np.ndarray, seed: int):
    """image (H, W) float32, mask (H, W) int, valid (H, W) uint8; returns the three transformed."""
    if transform is None:
        return image, mask, valid
    transform.set_random_seed(seed)
    stacked = np.stack([mask, valid], axis=-1).astype(np.uint8)
    out = transform(image=image, mask=stacked)
    return out["image"].astype(np.float32), out["mask"][..., 0], out["mask"][..., 1]


def apply_3d(cfg: AugmentConfig, cube: np.ndarray, mask: np.ndarray, valid: np.ndarray, rng: np.random.Generator):
    """Flips along the two lateral axes and Gaussian noise; cube (D, H, W) = (inline, crossline, sample)."""
    if not cfg.enabled:
        return cube, mask, valid
    for axis in (0, 1):
        if rng.random() < cfg.flip_lateral:
            cube, mask, valid = (np.flip(a, axis) for a in (cube, mask, valid))
    if rng.random() < cfg.noise_p:
        cube = cube + rng.normal(0, 0.05, cube.shape).astype(np.float32)
    return np.ascontiguousarray(cube), np.ascontiguousarray(mask), np.ascontiguousarray(valid)
