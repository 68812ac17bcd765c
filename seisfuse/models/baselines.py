"""A classical fault attribute behind the models' forward contract, so that it is predicted,
stitched, stored and scored exactly as a trained network is (seisfuse baseline).

`CoherenceBaseline`: 1 - structure-tensor coherence of each 2D section (high where reflectors
stop being locally planar), returned as logits. `threshold` is the value of 1 - coherence
that maps to probability 0.5 (found on labelled surveys: the best-F1 threshold), by a
piecewise-linear monotone map; ranking measures (AP, best-threshold F1) are those of the raw
attribute, and a fixed threshold of 0.5 means for it what 0.5 means for a trained model.
"""

from __future__ import annotations

import torch
from torch import nn

from seisfuse.errors import ConfigError
from seisfuse.models.edges import structure_coherence

EPS = 1e-6  # probabilities are kept inside (EPS, 1 - EPS) so that their logits are finite


def calibrated(value: torch.Tensor, threshold: float) -> torch.Tensor:
    """[0, 1] -> [0, 1], monotone, piecewise linear, `threshold` -> 0.5."""
    low = value / (2 * threshold)
    high = 0.5 + (value - threshold) / (2 * (1 - threshold))
    return torch.where(value <= threshold, low, high)


class CoherenceBaseline(nn.Module):
    def __init__(self, threshold: float = 0.5, sigma: float = 2.0):
        super().__init__()
        if not 0 < threshold < 1:
            raise ConfigError(f"the baseline's threshold {threshold} is not between 0 and 1")
        self.threshold, self.sigma = float(threshold), float(sigma)

    def attribute(self, raw: torch.Tensor) -> torch.Tensor:
        """(B, 1, H, W) amplitudes -> (B, 1, H, W) 1 - coherence in [0, 1]."""
        return 1.0 - structure_coherence(raw.float(), self.sigma)

    def forward(self, raw: torch.Tensor, edge: torch.Tensor | None = None) -> torch.Tensor:
        p = calibrated(self.attribute(raw), self.threshold).clamp(EPS, 1 - EPS)
        return torch.log(p) - torch.log1p(-p)  # logits: the predictor's sigmoid gives p back
