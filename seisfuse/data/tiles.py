"""Tiles from stores: each survey split by space, and tiles drawn as pure functions of
(seed, step), cut from a decoded memory-mapped copy of the survey or from slabs streamed
from the store (seisfuse.data.sources chooses, by data.source and the survey's size).

Split: along `split.axis`, the last `val_fraction` of the lines validate; `gap` lines before
them are used by neither side; no training tile reaches into the gap (tested).

Normalisation: the copy holds the decoded amplitudes; tiles are normalised as they are cut,
with statistics of the live traces in the training lines only (of the first survey that has
training lines), so nothing of the validation lines leaks into training, and prediction
normalises its tiles the same way from the checkpoint.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seisfuse import stats
from seisfuse.config.train import AugmentConfig, SplitConfig
from seisfuse.data import augment, sparse
from seisfuse.data.normalize import Normalizer
from seisfuse.data.slabs import Partition, SlabStream
from seisfuse.data.sources import choose, class_labels, decoded_copy, finite, lazy_variables, tile_extents
from seisfuse.data.stacks import image_order
from seisfuse.errors import ConfigError
from seisfuse.io import integrity, schema
from seisfuse.io.sparse import unlabelled_value

AXES = {"inline": 0, "crossline": 1}
log = logging.getLogger("seisfuse")


@dataclass
class Survey:
    """One store's decoded amplitude, label and mask (memory-mapped), and its split."""

    name: str
    amplitude: np.ndarray  # (inline, crossline, sample) float32, as decoded (not normalised)
    label: np.ndarray  # same shape, uint8 (binary) or class index
    valid: np.ndarray  # (inline, crossline) bool: live traces
    train: tuple[int, int]  # line range [start, stop) along the split axis
    val: tuple[int, int]
    axis: int
    normalizer: Normalizer | None = None  # applied to every tile as it is cut
    images: bool = False  # an image stack (one image per inline): tiles never cross images
    directions: tuple[int, ...] = (0, 1)  # axes that 2D sections are cut across (0: inlines)
    source: str = "memmap"  # or "streamed": amplitude and label are LazyLines, tiles come from `streams`
    # a streamed survey's slabs by the kind of tile they serve: the section direction (0: inline
    # sections), None for cubes (seisfuse.data.sources.plan_streams)
    streams: dict[int | None, SlabStream] | None = None
    owned: tuple[int, int] | None = None  # a slab: tiles start in its first owned[k] traces along axis k
    # a sparse label (seisfuse.data.sparse): the code of its unlabelled voxels in `label`, the
    # training and validation lines by direction (0: inline indices), the validation traces
    # (`valid` then holds the training traces: away from the validation lines)
    unknown: int | None = None
    lines: dict[int, np.ndarray] | None = None
    val_lines: dict[int, np.ndarray] | None = None
    val_valid: np.ndarray | None = None

    def training_voxels(self) -> int:
        """Live voxels of the training lines (counted once, then kept)."""
        if getattr(self, "_training_voxels", None) is None:
            part = [slice(None), slice(None)]
            part[self.axis] = slice(*self.train)
            self._training_voxels = int(np.asarray(self.valid[tuple(part)]).sum()) * self.amplitude.shape[2]
        return self._training_voxels

    def normalize(self, values: np.ndarray) -> np.ndarray:
        if self.normalizer is None:
            raise ConfigError(f"survey {self.name} has no normaliser: no survey of the run has training lines",
                              fix="give data.stores at least one survey that is not in data.split.val_stores")
        return self.normalizer(values)


def training_statistics(surveys: Survey | list[Survey], lines_per_block: int = 8) -> dict:
    """Amplitude statistics (moments and percentiles) of the live traces in the training lines
    of one survey, or pooled over several (each voxel counts once, whichever store it is in)."""
    surveys = [surveys] if isinstance(surveys, Survey) else surveys
    n_blocks = sum(max(1, -(-(s.train[1] - s.train[0]) // lines_per_block)) for s in surveys)
    summary = stats.StreamingStats(per_block=max(1024, (1 << 20) // n_blocks))
    for survey in surveys:
        lo, hi = survey.train
        for start in range(lo, hi, lines_per_block):
            part = [slice(None), slice(None)]
            part[survey.axis] = slice(start, min(start + lines_per_block, hi))
            live = np.asarray(survey.valid[tuple(part)])
            if live.any():
                summary.update(np.asarray(survey.amplitude[tuple(part)])[live])
    return summary.summary()


def fit_normalizer(surveys: list[Survey], *, normalization: str, clip_percentile: float,
                   over: str = "pooled") -> Normalizer:
    """The run's `normalization` from statistics of the training lines pooled over every
    survey that has some (`over`: pooled), or of the first such survey (first), kept beside the
    decoded copies so that a later run on the same data and split reads them back."""
    training = [s for s in surveys if s.train[1] > s.train[0]]
    if not training:
        raise ConfigError("no survey has training lines", fix="leave at least one of data.stores out of "
                                                               "data.split.val_stores")
    used = training if over == "pooled" else training[:1]
    key = hashlib.sha256(json.dumps([[Path(s.amplitude.filename).name, s.axis, *s.train]
                                     + ([] if s.val_lines is None else [v.tolist() for v in s.val_lines.values()])
                                     for s in used]).encode())
    saved = Path(used[0].amplitude.filename).with_name(f"normalization-{key.hexdigest()[:16]}.json")
    if saved.exists():
        statistics = json.loads(saved.read_text())
    else:
        statistics = training_statistics(used)
        saved.parent.mkdir(parents=True, exist_ok=True)
        saved.write_text(json.dumps(statistics))
    return Normalizer.from_statistics(statistics, normalization, clip_percentile)


def _directions(shape, sections: str, dims: int, images: bool, store: str) -> tuple[int, ...]:
    """The section directions that give real tiles: an image stack is cut along its images
    only, and a direction whose sections would be one trace wide (a one-inline store cut at a
    crossline) is skipped, each said once, instead of edge-padding a trace into a tile."""
    wanted = {"inline": (0,), "crossline": (1,), "both": (0, 1)}[sections]
    if images:
        if sections == "both" and dims == 2:
            log.info("%s: an image stack: sections along its images only (crossline cuts would cross images)",
                     Path(store).name)
        return (0,)
    kept = tuple(d for d in wanted if shape[1 - d] > 1)
    for d in set(wanted) - set(kept):
        log.info("%s: no %s sections: the store has one %s, so each would be a single trace", Path(store).name,
                 "inline" if d == 0 else "crossline", "crossline" if d == 0 else "inline")
    if not kept and dims == 2:
        raise ConfigError(f"a store of {shape[0]} x {shape[1]} traces gives no {sections} sections", where=store,
                          fix="choose data.sections along the store's longer axis")
    return kept


def load_survey(store: str, cache: Path, *, label: str, task: str, classes: int, tile: tuple[int, ...],
                sections: str, split: SplitConfig, source: str, cache_budget: int, normalization: str,
                clip_percentile: float, normalizer: Normalizer | None = None,
                fit: bool = True) -> tuple[Survey, Normalizer | None]:
    """One store as a Survey, for tiles of `tile` (2 sizes: `sections`; 3: cubes) of its `label`,
    split by the `split` rules, cut from a copy or streamed slabs (`source`, `cache_budget`).
    Its normaliser: `normalizer`, else (fit) one from its own training lines; training fits
    the run's normaliser over all its stores (fit_normalizer). Keywords: the data settings."""
    dims = len(tile)
    group = schema.open_group(store)
    integrity.require_intact(group, [n for n in (schema.AMPLITUDE, schema.TRACE_MASK, label) if n in group])
    if label not in schema.complete_variables(group):
        raise ConfigError(f"the store has no complete label variable {label!r}", where=store,
                          fix=f"choose data.label from {schema.complete_variables(group)} or ingest one with --var")
    line = group.attrs.get("spatial_dims") == ["trace"]  # a 2D line (or section): one inline, split by traces
    if line and dims == 3:
        raise ConfigError("a 2D line (trace, sample) gives no 3D cubes", where=store, fix="train it with data.dims: 2")
    images = group.attrs.get("collection") == "images"
    if (split.val_images or split.val_fold is not None) and not images:
        raise ConfigError("data.split.val_images is for image stacks; this store is a survey", where=store,
                          fix="split a survey by lines (val_fraction, gap) or by store (val_stores)")
    order, n_chosen = image_order(group, store, rules=split, dims=dims, sections=sections) if images else (None, 0)
    unlabelled = unlabelled_value(group[label])
    if unlabelled is not None:
        sparse.refuse_unsupported(store, label=label, dims=dims, source=source, images=images, line=line)
    cut_from = "memmap" if unlabelled is not None else choose(
        group, store, source=source, cache_budget=cache_budget, classes=classes, split_axis=split.axis, line=line,
        images=images)
    copy_dtype = np.int64 if task == "multiclass" else np.uint8
    classes_of = lambda b: class_labels(b, store, label=label, task=task, classes=classes)  # noqa: E731
    to_classes = sparse.to_classes(unlabelled, classes_of, copy_dtype) if unlabelled is not None else classes_of
    if cut_from == "streamed":
        amplitude, labels = lazy_variables(group, store, cache, label=label, classes=classes, transform=to_classes)
    else:
        amplitude = decoded_copy(group, schema.AMPLITUDE, cache, np.float32, finite, order=order)
        labels = decoded_copy(group, label, cache, copy_dtype, to_classes, order=order)
    valid = group[schema.TRACE_MASK][:]
    valid = valid if order is None else valid[order]
    axis = AXES[split.axis]
    if line:  # seen as a one-inline volume; the split runs along its traces (the gap in traces)
        amplitude, labels, valid, axis = amplitude[None], labels[None], valid[None], 1
    n = amplitude.shape[axis]
    held_out = any(Path(store).resolve() == Path(v).resolve() for v in split.val_stores)
    if unlabelled is not None:  # split by labelled line
        numbers = {0: np.asarray(group["inline"][...]), 1: np.asarray(group["crossline"][...])}
        lines, val_lines = sparse.split(split, label, numbers, sparse.labelled_lines(labels, valid, copy_dtype), store,
                                        held_out if split.val_stores else None)
        sparse.describe(Path(store).name, numbers, lines, val_lines)
        valid, val_valid = sparse.masks(valid, val_lines, split.gap)
        train = (0, n) if any(len(v) for v in lines.values()) else (0, 0)
        val = (0, n) if any(len(v) for v in val_lines.values()) else (n, n)
    elif images:  # split by image: the chosen images (moved last in the copy) validate, no gap
        n_val = n_chosen or max(1, int(round(split.val_fraction * n)))
        train, val = (0, n - n_val), (n - n_val, n)
    elif split.val_stores:  # split by survey: whole surveys train, whole surveys validate
        train, val = ((0, 0), (0, n)) if held_out else ((0, n), (n, n))
    else:
        n_val = max(1, int(round(split.val_fraction * n)))
        train = (0, n - n_val - split.gap)
        val = (n - n_val, n)
        if train[1] - train[0] < 1:
            raise ConfigError(f"the training part of {store} along {split.axis} has {train[1] - train[0]} "
                              f"lines after the {n_val}-line validation part and the {split.gap}-line gap",
                              fix="lower data.split.val_fraction or data.split.gap, or use a larger survey")
    if line and train[1] - train[0] < tile[0]:  # a tile wider than the training traces would reach the gap
        raise ConfigError(f"the line's {train[1] - train[0]} training traces are fewer than the tile's "
                          f"{tile[0]}", where=store, fix="use a smaller data.tile, or lower "
                                                             "data.split.val_fraction / gap")
    survey = Survey(Path(store).name, amplitude, labels, valid, train, val, 0 if images else axis, images=images,
                    directions=_directions(amplitude.shape, sections, dims, images, store), source=cut_from)
    if unlabelled is not None:
        survey.unknown, survey.lines, survey.val_lines, survey.val_valid = (sparse.code(copy_dtype), lines,
                                                                            val_lines, val_valid)
        if train[1] > train[0] and not any(len(lines[d]) for d in survey.directions):
            raise ConfigError(f"data.sections {sections}: none of the labelled training lines runs that way",
                              where=store, fix="use data.sections: both")
    if normalizer is None and fit and train[1] > train[0]:
        normalizer = fit_normalizer([survey], normalization=normalization, clip_percentile=clip_percentile)
    survey.normalizer = normalizer
    return survey, normalizer


def valid_2d(line_valid: np.ndarray, lateral: int, start_t: int, tile, ns: int) -> np.ndarray:
    """(H, W) live pixels of a 2D tile: live traces, and never the reflection padding of a
    section smaller than the tile (the loss and the metrics see only real pixels)."""
    traces = np.zeros(tile[0], bool)
    part = np.asarray(line_valid[lateral:lateral + tile[0]], bool)
    traces[:len(part)] = part
    samples = np.arange(start_t, start_t + tile[1]) < ns
    return traces[:, None] & samples[None, :]


def _window(rng: np.random.Generator, lo: int, hi: int, size: int) -> int:
    """Start of a window of `size` inside [lo, hi) (the whole range when it is shorter)."""
    return int(rng.integers(lo, max(lo, hi - size) + 1))


def _crop(array: np.ndarray, starts, sizes) -> np.ndarray:
    """A crop padded by reflection where the survey is smaller than the tile."""
    sl = tuple(slice(s, s + n) for s, n in zip(starts, sizes))
    out = np.asarray(array[sl])
    pad = [(0, n - o) for n, o in zip(sizes, out.shape)] + [(0, 0)] * (out.ndim - len(sizes))
    if any(p[1] for p in pad):
        out = np.pad(out, pad, mode="reflect" if min(out.shape[:len(sizes)]) > 1 else "edge")
    return out


def _starts_within(survey: Survey, ranges: list, extents: tuple[int, int]) -> list:
    """The trace ranges a tile of `extents` traces is cut from: within a slab, tiles start in
    its own traces only (they may reach beyond them)."""
    if survey.owned is None:
        return ranges
    return [(lo, min(hi, lo + n + e - 1)) for (lo, hi), n, e in zip(ranges, survey.owned, extents)]


def sample_tile(survey: Survey, tile: tuple[int, ...], rng: np.random.Generator, region: tuple[int, int],
                along: int | None = None):
    """One random tile of `tile` inside `region` (a line range along the split axis); a section
    across axis `along` (drawn when None): image, label, valid as (H, W) or (D, H, W)."""
    ns = survey.amplitude.shape[2]
    ranges = [(0, survey.amplitude.shape[0]), (0, survey.amplitude.shape[1])]
    ranges[survey.axis] = region
    if len(tile) == 3:
        ranges = _starts_within(survey, ranges, tile_extents(tile, None))
        starts = [_window(rng, *ranges[0], tile[0]), _window(rng, *ranges[1], tile[1]), _window(rng, 0, ns, tile[2])]
        cut = lambda a: _crop(a, starts, tile)  # noqa: E731
        valid = np.broadcast_to(_crop(survey.valid, starts[:2], tile[:2])[..., None], tile)
        return survey.normalize(cut(survey.amplitude)), cut(survey.label), np.ascontiguousarray(valid)
    directions = survey.directions if survey.lines is None else \
        tuple(d for d in survey.directions if len(survey.lines[d]))  # sparse: the labelled lines' directions
    if along is None:
        along = directions[int(rng.integers(len(directions)))]  # the axis the section is cut across
    across = 1 - along
    ranges = _starts_within(survey, ranges, tile_extents(tile, along))
    if survey.lines is None:
        index = _window(rng, *ranges[along], 1)
    else:  # a sparse label: a labelled training line
        index = int(survey.lines[along][int(rng.integers(len(survey.lines[along])))])
    # an image of a stack: inside its own width (narrower images are padded with missing traces)
    width = (0, int(survey.valid[index].sum())) if survey.images else ranges[across]
    lateral = _window(rng, *width, tile[0])
    start_t = _window(rng, 0, ns, tile[1])
    take = (lambda a: a[index]) if along == 0 else (lambda a: a[:, index])
    image = survey.normalize(_crop(take(survey.amplitude), (lateral, start_t), tile))
    label = _crop(take(survey.label), (lateral, start_t), tile)
    valid = valid_2d(take(survey.valid), lateral, start_t, tile, ns)
    return (image, label, valid) if survey.unknown is None else (image, *sparse.known(label, valid, survey.unknown))


def _streamed_tile(survey: Survey, tile: tuple[int, ...], rng: np.random.Generator, share: float, step: int,
                   seed: int, batch: int, partition: Partition):
    """A tile of a streamed survey: a section direction as sample_tile draws it, then one of
    the resident slabs for that kind of tile in proportion to the starts it serves, then the
    tile inside that slab (uniform over positions)."""
    along = None if len(tile) == 3 else survey.directions[int(rng.integers(len(survey.directions)))]
    stream = survey.streams[along]
    phase = step // stream.rotate_every(batch, share / len(survey.streams), partition)
    stops = [survey.amplitude.shape[0], survey.amplitude.shape[1]]
    stops[survey.axis] = survey.train[1]
    slab, (amplitude, label) = stream.draw(seed, partition, phase, tile_extents(tile, along), tuple(stops), rng)
    (a0, c0), (a1, c1) = slab.lines
    train = (0, (c0 - a0, c1 - a1)[survey.axis])  # the slab lies inside the training traces
    local = Survey(survey.name, amplitude, label, survey.valid[a0:c0, a1:c1], train, (0, 0), survey.axis,
                   survey.normalizer, directions=survey.directions,
                   owned=tuple(hi - lo for lo, hi in slab.owned))
    return sample_tile(local, tile, rng, local.train, along=along)


def training_batch(surveys: list[Survey], seed: int, step: int, batch: int, *, tile: tuple[int, ...],
                   augment_with: AugmentConfig, store_sampling: str, oversample_foreground: float, offset: int = 0,
                   partition: Partition | None = None):
    """Tiles offset..offset+batch-1 of the global batch of `step`: a pure function of its
    arguments, so each rank of a distributed run takes its slice of the same global batch.
    Streamed surveys cut them from the slabs that `partition` (this rank's loader worker)
    holds at `step`. Keywords: the data settings (augment_with: data.augment)."""
    partition = partition or Partition()
    on_loader = augment_with.on == "loader"  # "device": the training step augments the whole batch
    transform = augment.build_2d(augment_with) if len(tile) == 2 and on_loader else None
    training = [s for s in surveys if s.train[1] > s.train[0]]
    if store_sampling == "equal" or len(training) == 1:
        shares = np.full(len(training), 1 / len(training))
    else:  # uniform over tile positions: a store twice as large is drawn twice as often
        sizes = np.array([s.training_voxels() for s in training], dtype=np.float64)
        shares = sizes / sizes.sum()

    def draw(survey, share, rng):
        if survey.streams is None:
            return sample_tile(survey, tile, rng, survey.train)
        return _streamed_tile(survey, tile, rng, share, step, seed, batch, partition)

    images, labels, valids = [], [], []
    for k in range(offset, offset + batch):
        rng = np.random.default_rng([seed, step, k])
        if store_sampling == "equal" or len(training) == 1:
            pick = int(rng.integers(len(training)))
        else:
            pick = int(rng.choice(len(training), p=shares))
        survey = training[pick]
        image, label, valid = draw(survey, shares[pick], rng)
        if oversample_foreground and rng.random() < oversample_foreground:
            for _ in range(20):  # redraw until the tile holds the rare class
                if label.any():
                    break
                image, label, valid = draw(survey, shares[pick], rng)
        if len(tile) == 2:
            image, label, valid = augment.apply_2d(transform, image, label, valid.astype(np.uint8),
                                                   int(rng.integers(2**31)))
        elif on_loader:
            image, label, valid = augment.apply_3d(augment_with, image, label, valid, rng)
        images.append(image)
        labels.append(label)
        valids.append(valid)
    return np.stack(images)[:, None], np.stack(labels), np.stack(valids).astype(bool)
