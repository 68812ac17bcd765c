"""Where a run's tiles are cut from, per survey: a decoded memory-mapped copy (reading tiles
straight from compressed chunks decompresses a whole chunk per tile, tens of tiles/s; a copy
made once per run serves thousands per second, RAM left to the page cache), or, for a survey
larger than `data.cache_budget`, slabs streamed from the store (seisfuse.data.slabs: no copy,
memory set by the budget). `data.source: auto` chooses by size and says which."""

from __future__ import annotations

import hashlib
import json
import logging
import math
from pathlib import Path

import numpy as np
import zarr
from pydantic import ByteSize

from seisfuse import resources
from seisfuse.data.slabs import LazyLines, LineReader, SlabStream, plan_slabs, slab_layout
from seisfuse.errors import ConfigError
from seisfuse.io import integrity, schema
from seisfuse.progress import Progress

log = logging.getLogger("seisfuse")


def class_labels(block: np.ndarray, store: str, *, label: str, task: str, classes: int) -> np.ndarray:
    """A block of the label variable `label` as class indices, refusing what is not a label:
    values that are not whole numbers (a probability variable), or outside 0..classes-1 (0/1
    for the binary task)."""
    if np.iscomplexobj(block) or not np.issubdtype(block.dtype, np.number):
        raise ConfigError(f"label {label!r} has dtype {block.dtype}, not class numbers", where=store,
                          fix="choose a label variable of whole class numbers (data.label)")
    fraction = block != np.rint(block) if np.issubdtype(block.dtype, np.floating) else None
    if fraction is not None and fraction.any():
        raise ConfigError(f"label {label!r} holds values that are not whole numbers (e.g. "
                          f"{float(block[fraction][0]):.6g}): a probability or an amplitude, not a class label",
                          where=store, fix="train on a label of class numbers (threshold a probability first)")
    top = classes - 1 if task == "multiclass" else 1
    low, high = float(block.min()), float(block.max())
    if low < 0 or high > top:
        raise ConfigError(f"label {label!r} holds values {low:g}..{high:g}, outside 0..{top} "
                          f"(data.task {task}, data.classes {classes})", where=store,
                          fix="set data.classes (and data.task: multiclass) to the number of classes the label has")
    return block.astype(np.int64) if task == "multiclass" else (block > 0)


def finite(block: np.ndarray) -> np.ndarray:
    """Amplitudes with NaN and infinities as 0: an MDIO store's missing traces are NaN (its
    fill value); they are outside the trace mask, so no loss or statistic sees them, but a NaN
    in a tile's input would make every output pixel near it NaN."""
    return np.nan_to_num(block, copy=False, nan=0.0, posinf=0.0, neginf=0.0)


def data_identity(store: str, label: str) -> dict:
    """What a run trains on, by content: the shapes and exact statistics of the amplitude and
    the label. A store rebuilt from the same data matches; different data (or a moved and
    changed store) does not."""
    group = schema.open_group(store)
    return {"amplitude": {"shape": list(group[schema.AMPLITUDE].shape), "statistics": group.attrs.get("statistics")},
            label: {"shape": list(group[label].shape), "statistics": group[label].attrs.get("statistics")}}


def _key(group: zarr.Group, name: str, dtype, order) -> str:
    # the store's creation time and the variable's statistics: a store rebuilt at the same path
    # (new data, same shape) must not reuse a stale copy; "decoded": the copy's content format
    array = group[name]
    identity = ["decoded", str(group.store), name, list(array.shape), str(np.dtype(dtype)), group.attrs.get("created"),
                array.attrs.get("statistics")] + ([] if order is None else [order.tolist()])
    return hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()[:16]


def decoded_copy(group: zarr.Group, name: str, cache: Path, dtype, transform=None,
                 order: np.ndarray | None = None) -> np.ndarray:
    """A decoded .npy copy of a store variable, written chunk row by chunk row, reused if
    complete; with `order` (an image stack), its inlines in that order."""
    array = group[name]
    path = cache / f"{name}-{_key(group, name, dtype, order)}.npy"
    done = path.with_suffix(".done")
    if done.exists():
        return np.load(path, mmap_mode="r")
    resources.check_disk(cache, int(np.prod(array.shape)) * np.dtype(dtype).itemsize,
                         f"the decoded copy of {name!r} (data.source memmap)")
    size = int(np.prod(array.shape)) * np.dtype(dtype).itemsize
    with resources.writing(f"the decoded copy of {name!r} for training", cache, needed=size,
                           cleanup=lambda: path.unlink(missing_ok=True)):
        cache.mkdir(parents=True, exist_ok=True)
        out = np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=array.shape)
        with open(path, "r+b") as f:  # the disk space now: a full disk mid-copy would be a SIGBUS
            resources.preallocate(f.fileno(), out.offset + size)
        step = array.chunks[0]
        with Progress(array.shape[0], f"decode {name} for training", unit="line") as bar, \
                integrity.reading(schema.where(group), name):
            for i in range(0, array.shape[0], step):
                rows = slice(i, min(i + step, array.shape[0]))
                block = array[rows] if order is None else np.stack([array[int(k)] for k in order[rows]])
                out[rows] = transform(block) if transform else block
                bar.update(rows.stop - rows.start)
        out.flush()
        del out
        done.touch()
    return np.load(path, mmap_mode="r")


def label_dtype(classes: int):
    """The smallest dtype of a label's class numbers (the memory-mapped copy keeps int64)."""
    return np.uint8 if classes <= 256 else np.int16


def decoded_bytes(group: zarr.Group, classes: int) -> int:
    """Bytes of a survey's amplitude and label, decoded."""
    return int(np.prod(group[schema.AMPLITUDE].shape)) * (4 + np.dtype(label_dtype(classes)).itemsize)


def choose(group: zarr.Group, store: str, *, source: str, cache_budget: int, classes: int, split_axis: str,
           line: bool, images: bool) -> str:
    """'memmap' or 'streamed' for one survey, by `source` (data.source); auto: streamed when the
    decoded survey is larger than `cache_budget` and the split allows it. Said in the log either
    way."""
    size, budget = decoded_bytes(group, classes), int(cache_budget)
    why = ("an image stack" if images else "a 2D line" if line else
           "split along crosslines (validation would re-read the survey for every crossline)"
           if split_axis == "crossline" else None)
    name, gib = Path(store).name, _size
    if source == "streamed" and why:
        raise ConfigError(f"data.source streamed reads blocks of traces over the training lines; this store is "
                          f"{why}", where=store,
                          fix="use data.source: memmap (or auto)" + ("" if images or line else
                                                                    ", or split along inlines"))
    if source == "memmap" or (source == "auto" and (size <= budget or why)):
        if source == "auto" and size > budget:
            log.warning("%s: %s decoded, larger than data.cache_budget %s, but %s: a memory-mapped copy is made",
                        name, gib(size), gib(budget), why)
        return "memmap"
    log.info("%s: %s decoded%s: tiles streamed from the store in slabs, no copy", name, gib(size),
             f" > data.cache_budget {gib(budget)}" if source == "auto" else " (data.source streamed)")
    return "streamed"


def lazy_variables(group: zarr.Group, store: str, cache: Path, *, label: str, classes: int, transform) -> tuple:
    """A streamed survey's amplitude and its `label` variable as LazyLines (chunk row by chunk
    row)."""
    readers = (LineReader(store, schema.AMPLITUDE, np.float32, finite),
               LineReader(store, label, label_dtype(classes), transform))
    return tuple(LazyLines(r, str(cache / f"{r.name}-{_key(group, r.name, r.dtype, None)}.stream")) for r in readers)


def _size(n) -> str:
    return ByteSize(max(0, int(n))).human_readable()


def _trace_bytes(survey) -> int:
    """Decoded bytes (amplitude and label) of one trace."""
    return survey.amplitude.shape[2] * (4 + survey.label.dtype.itemsize)


def tile_extents(tile: tuple[int, ...], along: int | None) -> tuple[int, int]:
    """Traces a tile spans along (inline, crossline): a section cut across axis `along`
    spans one line of it and tile[0] of the other; a cube tile[0] x tile[1]."""
    if along is None:
        return tile[0], tile[1]
    return (1, tile[0]) if along == 0 else (tile[0], 1)


def _slab_geometry(survey, tile: tuple[int, ...], along: int | None) -> dict:
    """Where a streamed survey's slabs for one kind of tile lie (the training traces), and
    the smallest slab: one chunk of starts along each axis plus what its tiles reach."""
    shape, chunks = survey.amplitude.shape, survey.amplitude.reader.array.chunks
    regions = [(0, shape[0]), (0, shape[1])]
    regions[survey.axis] = survey.train
    reaches = tile_extents(tile, along)
    smallest = math.prod(min(c + r - 1, n[1] - n[0]) for c, r, n in zip(chunks, reaches, regions))
    return {"along": along, "regions": regions, "reaches": reaches, "chunks": tuple(chunks[:2]),
            "smallest": smallest * _trace_bytes(survey),
            "kind": {None: "cubes", 0: "inline sections", 1: "crossline sections"}[along]}


def slab_stream(survey, tile: tuple[int, ...], slab_reuse: float, geometry: dict, budget: int) -> SlabStream:
    """The slabs of a streamed survey for one kind of tile in a buffer of `budget` bytes (at
    least two of the smallest slabs: plan_streams checks), each read giving about
    `slab_reuse` x its tile volumes in tiles."""
    g = geometry
    extents = [r[1] - r[0] for r in g["regions"]]
    lengths, resident = slab_layout(extents, g["chunks"], g["reaches"], _trace_bytes(survey), budget)
    slabs = plan_slabs(g["regions"], lengths, g["reaches"])
    tile_voxels = int(np.prod(tile)) if len(tile) == 3 else tile[0] * tile[1]
    tiles = slab_reuse * lengths[0] * lengths[1] * survey.amplitude.shape[2] / tile_voxels
    held = min(resident, len(slabs))
    size = math.prod(h - lo for lo, h in slabs[0].lines) * _trace_bytes(survey)
    log.info("%s: %s from %d slabs of %d x %d traces, %d resident (%s of data.cache_budget)", survey.name, g["kind"],
             len(slabs), *lengths, held, _size((held + 1) * size))
    return SlabStream(survey.amplitude.reader.fresh(), survey.label.reader.fresh(), slabs, resident, tiles)


def stream_kinds(survey, dims: int) -> tuple[int | None, ...]:
    """The kinds of tile a streamed survey cuts, each from its own slabs: the 2D section
    directions (0: inline sections), or None for cubes."""
    return (None,) if dims == 3 else tuple(survey.directions)


def plan_streams(surveys: list, *, tile: tuple[int, ...], cache_budget: int, slab_reuse: float, workers: int) -> None:
    """Give each streamed survey of a run its slabs for tiles of `tile` (2 sizes: sections,
    3: cubes). `cache_budget` (data.cache_budget) is per rank: less one
    chunk row per streamed survey (what validation reads at a time), shared among the streamed
    surveys in proportion to their size, among their kinds of tile, and among the loader
    workers that cut tiles (each holds its own slabs). A budget that cannot hold two of every
    kind's smallest slabs per worker is refused, naming the budget that would."""
    streamed = [s for s in surveys if s.source == "streamed" and s.train[1] > s.train[0]]
    if not streamed:
        return
    parts = max(1, workers)
    rows = sum(s.amplitude.reader.chunk * s.amplitude.shape[1] * _trace_bytes(s) for s in streamed)
    total = sum(int(np.prod(s.amplitude.shape)) for s in streamed)
    plans = []  # (survey, geometry, fraction of the budget)
    for s in streamed:
        kinds = stream_kinds(s, len(tile))
        plans += [(s, _slab_geometry(s, tile, along), int(np.prod(s.amplitude.shape)) / total / len(kinds))
                  for along in kinds]
    need = rows + max(2 * g["smallest"] * parts / f for _, g, f in plans)
    if int(cache_budget) < need:
        s, g, f = max(plans, key=lambda p: p[1]["smallest"] / p[2])
        left = _size((int(cache_budget) - rows) * f / parts)
        each = "" if parts == 1 else f" of each of {parts} loader workers"
        c0, c1 = g["chunks"]
        raise ConfigError(f"data.cache_budget {_size(cache_budget)} leaves {left} for the slabs of {g['kind']}"
                          f"{each}, fewer than two slabs of {c0} x {c1} traces and what their tiles reach (each "
                          f"{_size(g['smallest'])})",
                          where=s.name, fix=f"raise data.cache_budget to at least {_size(math.ceil(need))}, or use "
                                            "fewer loader workers, data.sections inline, or smaller tiles")
    for s in streamed:
        s.streams = {}
    for s, g, f in plans:
        s.streams[g["along"]] = slab_stream(s, tile, slab_reuse, g, int((int(cache_budget) - rows) * f / parts))
