"""Batched tile prediction: normalisation and tile geometry from the checkpoint, padding of
border tiles, test-time flips, mixed precision on CUDA, channels-last weights."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from seisfuse.data.normalize import Normalizer
from seisfuse.errors import ConfigError
from seisfuse.models.checkpoint import Checkpoint
from seisfuse.models.registry import to_channels_last


@dataclass
class Predictor:
    model: torch.nn.Module
    tile: tuple[int, ...]  # the model's tile: (lateral, sample) or (inline, crossline, sample)
    task: str = "binary"
    classes: int = 1
    normalizer: Normalizer | None = None
    device: torch.device = torch.device("cpu")
    tta: bool = False
    amp: bool = False

    @classmethod
    def from_checkpoint(cls, path, device: str = "auto", tta: bool = False,
                        statistics: dict | None = None) -> Predictor:
        """statistics: the survey's own amplitude statistics (a store's, seisfuse.stats), to normalise
        with the checkpoint's method and clip percentile on them instead of the training data's
        (shipped models: a survey of any amplitude scale is seen as in training)."""
        saved = Checkpoint.load(path)
        model = saved.build(str(path))
        normalizer = Normalizer(**saved.normalization)
        if statistics is not None:
            percentile = (saved.config.get("data") or {}).get("clip_percentile", 99.5)
            normalizer = Normalizer.from_statistics(statistics, normalizer.method, percentile)
        dev = torch.device("cuda" if device == "auto" and torch.cuda.is_available() else
                           ("cpu" if device == "auto" else device))
        # channels-last weights: 1.04-1.34x a forward pass on 2 CPU cores (BENCHMARKS.md, prediction)
        return cls(to_channels_last(model.to(dev)).eval(), tuple(saved.tile), saved.task, saved.classes,
                   normalizer, dev, tta, dev.type == "cuda")

    @property
    def channels(self) -> int:
        return 1 if self.task == "binary" else self.classes

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.amp):
            logits = self.model(x).float()
        return torch.sigmoid(logits) if self.task == "binary" else torch.softmax(logits, dim=1)

    @torch.no_grad()
    def __call__(self, tiles: np.ndarray) -> np.ndarray:
        """tiles (N, *tile_or_smaller) raw amplitudes -> (N, C, same size) probabilities."""
        size = tiles.shape[1:]
        if len(size) != len(self.tile):
            raise ConfigError(f"the model takes {len(self.tile)}D tiles, got {len(size)}D")
        bad = ~np.isfinite(tiles)  # NaN/Inf samples: missing (zero) in the input, zero in the output
        if bad.any():
            tiles = np.where(bad, 0, tiles)
        x = self.normalizer(tiles) if self.normalizer else tiles.astype(np.float32)
        pad = [(0, 0)] + [(0, max(0, t - s)) for t, s in zip(self.tile, size)]
        if any(p[1] for p in pad):  # a border tile of a volume smaller than the tile
            x = np.pad(x, pad, mode="reflect" if min(size) > 1 else "edge")
        x = torch.from_numpy(np.ascontiguousarray(x))[:, None].to(self.device)  # (N, 1, *tile)
        probs = self._forward(x)
        if self.tta:  # flips along the lateral axes, undone on the output, averaged
            lateral = [2] if len(self.tile) == 2 else [2, 3]
            flips = [[a] for a in lateral] + ([lateral] if len(lateral) > 1 else [])
            for dims in flips:
                probs = probs + self._forward(torch.flip(x, dims)).flip(dims)
            probs = probs / (1 + len(flips))
        crop = (slice(None), slice(None), *(slice(0, s) for s in size))
        out = probs[crop].cpu().numpy().astype(np.float64)
        if bad.any():
            out[np.broadcast_to(bad[:, None], out.shape)] = 0
        return out
