"""Training on a survey labelled on a few lines (a sparse label, seisfuse.io.sparse).

The decoded label copy keeps the unlabelled voxels as a code (255 in a uint8 copy, -1 in an
int64 one); a tile's loss and metrics see labelled pixels only (its `valid` is False
elsewhere), so a tile may reach into unlabelled traces, which carry no loss.

The split is by labelled line: data.split.val_lines, else the last val_fraction of the
labelled lines along split.axis (the other direction's when that one has fewer than two).
Training sections are drawn from the other labelled lines, except those within `gap` of a
validation line; the traces within `gap` of a validation line (its crossing points with the
training lines among them) are never in a training tile's loss. Validation sections are the
validation lines themselves, scored on their own traces only.
"""

from __future__ import annotations

import logging
import re

import numpy as np

from seisfuse.config.train import SplitConfig
from seisfuse.errors import ConfigError

log = logging.getLogger("seisfuse")
DIRECTION = {"inline": 0, "crossline": 1}


def code(dtype) -> int:
    """The unlabelled code of a decoded label copy of this dtype."""
    return 255 if np.dtype(dtype) == np.uint8 else -1


def to_classes(unlabelled: float, classes_of, dtype):
    """The transform of a sparse label's blocks: class numbers where labelled (`classes_of`:
    checked as a dense label is, seisfuse.data.sources.class_labels), the copy's code where not."""
    mark = code(dtype)

    def transform(block: np.ndarray) -> np.ndarray:
        unknown = block == unlabelled
        if block.dtype.kind == "f":
            unknown |= np.isnan(block)
        out = np.full(block.shape, mark, dtype)
        if (~unknown).any():
            out[~unknown] = classes_of(block[~unknown])
        return out

    return transform


def refuse_unsupported(store: str, *, label: str, dims: int, source: str, images: bool, line: bool) -> None:
    if dims == 3:
        raise ConfigError(f"label {label!r} is labelled on lines only (a sparse label): 3D cubes would train "
                          "almost wholly on unlabelled voxels", where=store,
                          fix="train it with data.dims: 2 (sections along the labelled lines)")
    if images or line:
        raise ConfigError(f"a sparse label {label!r} in {'an image stack' if images else 'a 2D line'}: "
                          "sparse labels are labels on lines of a 3D survey", where=store,
                          fix="label the whole image or line (seisfuse ingest ... --var)")
    if source == "streamed":
        raise ConfigError(f"label {label!r} is sparse: its sections are drawn from the labelled lines of a "
                          "memory-mapped copy, not from streamed slabs", where=store,
                          fix="use data.source: memmap (or auto)")


def labelled_lines(label: np.ndarray, valid: np.ndarray, dtype) -> dict[int, np.ndarray]:
    """Indices of the lines whose live traces are all labelled: {0: inlines, 1: crosslines}."""
    mark, traces = code(dtype), np.zeros(valid.shape, bool)
    for i in range(0, label.shape[0], 16):  # by blocks of lines: bounded memory
        traces[i:i + 16] = (np.asarray(label[i:i + 16]) != mark).any(axis=-1)
    labelled = traces | ~valid
    return {0: np.flatnonzero(labelled.all(axis=1) & valid.any(axis=1)),
            1: np.flatnonzero(labelled.all(axis=0) & valid.any(axis=0))}


def _chosen(val_lines: list[str], numbers: dict[int, np.ndarray], lines: dict[int, np.ndarray], store: str):
    """The validation lines {direction: indices} of data.split.val_lines, each checked."""
    chosen = {0: [], 1: []}
    for text in val_lines:
        name, number = re.match(r"^(inline|crossline)[ :_]?(-?[0-9]+)$", text).groups()
        d = DIRECTION[name]
        hits = np.flatnonzero(numbers[d] == int(number))
        if not hits.size or hits[0] not in lines[d]:
            labelled = ", ".join(str(numbers[d][i]) for i in lines[d]) or "none"
            raise ConfigError(f"data.split.val_lines names {text}, not a labelled {name} (labelled: {labelled})",
                              where=store, fix="choose validation lines among the labelled lines")
        chosen[d].append(int(hits[0]))
    return chosen


def split(rules: SplitConfig, label: str, numbers: dict[int, np.ndarray], lines: dict[int, np.ndarray], store: str,
          held_out: bool | None) -> tuple[dict, dict]:
    """(training lines, validation lines), each {direction: indices}, of the sparse `label` by
    the split `rules` (data.split: val_lines, else val_fraction along axis; gap). held_out: the
    survey is one of data.split.val_stores (True) or not (False); None when the split is within it."""
    total = sum(len(v) for v in lines.values())
    if total == 0:
        raise ConfigError(f"label {label!r} has no fully labelled line", where=store,
                          fix="import masks of whole lines (seisfuse labels import)")
    if held_out is not None:
        empty = {0: np.array([], int), 1: np.array([], int)}
        return (empty, lines) if held_out else (lines, empty)
    if rules.val_lines:
        val = _chosen(rules.val_lines, numbers, lines, store)
    else:
        if total < 2:
            raise ConfigError(f"label {label!r} is labelled on one line: none is left to validate on", where=store,
                              fix="label a second line, or validate on another store (data.split.val_stores)")
        d = DIRECTION[rules.axis]
        d = d if len(lines[d]) >= 2 else 1 - d
        n_val = max(1, int(round(rules.val_fraction * len(lines[d]))))
        val = {d: list(lines[d][-n_val:]), 1 - d: []}
    val = {d: np.array(sorted(v), int) for d, v in val.items()}
    train = {d: np.array([i for i in lines[d] if not len(val[d]) or np.abs(val[d] - i).min() > rules.gap], int)
             for d in (0, 1)}
    if not sum(len(v) for v in train.values()):
        raise ConfigError(f"every labelled line validates or lies within data.split.gap {rules.gap} of a "
                          "validation line: none is left to train on", where=store,
                          fix="lower data.split.gap or validate on fewer lines")
    return train, val


def masks(valid: np.ndarray, val: dict[int, np.ndarray], gap: int) -> tuple[np.ndarray, np.ndarray]:
    """(training traces, validation traces): live traces away from the validation lines by
    more than `gap`, and the live traces of the validation lines."""
    near, on = np.zeros(valid.shape, bool), np.zeros(valid.shape, bool)
    for i in val[0]:
        near[max(0, i - gap):i + gap + 1] = True
        on[i] = True
    for j in val[1]:
        near[:, max(0, j - gap):j + gap + 1] = True
        on[:, j] = True
    return valid & ~near, valid & on


def describe(name: str, numbers: dict[int, np.ndarray], train: dict, val: dict) -> None:
    def said(lines: dict) -> str:
        return "; ".join(f"{('inlines', 'crosslines')[d]} {', '.join(str(numbers[d][i]) for i in lines[d])}"
                         for d in (0, 1) if len(lines[d])) or "none"

    log.info("%s: sparse labels: training lines %s; validation lines %s", name, said(train), said(val))


def known(label: np.ndarray, valid: np.ndarray, mark: int) -> tuple[np.ndarray, np.ndarray]:
    """A tile's label and valid with its unlabelled pixels out of the loss (label 0 there)."""
    labelled = label != mark
    return np.where(labelled, label, 0).astype(label.dtype), valid & labelled


def validation_sections(survey, *, tile: tuple[int, ...], val_stride: float):
    """The validation tiles of a sparse survey: a grid over each validation line, scored on
    its labelled pixels (each pixel once per line)."""
    from seisfuse.data.tiles import _crop, valid_2d
    from seisfuse.data.validation import first_covered
    from seisfuse.tiling.grid import starts as tile_starts

    shape = survey.amplitude.shape
    for d in (0, 1):
        laterals, times = (tile_starts(n, t, overlap=1 - val_stride) for n, t in ((shape[1 - d], tile[0]),
                                                                                       (shape[2], tile[1])))
        own_l, own_t = first_covered(laterals, tile[0]), first_covered(times, tile[1])
        for index in survey.val_lines[d]:
            take = (lambda a, i=index: a[i]) if d == 0 else (lambda a, i=index: a[:, i])
            for a, lateral in enumerate(laterals):
                for b, t in enumerate(times):
                    once = own_l[a][:, None] & own_t[b][None, :]
                    label, valid = known(_crop(take(survey.label), (lateral, t), tile),
                                         valid_2d(take(survey.val_valid), lateral, t, tile, shape[2]) & once,
                                         survey.unknown)
                    yield survey.normalize(_crop(take(survey.amplitude), (lateral, t), tile)), label, valid
