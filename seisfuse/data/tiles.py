"""Tiles from stores: the decoded survey kept as a memory-mapped copy, split by space, and
tiles drawn as pure functions of (seed, step).

Reading tiles straight from compressed chunks decompresses a whole chunk per tile (tens of
tiles/s); a decoded memory-mapped copy of each survey, made once per run, serves thousands
per second and keeps RAM use to the page cache.

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
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import zarr

from seisfuse import stats
from seisfuse.config.train import DataConfig
from seisfuse.data import augment
from seisfuse.data.normalize import Normalizer
from seisfuse.errors import ConfigError
from seisfuse.io import integrity, schema
from seisfuse.progress import Progress
from seisfuse.tiling.grid import starts as tile_starts

AXES = {"inline": 0, "crossline": 1}


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

    def normalize(self, values: np.ndarray) -> np.ndarray:
        if self.normalizer is None:
            raise ConfigError(f"survey {self.name} has no normaliser: no survey of the run has training lines",
                              fix="give data.stores at least one survey that is not in data.split.val_stores")
        return self.normalizer(values)


def training_statistics(survey: Survey, lines_per_block: int = 8) -> dict:
    """Amplitude statistics (moments and percentiles) of the live traces in the training lines."""
    lo, hi = survey.train
    n_blocks = max(1, -(-(hi - lo) // lines_per_block))
    summary = stats.StreamingStats(per_block=max(1024, (1 << 20) // n_blocks))
    for start in range(lo, hi, lines_per_block):
        part = [slice(None), slice(None)]
        part[survey.axis] = slice(start, min(start + lines_per_block, hi))
        live = np.asarray(survey.valid[tuple(part)])
        if live.any():
            summary.update(np.asarray(survey.amplitude[tuple(part)])[live])
    return summary.summary()


def _cache_copy(group: zarr.Group, name: str, cache: Path, dtype, transform=None) -> np.ndarray:
    """A decoded .npy copy of a store variable, written chunk row by chunk row, reused if complete."""
    array = group[name]
    # the store's creation time and the variable's statistics: a store rebuilt at the same path
    # (new data, same shape) must not reuse a stale copy; "decoded": the copy's content format
    identity = ["decoded", str(group.store), name, list(array.shape), str(dtype), group.attrs.get("created"),
                array.attrs.get("statistics")]
    key = hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()[:16]
    path = cache / f"{name}-{key}.npy"
    done = path.with_suffix(".done")
    if done.exists():
        return np.load(path, mmap_mode="r")
    cache.mkdir(parents=True, exist_ok=True)
    out = np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=array.shape)
    step = array.chunks[0]
    with Progress(array.shape[0], f"decode {name} for training", unit="line") as bar, \
            integrity.reading(schema.where(group), name):
        for i in range(0, array.shape[0], step):
            block = array[i:i + step]
            out[i:i + step] = transform(block) if transform else block
            bar.update(min(step, array.shape[0] - i))
    out.flush()
    del out
    done.touch()
    return np.load(path, mmap_mode="r")


def data_identity(store: str, label: str) -> dict:
    """What a run trains on, by content: the shapes and exact statistics of the amplitude and
    the label. A store rebuilt from the same data matches; different data (or a moved and
    changed store) does not."""
    group = schema.open_group(store)
    return {"amplitude": {"shape": list(group[schema.AMPLITUDE].shape), "statistics": group.attrs.get("statistics")},
            label: {"shape": list(group[label].shape), "statistics": group[label].attrs.get("statistics")}}


def class_labels(block: np.ndarray, cfg: DataConfig, store: str) -> np.ndarray:
    """A block of a label variable as class indices, refusing what is not a label: values that
    are not whole numbers (a probability variable), or outside 0..classes-1 (0/1 for binary)."""
    if np.iscomplexobj(block) or not np.issubdtype(block.dtype, np.number):
        raise ConfigError(f"label {cfg.label!r} has dtype {block.dtype}, not class numbers", where=store,
                          fix="choose a label variable of whole class numbers (data.label)")
    fraction = block != np.rint(block) if np.issubdtype(block.dtype, np.floating) else None
    if fraction is not None and fraction.any():
        raise ConfigError(f"label {cfg.label!r} holds values that are not whole numbers (e.g. "
                          f"{float(block[fraction][0]):.6g}): a probability or an amplitude, not a class label",
                          where=store, fix="train on a label of class numbers (threshold a probability first)")
    top = cfg.classes - 1 if cfg.task == "multiclass" else 1
    low, high = float(block.min()), float(block.max())
    if low < 0 or high > top:
        raise ConfigError(f"label {cfg.label!r} holds values {low:g}..{high:g}, outside 0..{top} "
                          f"(data.task {cfg.task}, data.classes {cfg.classes})", where=store,
                          fix="set data.classes (and data.task: multiclass) to the number of classes the label has")
    return block.astype(np.int64) if cfg.task == "multiclass" else (block > 0)


def load_survey(store: str, cfg: DataConfig, cache: Path,
                normalizer: Normalizer | None = None) -> tuple[Survey, Normalizer]:
    group = schema.open_group(store)
    integrity.require_intact(group, [n for n in (schema.AMPLITUDE, schema.TRACE_MASK, cfg.label) if n in group])
    if cfg.label not in schema.complete_variables(group):
        raise ConfigError(f"the store has no complete label variable {cfg.label!r}", where=store,
                          fix=f"choose data.label from {schema.complete_variables(group)} or ingest one with --var")
    if group.attrs.get("spatial_dims") != ["inline", "crossline"]:
        raise ConfigError("training needs a 3D (inline, crossline, sample) store", where=store)
    amplitude = _cache_copy(group, schema.AMPLITUDE, cache, np.float32)
    label = _cache_copy(group, cfg.label, cache, np.int64 if cfg.task == "multiclass" else np.uint8,
                        lambda b: class_labels(b, cfg, store))
    valid = group[schema.TRACE_MASK][:]
    axis = AXES[cfg.split.axis]
    n = amplitude.shape[axis]
    if cfg.split.val_stores:  # split by survey: whole surveys train, whole surveys validate
        held_out = any(Path(store).resolve() == Path(v).resolve() for v in cfg.split.val_stores)
        train, val = ((0, 0), (0, n)) if held_out else ((0, n), (n, n))
    else:
        n_val = max(1, int(round(cfg.split.val_fraction * n)))
        train = (0, n - n_val - cfg.split.gap)
        val = (n - n_val, n)
        if train[1] - train[0] < 1:
            raise ConfigError(f"the training part of {store} along {cfg.split.axis} has {train[1] - train[0]} "
                              f"lines after the {n_val}-line validation part and the {cfg.split.gap}-line gap",
                              fix="lower data.split.val_fraction or data.split.gap, or use a larger survey")
    survey = Survey(Path(store).name, amplitude, label, valid, train, val, axis)
    if normalizer is None and train[1] > train[0]:  # the first survey with training lines sets it
        # kept beside the decoded copy: a later run on the same survey and split reads it back
        saved = Path(amplitude.filename).with_suffix(f".train-{axis}-{train[0]}-{train[1]}.json")
        if saved.exists():
            statistics = json.loads(saved.read_text())
        else:
            statistics = training_statistics(survey)
            saved.write_text(json.dumps(statistics))
        normalizer = Normalizer.from_statistics(statistics, cfg.normalization, cfg.clip_percentile)
    survey.normalizer = normalizer
    return survey, normalizer


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


def sample_tile(survey: Survey, cfg: DataConfig, rng: np.random.Generator, region: tuple[int, int]):
    """One random tile inside `region` (a line range along the split axis):
    returns image, label, valid as (H, W) for 2D or (D, H, W) for 3D."""
    tile, ns = cfg.tile, survey.amplitude.shape[2]
    ranges = [(0, survey.amplitude.shape[0]), (0, survey.amplitude.shape[1])]
    ranges[survey.axis] = region
    if cfg.dims == 3:
        starts = [_window(rng, *ranges[0], tile[0]), _window(rng, *ranges[1], tile[1]), _window(rng, 0, ns, tile[2])]
        cut = lambda a: _crop(a, starts, tile)  # noqa: E731
        valid = np.broadcast_to(_crop(survey.valid, starts[:2], tile[:2])[..., None], tile)
        return survey.normalize(cut(survey.amplitude)), cut(survey.label), np.ascontiguousarray(valid)
    directions = {"inline": [0], "crossline": [1], "both": [0, 1]}[cfg.sections]
    along = directions[int(rng.integers(len(directions)))]  # the axis the section is cut across
    across = 1 - along
    index = _window(rng, *ranges[along], 1)
    lateral = _window(rng, *ranges[across], tile[0])
    start_t = _window(rng, 0, ns, tile[1])
    take = (lambda a: a[index]) if along == 0 else (lambda a: a[:, index])
    image = survey.normalize(_crop(take(survey.amplitude), (lateral, start_t), tile))
    label = _crop(take(survey.label), (lateral, start_t), tile)
    valid = _crop(take(survey.valid), (lateral,), tile[:1])
    return image, label, np.ascontiguousarray(np.broadcast_to(valid[:, None], tile))


def training_batch(surveys: list[Survey], cfg: DataConfig, seed: int, step: int, batch: int, offset: int = 0):
    """Tiles offset..offset+batch-1 of the global batch of `step`: a pure function of its
    arguments, so each rank of a distributed run takes its slice of the same global batch."""
    transform = augment.build_2d(cfg.augment) if cfg.dims == 2 else None
    images, labels, valids = [], [], []
    for k in range(offset, offset + batch):
        rng = np.random.default_rng([seed, step, k])
        training = [s for s in surveys if s.train[1] > s.train[0]]
        survey = training[int(rng.integers(len(training)))]
        image, label, valid = sample_tile(survey, cfg, rng, survey.train)
        if cfg.oversample_foreground and rng.random() < cfg.oversample_foreground:
            for _ in range(20):  # redraw until the tile holds the rare class
                if label.any():
                    break
                image, label, valid = sample_tile(survey, cfg, rng, survey.train)
        if cfg.dims == 2:
            image, label, valid = augment.apply_2d(transform, image, label, valid.astype(np.uint8),
                                                   int(rng.integers(2**31)))
        else:
            image, label, valid = augment.apply_3d(cfg.augment, image, label, valid, rng)
        images.append(image)
        labels.append(label)
        valids.append(valid)
    return np.stack(images)[:, None], np.stack(labels), np.stack(valids).astype(bool)


def validation_tiles(survey: Survey, cfg: DataConfig):
    """A fixed grid of tiles over the validation lines (inline sections or cubes)."""
    tile, (lo, hi) = cfg.tile, survey.val
    shape = survey.amplitude.shape
    # the prediction grid's starts (evenly spread, the last tile at the border), spaced at most
    # val_stride of a tile apart
    starts = lambda n, t: tile_starts(n, t, overlap=1 - cfg.val_stride)  # noqa: E731
    if cfg.dims == 3:
        ranges = [(0, shape[0]), (0, shape[1])]
        ranges[survey.axis] = (lo, hi)
        for i in starts(ranges[0][1] - ranges[0][0], tile[0]):
            for j in starts(ranges[1][1] - ranges[1][0], tile[1]):
                for t in starts(shape[2], tile[2]):
                    pos = (ranges[0][0] + i, ranges[1][0] + j, t)
                    valid = np.broadcast_to(_crop(survey.valid, pos[:2], tile[:2])[..., None], tile)
                    yield survey.normalize(_crop(survey.amplitude, pos, tile)), _crop(survey.label, pos, tile), valid
        return
    for index in range(lo, hi):  # sections across the split axis, inside the validation lines
        take = (lambda a, i=index: a[i]) if survey.axis == 0 else (lambda a, i=index: a[:, i])
        width = shape[1 - survey.axis]
        for lateral in starts(width, tile[0]):
            for t in starts(shape[2], tile[1]):
                valid = np.broadcast_to(_crop(take(survey.valid), (lateral,), tile[:1])[:, None], tile)
                yield (survey.normalize(_crop(take(survey.amplitude), (lateral, t), tile)),
                       _crop(take(survey.label), (lateral, t), tile), valid)
