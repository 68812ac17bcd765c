"""Tiles streamed from the store, for surveys larger than `data.cache_budget`: chunk-aligned
blocks of traces (all samples), each decoded once, many tiles cut from each, rotated through
a buffer of bounded size (in the manner of torchio's patch queue). No decoded copy on disk;
memory is set by the budget, whatever the survey's size.

Written here rather than taken from torchio: its queue samples patches from whole subjects
held in memory, while a survey is one subject far larger than memory, and seisfuse's tiles
must stay a pure function of (seed, step) for resuming and for DDP ranks.

- The blocks ("slabs") partition the tile *starts*: slab j serves the tiles that start in its
  own traces [a0, b0) x [a1, b1) and holds every trace they reach, [a0, b0 + reach0 - 1) x
  [a1, b1 + reach1 - 1). Each start belongs to one slab, so drawing a resident slab in
  proportion to its starts and then a start inside it is uniform over tile positions
  (tested). Each 2D section direction has its own slabs: an inline-section tile reaches one
  inline and tile[0] crosslines, a crossline-section tile the other way round, so neither
  decodes lines that only the other needs; cubes reach along both.
- Which slabs are resident at micro-step m is a pure function of (seed, partition, m): the
  partition's slabs in a seeded cyclic order, a window of `resident` of them sliding by one
  every `rotate_every` micro-steps. Each partition (one loader worker of one rank) reads only its
  own slabs; the slab that enters next is read by a background thread meanwhile.
"""

from __future__ import annotations

import atexit
import math
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from seisfuse.io import integrity, schema

RESIDENT_SLABS = 8  # slabs are lengthened only while this many fit: the tiles of a batch mix 8 places


@dataclass(frozen=True)
class Partition:
    """Who cuts the tiles: partition `index` of `count` (rank x loader worker), `per_rank` of
    them on each rank."""

    index: int = 0
    count: int = 1
    per_rank: int = 1


class LineReader:
    """Lines [a, b) of one store variable, decoded (by `transform`) and stored as `dtype`;
    counts what it read (reads, decoded bytes) for the benchmarks' file-system figures."""

    def __init__(self, store: str, name: str, dtype, transform=None):
        self.store, self.name, self.dtype, self.transform = store, name, np.dtype(dtype), transform
        self._array = None
        self.reads = self.bytes = 0

    @property
    def array(self):
        if self._array is None:  # opened in the process that reads (not pickled to loader workers)
            self._array = schema.open_group(self.store)[self.name]  # an MDIO store too
        return self._array

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.array.shape)

    def chunk_along(self, axis: int = 0) -> int:
        return int(self.array.chunks[axis])

    @property
    def chunk(self) -> int:
        return self.chunk_along(0)

    def read(self, start: int, stop: int, crosslines: tuple[int, int] | None = None) -> np.ndarray:
        """Inlines [start, stop) (of the crosslines [c, d) when given), all samples."""
        where = (slice(start, stop),) + (() if crosslines is None else (slice(*crosslines),))
        with integrity.reading(self.store, self.name):
            block = self.array[where]
        self.reads += 1
        self.bytes += block.nbytes
        block = self.transform(block) if self.transform else block
        return np.ascontiguousarray(block, dtype=self.dtype)

    def fresh(self) -> LineReader:
        """The same variable with its own counters (the slabs' reads, apart from validation's)."""
        return LineReader(self.store, self.name, self.dtype, self.transform)

    def __getstate__(self):
        return {**self.__dict__, "_array": None}


class LazyLines:
    """A store variable seen as a read-only array, decoded one chunk row of inlines at a time
    and keeping the last row: for validation, statistics and label counts, which walk the
    lines in order. Bounded memory (one chunk row); no copy on disk."""

    def __init__(self, reader: LineReader, filename: str):
        self.reader = reader
        self.filename = filename  # the name the run's cache files are keyed by (nothing is written there)
        self._row: tuple[int, np.ndarray] | None = None

    shape = property(lambda self: self.reader.shape)
    dtype = property(lambda self: self.reader.dtype)
    ndim = property(lambda self: len(self.reader.shape))

    def _chunk_row(self, k: int) -> np.ndarray:
        if self._row is None or self._row[0] != k:
            c = self.reader.chunk
            self._row = (k, self.reader.read(k * c, min((k + 1) * c, self.shape[0])))
        return self._row[1]

    def __getitem__(self, key):
        key = key if isinstance(key, tuple) else (key,)
        first, rest = key[0], key[1:]
        c = self.reader.chunk
        if isinstance(first, (int, np.integer)):
            i = int(first) + (self.shape[0] if first < 0 else 0)
            return self._chunk_row(i // c)[(i % c,) + rest]
        start, stop, step = first.indices(self.shape[0])
        if step != 1:
            raise IndexError("LazyLines reads contiguous line ranges only")
        parts = [self._chunk_row(k)[(slice(max(start - k * c, 0), min(stop - k * c, c)),) + rest]
                 for k in range(start // c, (max(stop, start + 1) - 1) // c + 1) if stop > start]
        if not parts:
            return np.empty((0,) + self._chunk_row(0)[(slice(0, 0),) + rest].shape[1:], self.dtype)
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def __array__(self, dtype=None, copy=None):
        whole = self[:]
        return whole if dtype is None else whole.astype(dtype)

    def __getstate__(self):
        return {**self.__dict__, "_row": None}


@dataclass(frozen=True)
class Slab:
    """A block of traces, all samples: per spatial axis, the tile starts it serves and the
    traces it holds (every trace those tiles reach)."""

    index: int
    owned: tuple[tuple[int, int], tuple[int, int]]
    lines: tuple[tuple[int, int], tuple[int, int]]

    def starts(self, extents: tuple[int, int], stops: tuple[int, int]) -> int:
        """How many of its starts begin a tile of `extents` traces that ends by `stops`."""
        return math.prod(max(1, min(hi, stop - e + 1) - lo) for (lo, hi), e, stop in zip(self.owned, extents, stops))


def _plan_axis(region: tuple[int, int], length: int, reach: int) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """(owned starts, lines held) along one axis: starts in blocks of `length` aligned to its
    multiples (to the chunks when it is a multiple of the chunk); a last block too short to
    start a tile of `reach` lines joins the one before."""
    lo, hi = region
    bounds = [lo] + list(range((lo // length + 1) * length, hi, length))
    if len(bounds) > 1 and bounds[-1] > hi - reach:
        bounds.pop()
    ends = bounds[1:] + [hi]
    return [((a, b), (a, min(b + reach - 1, hi))) for a, b in zip(bounds, ends)]


def plan_slabs(regions, lengths, reaches) -> list[Slab]:
    """The slabs over the traces regions[0] x regions[1] (inline, crossline ranges), blocks of
    `lengths` starts, for tiles that reach `reaches` traces along each axis."""
    inlines, crosslines = (_plan_axis(r, n, e) for r, n, e in zip(regions, lengths, reaches))
    return [Slab(j, (o0, o1), (h0, h1)) for j, ((o0, h0), (o1, h1)) in
            enumerate((a, b) for a in inlines for b in crosslines)]


def slab_layout(extents, chunks, reaches, trace_bytes: int, budget: int,
                resident: int = RESIDENT_SLABS) -> tuple[tuple[int, int], int] | None:
    """(starts per slab along each axis, slabs resident) for a buffer of `budget` bytes
    holding the resident slabs and the one being read. Slabs start one chunk long; an axis
    along which tiles reach beyond a slab is lengthened (doubling, whole chunks) while
    `resident` + 1 slabs still fit, since a longer slab decodes fewer lines that only its
    tiles' ends use; then as many slabs as fit are resident. None when not even two fit."""
    def held(lengths):
        return math.prod(min(n + r - 1, e) for n, r, e in zip(lengths, reaches, extents)) * trace_bytes

    lengths = list(chunks)
    if 2 * held(lengths) > budget:
        return None
    while True:
        grow = [a for a in (0, 1) if reaches[a] > 1 and lengths[a] < extents[a]]
        if not grow:
            break
        a = max(grow, key=lambda k: (lengths[k] + reaches[k] - 1) / lengths[k])
        trial = list(lengths)
        trial[a] *= 2
        if (resident + 1) * held(trial) > budget:
            break
        lengths = trial
    return tuple(lengths), int(budget // held(lengths)) - 1


class SlabStream:
    """The slabs of one survey for one kind of tile (a section direction, or cubes) and, in
    each process that cuts tiles, the buffer of resident ones. `draw(...)` gives the arrays of
    one resident slab, drawn in proportion to the tile starts it serves."""

    def __init__(self, amplitude: LineReader, label: LineReader, slabs: list[Slab], resident: int,
                 tiles_per_read: float):
        self.amplitude, self.label, self.slabs = amplitude, label, slabs
        self.resident, self.tiles_per_read = resident, tiles_per_read
        self._state = None

    def __getstate__(self):
        return {**self.__dict__, "_state": None}

    def rotate_every(self, batch: int, share: float, partition: Partition) -> int:
        """Micro-steps between two slab replacements, so that a slab gives about
        `tiles_per_read` tiles while resident: a partition cuts batch x share tiles of this
        survey in every `per_rank`-th micro-step, spread over its resident slabs, each resident
        for `resident` rotations."""
        return max(1, round(self.tiles_per_read * partition.per_rank / max(batch * share, 1e-9)))

    def _own(self, partition: Partition) -> list[Slab]:
        n = len(self.slabs)
        return self.slabs[partition.index::partition.count] if n >= partition.count \
            else [self.slabs[partition.index % n]]

    def window(self, seed: int, partition: Partition, phase: int) -> list[Slab]:
        """The slabs resident in `phase`: the partition's slabs in a seeded cyclic order, a
        window of `resident` of them sliding by one per phase (all of them when they fit), so
        that every slab is resident for the same number of phases in each cycle."""
        own = self._own(partition)
        if len(own) <= self.resident:
            return own
        order = np.random.default_rng([seed, partition.index, 0x51AB]).permutation(len(own))
        return [own[order[(phase + t) % len(own)]] for t in range(self.resident)]

    def _drain(self) -> None:
        """Let a read in flight finish before the interpreter (and zarr's event loop) goes."""
        if self._state is not None:
            for future in self._state["pending"].values():
                future.cancel() or future.exception()
            self._state["pool"].shutdown(wait=True)

    def _read(self, slab: Slab) -> tuple[np.ndarray, np.ndarray]:
        return (self.amplitude.read(*slab.lines[0], slab.lines[1]), self.label.read(*slab.lines[0], slab.lines[1]))

    def buffer(self, seed: int, partition: Partition, phase: int) -> list[tuple[Slab, tuple]]:
        """The resident slabs of `phase` with their decoded lines; the slab of the next phase
        is being read meanwhile."""
        if self._state is None:
            self._state = {"key": None, "held": {}, "pending": {}, "pool": ThreadPoolExecutor(1), "weights": {}}
            atexit.register(self._drain)
        st = self._state
        if st["key"] != (seed, partition, phase):
            wanted = self.window(seed, partition, phase)
            keep = {s.index for s in wanted}
            st["held"] = {k: v for k, v in st["held"].items() if k in keep}
            for slab in wanted:
                if slab.index not in st["held"]:
                    future: Future | None = st["pending"].pop(slab.index, None)
                    st["held"][slab.index] = future.result() if future else self._read(slab)
            st["pending"] = {k: f for k, f in st["pending"].items() if k in keep}
            for slab in self.window(seed, partition, phase + 1):
                if slab.index not in st["held"] and slab.index not in st["pending"]:
                    st["pending"][slab.index] = st["pool"].submit(self._read, slab)
            st["key"], st["wanted"], st["weights"] = (seed, partition, phase), wanted, {}
        return [(slab, st["held"][slab.index]) for slab in st["wanted"]]

    def draw(self, seed: int, partition: Partition, phase: int, extents: tuple[int, int], stops: tuple[int, int],
             rng: np.random.Generator) -> tuple[Slab, tuple]:
        """One resident slab, in proportion to the starts of tiles of `extents` it serves."""
        held = self.buffer(seed, partition, phase)
        weights = self._state["weights"]
        if extents not in weights:
            w = np.array([slab.starts(extents, stops) for slab, _ in held], np.float64)
            weights[extents] = np.cumsum(w / w.sum())
        pick = min(int(np.searchsorted(weights[extents], rng.random(), side="right")), len(held) - 1)
        return held[pick]
