"""The out-of-core merger: weighted predictions accumulate in a band of rows along the
inline axis and leave it, divided by their weights, as soon as no later tile can reach them.

Lifecycle (after MONAI/torchio): aggregate(tile, values, window) for tiles in order of
their inline start, then finalize(). Finished rows go to `write(start_row, rows)` (a store
variable, in practice); rows outside [first, stop) are computed but not written, so blocks
of rows can be merged independently (the halo tiles are the same, so is the result).
Accumulation is float64: an identity model gives back its input bit for bit.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


class BandMerger:
    def __init__(self, shape: tuple[int, ...], write: Callable[[int, np.ndarray], None], first: int = 0,
                 stop: int | None = None, channels: int = 1, flush_rows: int = 1):
        self.shape, self.write, self.channels = tuple(shape), write, channels
        self.first, self.stop = first, shape[0] if stop is None else stop
        self.flush_rows = flush_rows
        self.base = 0  # volume row of the band's first row
        self.values = np.zeros((0, channels, *shape[1:]))
        self.weights = np.zeros((0, *shape[1:]))
        self.next_row = first  # the first row not yet written
        self.pending: list[np.ndarray] = []
        self.finalized = False
        self.last_start = -1

    def _grow(self, end: int) -> None:
        have = self.base + len(self.weights)
        if end > have:
            extra = end - have
            self.values = np.concatenate([self.values, np.zeros((extra, self.channels, *self.shape[1:]))])
            self.weights = np.concatenate([self.weights, np.zeros((extra, *self.shape[1:]))])

    def _release(self, upto: int) -> None:
        """Rows below `upto` are final: divide, hand over those inside [first, stop), drop."""
        upto = min(upto, self.base + len(self.weights))
        n = upto - self.base
        if n <= 0:
            return
        if not self.weights[:n].all():
            row = self.base + int(np.flatnonzero(~self.weights[:n].reshape(n, -1).all(axis=1))[0])
            self._check_covered(row, row + 1)
        rows = self.values[:n] / self.weights[:n, None]  # (n, C, ...)
        lo = max(self.first, self.base)
        hi = min(self.stop, upto)
        if hi > lo:
            self.pending.append(rows[lo - self.base:hi - self.base])
        self.values, self.weights = self.values[n:], self.weights[n:]
        self.base = upto
        self._flush(force=False)

    def _flush(self, force: bool) -> None:
        held = sum(len(p) for p in self.pending)
        if held and (force or held >= self.flush_rows):
            block = np.concatenate(self.pending)
            self.write(self.next_row, block)
            self.next_row += len(block)
            self.pending = []

    def aggregate(self, start: tuple[int, ...], values: np.ndarray, window: np.ndarray) -> None:
        """Add one tile: values (C, *size) weighted by window (*size), at box `start`."""
        if self.finalized:
            raise RuntimeError("BandMerger.aggregate called after finalize()")
        if start[0] < self.last_start:
            raise RuntimeError(f"tiles must come in order of their inline start: {start[0]} < {self.last_start}")
        self.last_start = start[0]
        if self.base + len(self.weights) <= start[0]:  # a gap: rows no tile reached
            self._release(self.base + len(self.weights))
            self._check_covered(self.base, start[0])
            self.base = start[0]
        self._release(start[0])  # no later tile starts before this row
        size = window.shape
        end = start[0] + size[0]
        self._grow(end)
        box = (slice(start[0] - self.base, end - self.base),
               *(slice(s, s + n) for s, n in zip(start[1:], size[1:])))
        self.weights[box] += window
        self.values[(box[0], slice(None), *box[1:])] += np.moveaxis(values * window, 0, 1)

    def _check_covered(self, lo: int, hi: int) -> None:
        lo, hi = max(lo, self.first), min(hi, self.stop)
        if hi > lo:
            raise RuntimeError(f"rows {lo}..{hi - 1} (or parts of them) received no tile")

    def finalize(self) -> None:
        if self.finalized:
            raise RuntimeError("BandMerger.finalize called twice")
        self._release(self.base + len(self.weights))
        self._check_covered(self.base, self.stop)
        self._flush(force=True)
        self.finalized = True
