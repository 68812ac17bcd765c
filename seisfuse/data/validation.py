"""The validation tiles of a run: a fixed grid over each survey's validation lines (sections
or cubes), each pixel validated once where tiles overlap."""

from __future__ import annotations

import numpy as np

from seisfuse.data import sparse
from seisfuse.data.tiles import Survey, _crop, valid_2d
from seisfuse.tiling.grid import starts as tile_starts


def first_covered(starts: list[int], size: int) -> list[np.ndarray]:
    """For each tile of a row of tiles, which of its `size` positions it is the first to
    cover: overlapping tiles (the last one is moved back to the border) count a pixel once."""
    owned, covered = [], -1
    for s in starts:
        owned.append(np.arange(s, s + size) > covered)
        covered = max(covered, s + size - 1)
    return owned


def validation_tiles(survey: Survey, *, tile: tuple[int, ...], val_stride: float = 1.0):
    """A fixed grid of tiles of `tile` (sections or cubes) over the validation lines, spaced at
    most `val_stride` of a tile apart. Where tiles overlap, each pixel is validated once:
    `valid` is False where an earlier tile of the grid already covered it."""
    if survey.val_lines is not None:
        yield from sparse.validation_sections(survey, tile=tile, val_stride=val_stride)
        return
    lo, hi = survey.val
    shape = survey.amplitude.shape
    # the prediction grid's starts (evenly spread, the last tile at the border), spaced at most
    # val_stride of a tile apart
    starts = lambda n, t: tile_starts(n, t, overlap=1 - val_stride)  # noqa: E731
    if len(tile) == 3:
        ranges = [(0, shape[0]), (0, shape[1])]
        ranges[survey.axis] = (lo, hi)
        grids = [starts(ranges[0][1] - ranges[0][0], tile[0]), starts(ranges[1][1] - ranges[1][0], tile[1]),
                 starts(shape[2], tile[2])]
        owned = [first_covered(g, n) for g, n in zip(grids, tile)]
        for a, i in enumerate(grids[0]):
            for b, j in enumerate(grids[1]):
                for c, t in enumerate(grids[2]):
                    pos = (ranges[0][0] + i, ranges[1][0] + j, t)
                    once = owned[0][a][:, None, None] & owned[1][b][None, :, None] & owned[2][c][None, None, :]
                    valid = np.broadcast_to(_crop(survey.valid, pos[:2], tile[:2])[..., None], tile) & once
                    yield survey.normalize(_crop(survey.amplitude, pos, tile)), _crop(survey.label, pos, tile), valid
        return
    along_split = survey.directions == (0,) and survey.axis == 1  # one line, split along its traces
    for index in range(shape[0]) if along_split else range(lo, hi):  # sections in the validation lines
        take = (lambda a, i=index: a[i]) if survey.axis == 0 or along_split else (lambda a, i=index: a[:, i])
        # an image of a stack is validated over its own width only; a line over its validation traces
        width = int(survey.valid[index].sum()) if survey.images else hi - lo if along_split else \
            shape[1 - survey.axis]
        first = lo if along_split else 0
        laterals, times = [first + t for t in starts(width, tile[0])], starts(shape[2], tile[1])
        own_l, own_t = first_covered(laterals, tile[0]), first_covered(times, tile[1])
        for a, lateral in enumerate(laterals):
            for b, t in enumerate(times):
                once = own_l[a][:, None] & own_t[b][None, :]
                yield (survey.normalize(_crop(take(survey.amplitude), (lateral, t), tile)),
                       _crop(take(survey.label), (lateral, t), tile),
                       valid_2d(take(survey.valid), lateral, t, tile, shape[2]) & once)
