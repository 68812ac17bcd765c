"""Tile grids over a volume (inline, crossline, sample).

Every tile is a box in the volume: 2D section tiles are one line thick along the axis the
section is cut across, 3D tiles are cubes. Along each axis the starts are spread evenly so
that the first tile starts at 0 and the last ends at the border; an axis shorter than the
tile gets one tile, padded by the predictor and cropped back.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

DIRECTIONS = ("inline", "crossline", "both")


def starts(size: int, tile: int, overlap: float) -> list[int]:
    """Tile starts along one axis: evenly spread, first 0, last size - tile, step <= tile * (1 - overlap)."""
    if not 0 <= overlap < 1:
        raise ValueError(f"overlap must be in [0, 1), got {overlap}")
    if size <= tile:
        return [0]
    step = max(1, int(tile * (1 - overlap)))
    n = math.ceil((size - tile) / step) + 1
    return [round(i * (size - tile) / (n - 1)) for i in range(n)]


@dataclass(frozen=True)
class Tile:
    """A box: start and size per volume axis (sizes may be clipped at the border)."""

    start: tuple[int, int, int]
    size: tuple[int, int, int]
    kind: str  # "inline", "crossline" (2D sections) or "cube"

    @property
    def slices(self) -> tuple[slice, slice, slice]:
        return tuple(slice(s, s + n) for s, n in zip(self.start, self.size))


def section_tiles(shape: tuple[int, int, int], tile: tuple[int, int], overlap: float,
                  direction: str = "inline") -> list[Tile]:
    """2D tiles (lateral x sample) on inline sections, crossline sections, or both;
    sorted by their start along the inline axis (the merger's band axis)."""
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {DIRECTIONS}, got {direction!r}")
    n_il, n_xl, ns = shape
    out = []
    if direction in ("inline", "both"):
        for i in range(n_il):
            for j in starts(n_xl, tile[0], overlap):
                for t in starts(ns, tile[1], overlap):
                    out.append(Tile((i, j, t), (1, min(tile[0], n_xl), min(tile[1], ns)), "inline"))
    if direction in ("crossline", "both"):
        for i in starts(n_il, tile[0], overlap):
            for j in range(n_xl):
                for t in starts(ns, tile[1], overlap):
                    out.append(Tile((i, j, t), (min(tile[0], n_il), 1, min(tile[1], ns)), "crossline"))
    return sorted(out, key=lambda b: b.start[0])  # stable: inline tiles before crossline tiles per row


def volume_tiles(shape: tuple[int, int, int], tile: tuple[int, int, int], overlap: float) -> list[Tile]:
    return [Tile((i, j, t), tuple(min(a, b) for a, b in zip(tile, shape)), "cube")
            for i in starts(shape[0], tile[0], overlap)
            for j in starts(shape[1], tile[1], overlap)
            for t in starts(shape[2], tile[2], overlap)]
