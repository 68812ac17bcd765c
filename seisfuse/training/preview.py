"""The validation tiles shown in TensorBoard: the same few tiles at every validation, each
as a row of amplitude | label | prediction, so that a run can be watched learning."""

from __future__ import annotations

from itertools import islice

import numpy as np
import torch

from seisfuse.data.validation import validation_tiles

PREVIEW_TILES = 4
SCAN = 64  # the preview tiles are spread over the first SCAN validation tiles
GAP = 2  # white pixels between images


def preview_tiles(surveys, cfg, n: int = PREVIEW_TILES) -> list[tuple[np.ndarray, np.ndarray]]:
    """n validation tiles (amplitude, label) evenly spread over the first survey that has
    validation lines; fixed for the whole run."""
    for survey in surveys:
        tiles = list(islice(validation_tiles(survey, tile=cfg.data.tile, val_stride=cfg.data.val_stride), SCAN))
        if tiles:
            picked = np.unique(np.linspace(0, len(tiles) - 1, min(n, len(tiles))).round().astype(int))
            return [(tiles[k][0], tiles[k][1]) for k in picked]
    return []


def _section(a: np.ndarray) -> np.ndarray:
    """A 2D (lateral, sample) tile, or the middle inline of a cube, with the sample axis down."""
    return (a[a.shape[0] // 2] if a.ndim == 3 else a).T


def preview_image(model, tiles, task: str, classes: int, device) -> np.ndarray:
    """(H, W, 3) uint8: one row per tile, amplitude (clipped at ±3 std), label and prediction
    (probability, or class / (classes - 1)) in grey."""
    was_training = model.training
    model.eval()
    with torch.no_grad():
        x = torch.from_numpy(np.stack([t[0] for t in tiles])[:, None]).to(device)
        logits = model(x).float()
        pred = torch.sigmoid(logits[:, 0]) if task == "binary" else logits.argmax(1).float() / max(classes - 1, 1)
    model.train(was_training)
    rows = []
    for (amp, label), p in zip(tiles, pred.cpu().numpy()):
        shown = [np.clip((_section(amp) + 3) / 6, 0, 1), _section(label) / (1 if task == "binary" else
                                                                                max(classes - 1, 1)), _section(p)]
        gap = np.ones((shown[0].shape[0], GAP))
        rows.append(np.concatenate([shown[0], gap, shown[1], gap, shown[2]], axis=1))
    grid = np.concatenate([np.concatenate([r, np.ones((GAP, r.shape[1]))]) for r in rows])[:-GAP]
    return np.repeat((np.clip(grid, 0, 1) * 255).astype(np.uint8)[..., None], 3, axis=2)
