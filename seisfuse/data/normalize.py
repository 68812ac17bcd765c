"""Amplitude normalisation from survey statistics (never from the tile): robust percentile
clip, then z-score or scale to [-1, 1]. Training takes the statistics of its training lines
(seisfuse.data.tiles.training_statistics); the parameters travel with the checkpoint so
prediction normalises exactly as training did."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from seisfuse.errors import ConfigError, unknown

METHODS = ("robust_zscore", "robust_minmax")


@dataclass(frozen=True)
class Normalizer:
    method: str
    low: float
    high: float
    mean: float
    std: float

    @classmethod
    def from_statistics(cls, statistics: dict, method: str = "robust_zscore", percentile: float = 99.5):
        if method not in METHODS:
            raise unknown("normalization", method, METHODS)
        pct = statistics.get("percentiles", {})
        hi_key, lo_key = f"{percentile:g}", f"{100 - percentile:g}"
        if hi_key not in pct or lo_key not in pct:
            raise ConfigError(f"the store has no {percentile:g}th/{100 - percentile:g}th percentiles",
                              fix=f"use clip_percentile one of {sorted(float(k) for k in pct)}")
        return cls(method, float(pct[lo_key]), float(pct[hi_key]), float(statistics["mean"]),
                   float(statistics["std"]) or 1.0)

    def __call__(self, values: np.ndarray) -> np.ndarray:
        x = np.clip(np.asarray(values, dtype=np.float32), self.low, self.high)
        if self.method == "robust_zscore":
            return (x - np.float32(self.mean)) / np.float32(self.std)
        half = max((self.high - self.low) / 2, 1e-12)
        return (x - np.float32((self.high + self.low) / 2)) / np.float32(half)

    def to_dict(self) -> dict:
        return asdict(self)
