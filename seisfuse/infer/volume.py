"""Whole-volume prediction: tiles -> batched model -> blended, out of core.

The volume is processed in blocks of whole chunk rows along the inline axis. A block runs
every tile that reaches its rows (the halo tiles of its neighbours included), merges them
in a band (seisfuse.tiling.BandMerger) and writes only its own rows; so blocks can run in
any order or on different Dask workers and give the single-process result, and a killed
run restarts from the blocks not yet recorded as done.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from seisfuse.config._declared import COMMANDS as DECLARED
from seisfuse.infer.predictor import Predictor
from seisfuse.progress import Progress
from seisfuse.tiling import BandMerger, Tile, blend_window, section_tiles, volume_tiles

# the defaults of `seisfuse predict`, read from its declaration (seisfuse.config.commands.Predict):
# written once there, never here
_DECLARED = {f["name"]: f["default"] for f in DECLARED["predict"]["fields"]}


@dataclass(frozen=True)
class Settings:
    """How a volume is tiled, blended and written (the `seisfuse predict` options of that name)."""

    overlap: float = _DECLARED["overlap"]
    blend: str = _DECLARED["blend"]
    direction: str = _DECLARED["direction"]  # 2D models: inline, crossline or both (averaged)
    batch_size: int = _DECLARED["batch_size"]
    # "probability", or "label": threshold (binary) / argmax (multi-class), uint8; or
    # "probabilities": multi-class labels plus every class's probability
    output: str = _DECLARED["output"]
    threshold: float = _DECLARED["threshold"]


def plan_tiles(shape, predictor: Predictor, settings: Settings) -> list[Tile]:
    if len(predictor.tile) == 3:
        return volume_tiles(shape, predictor.tile, settings.overlap)
    return section_tiles(shape, predictor.tile, settings.overlap, settings.direction)


class BandReader:
    """Rows of a (lazy) volume for requests [lo, hi) with non-decreasing lo: read ahead a
    chunk row at a time, dropped once no later request can need them."""

    def __init__(self, volume, rows_per_read: int):
        self.volume, self.step = volume, max(1, rows_per_read)
        self.base, self.rows = None, None

    def get(self, lo: int, hi: int) -> np.ndarray:
        if self.base is None:
            self.base, self.rows = lo, np.zeros((0, *self.volume.shape[1:]), dtype=np.float32)
        end = self.base + len(self.rows)
        if hi > end:
            stop = min(self.volume.shape[0], max(hi, end + self.step))
            self.rows = np.concatenate([self.rows, np.asarray(self.volume[end:stop], dtype=np.float32)])
        if lo > self.base:
            self.rows, self.base = self.rows[lo - self.base:], lo
        return self.rows[lo - self.base:hi - self.base]

    def box(self, tile: Tile) -> np.ndarray:
        rows = self.get(tile.start[0], tile.start[0] + tile.size[0])
        return rows[(slice(None), *tile.slices[1:])]


def _to_model(box: np.ndarray, tile: Tile) -> np.ndarray:
    """A volume box -> the model's input: sections drop their one-line axis."""
    if tile.kind == "inline":
        return box[0]  # (crossline, sample)
    if tile.kind == "crossline":
        return box[:, 0]  # (inline, sample)
    return box


def _from_model(values: np.ndarray, tile: Tile) -> np.ndarray:
    """(C, *model tile) -> (C, *box size)."""
    if tile.kind == "inline":
        return values[:, None]
    if tile.kind == "crossline":
        return values[:, :, None]
    return values


def predict_rows(predictor: Predictor, volume, first: int, stop: int, write: Callable[[int, np.ndarray], None],
                 settings: Settings, tiles: list[Tile] | None = None, progress: Progress | None = None,
                 flush_rows: int = 8) -> None:
    """Predict rows [first, stop) of `volume` (inline, crossline, sample) and hand them,
    in order and in groups of `flush_rows` (a store's chunk rows: each chunk written once),
    to write(row, values (rows, C, crossline, sample))."""
    shape = tuple(volume.shape)
    tiles = plan_tiles(shape, predictor, settings) if tiles is None else tiles
    mine = [t for t in tiles if t.start[0] < stop and t.start[0] + t.size[0] > first]
    merger = BandMerger(shape, write, first, stop, channels=predictor.channels, flush_rows=flush_rows)
    reader = BandReader(volume, rows_per_read=max(8, max((t.size[0] for t in mine), default=1)))
    for b in range(0, len(mine), settings.batch_size):
        batch = mine[b:b + settings.batch_size]
        groups: dict[tuple, list[Tile]] = {}
        for tile in batch:  # tiles of one size go through the model together
            groups.setdefault((tile.kind, tile.size), []).append(tile)
        done = {}
        for group in groups.values():
            inputs = np.stack([_to_model(reader.box(t), t) for t in group])
            for t, values in zip(group, predictor(inputs)):
                done[t] = _from_model(values, t)
        for tile in batch:  # aggregate in the planned (inline-start) order
            merger.aggregate(tile.start, done[tile], blend_window(settings.blend, tile.size))
        if progress:
            progress.update(len(batch))
    merger.finalize()


def to_output(values: np.ndarray, predictor: Predictor, settings: Settings) -> np.ndarray:
    """(rows, C, ...) blended probabilities -> the stored form: (rows, ...) float32 or uint8."""
    if predictor.task == "binary":
        p = values[:, 0]
        return (p >= settings.threshold).astype(np.uint8) if settings.output == "label" else p.astype(np.float32)
    return values.argmax(axis=1).astype(np.uint8)  # multi-class: the class of highest blended probability


def with_class_probabilities(predictor: Predictor, settings: Settings) -> bool:
    """Does this prediction also give each class's blended probability (multi-class only)?"""
    return predictor.task != "binary" and settings.output == "probabilities"


def output_dtype(predictor: Predictor, settings: Settings) -> str:
    return "float32" if predictor.task == "binary" and settings.output != "label" else "uint8"
