"""Image-output metrics: PSNR and SSIM (pytorch-msssim), for data in [0, data_range]."""

from __future__ import annotations

import numpy as np
import torch
from pytorch_msssim import ssim as _ssim


def psnr(pred: np.ndarray, target: np.ndarray, data_range: float = 1.0) -> float:
    mse = float(np.mean((np.asarray(pred, np.float64) - np.asarray(target, np.float64)) ** 2))
    return float("inf") if mse == 0 else float(10 * np.log10(data_range**2 / mse))


def ssim(pred: np.ndarray, target: np.ndarray, data_range: float = 1.0, win_size: int = 11) -> float:
    """SSIM of two (H, W) or (D, H, W) arrays."""
    p = torch.as_tensor(np.asarray(pred, np.float32))[None, None]
    t = torch.as_tensor(np.asarray(target, np.float32))[None, None]
    return float(_ssim(p, t, data_range=data_range, win_size=win_size))
