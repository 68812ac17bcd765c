"""Tile grids, blending windows and the out-of-core merger (NumPy only, no torch)."""

from seisfuse.tiling.grid import Tile, section_tiles, starts, volume_tiles
from seisfuse.tiling.merger import BandMerger
from seisfuse.tiling.windows import WINDOWS, blend_window

__all__ = ["Tile", "section_tiles", "starts", "volume_tiles", "BandMerger", "WINDOWS", "blend_window"]
