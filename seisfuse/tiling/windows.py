"""Blending windows by name, computed once per tile shape.

`gaussian` follows nnU-Net (sigma = tile / 8, scaled to a maximum of 1, with the smallest
non-zero value as a floor); `hann` uses the interior samples of a Hann window one sample
longer on each side, so no weight is zero and every voxel of the volume gets a weight.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

WINDOWS = ("constant", "hann", "gaussian")


def _profile(kind: str, n: int) -> np.ndarray:
    if kind == "constant" or n == 1:
        return np.ones(n)
    if kind == "hann":
        return np.hanning(n + 2)[1:-1]
    if kind == "gaussian":
        x = np.arange(n) - (n - 1) / 2
        return np.exp(-0.5 * (x / (n / 8)) ** 2)
    raise ValueError(f"unknown blend window {kind!r}; use one of {', '.join(WINDOWS)}")


@lru_cache(maxsize=32)
def blend_window(kind: str, shape: tuple[int, ...]) -> np.ndarray:
    """The separable window for a tile of `shape` (read-only, float64)."""
    window = np.ones(shape)
    for axis, n in enumerate(shape):
        profile = _profile(kind, n).reshape([n if a == axis else 1 for a in range(len(shape))])
        window = window * profile
    window /= window.max()
    if kind == "gaussian":
        window = np.maximum(window, window[window > 0].min())
    window.setflags(write=False)
    return window
