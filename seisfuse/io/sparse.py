"""Sparse labels: a label variable labelled on a few lines of a survey, the rest unlabelled.

A label variable is sparse when its attribute `unlabelled` names the value of an unlabelled
voxel: 255 for the uint8 class labels written here (classes 0..254). Its attribute
`labelled_lines` records which lines carry labels ({"inline": [numbers], "crossline":
[numbers]}, the store's own line numbers), written with the variable, so that `info` and
training read it without a pass over the variable.

`seisfuse labels import STORE SRC --var NAME` reads per-line masks (LINE_NAME_RULE), from a
folder, a ZIP (the viewer's Save) or an image stack of `datasets prepare image-folder` whose
image names are line names, and places each at its line: every other trace keeps what it held
(unlabelled in a new variable); a mask pixel of 255 keeps the value under it too.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path

import numpy as np

from seisfuse.config.values import LINE_NAME_RULE
from seisfuse.errors import StoreError
from seisfuse.io import schema

UNLABELLED = 255  # the unlabelled value of the uint8 labels written here (classes 0..254)
LINE_NAME = re.compile(r"^(inline|crossline|iline|xline|il|xl)[_-]?(-?\d+)(?:[_-]mask)?(?:\.(png|tiff?|npy))?$",
                       re.IGNORECASE)
DIRECTIONS = {"inline": "inline", "iline": "inline", "il": "inline", "crossline": "crossline",
              "xline": "crossline", "xl": "crossline"}


def unlabelled_value(array) -> float | None:
    """The value that marks an unlabelled voxel (the attribute `unlabelled`), None for a label
    labelled everywhere."""
    value = array.attrs.get("unlabelled")
    return None if value is None else float(value)


def labelled_lines(array) -> dict[str, list[int]] | None:
    """{"inline": [...], "crossline": [...]} of a sparse label variable, None for a dense one."""
    if unlabelled_value(array) is None:
        return None
    lines = array.attrs.get("labelled_lines") or {}
    return {"inline": [int(n) for n in lines.get("inline", [])],
            "crossline": [int(n) for n in lines.get("crossline", [])]}


def ranges(numbers) -> str:
    """130, 140-150, 160: runs of consecutive numbers."""
    numbers = sorted(set(int(n) for n in numbers))
    runs, start = [], None
    for k, n in enumerate(numbers):
        start = n if start is None else start
        if k + 1 == len(numbers) or numbers[k + 1] != n + 1:
            runs.append(str(n) if n == start else f"{start}-{n}")
            start = None
    return ", ".join(runs) or "none"


def describe(array) -> str | None:
    """What `info` says of a sparse label variable: its labelled lines and pixels."""
    lines = labelled_lines(array)
    if lines is None:
        return None
    pixels = array.attrs.get("labelled_pixels")
    return (f"sparse: {len(lines['inline'])} inlines labelled ({ranges(lines['inline'])}), "
            f"{len(lines['crossline'])} crosslines ({ranges(lines['crossline'])})"
            + (f", {pixels} labelled pixels" if pixels is not None else "")
            + f"; unlabelled = {unlabelled_value(array):g}")


def parse_line_name(name: str) -> tuple[str, int] | None:
    """('inline' | 'crossline', number) of a mask's file name, None if it does not follow the rule."""
    found = LINE_NAME.match(Path(name).name)
    return None if found is None else (DIRECTIONS[found.group(1).lower()], int(found.group(2)))


def _decode(name: str, data: bytes) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        if name.lower().endswith(".npy"):
            return np.load(io.BytesIO(data), allow_pickle=False)
        with Image.open(io.BytesIO(data)) as image:
            if image.mode not in ("L", "P", "I", "I;16", "F"):
                raise StoreError(f"mask {name} is a {image.mode} image, not a single-channel mask of class numbers",
                                 fix="save masks as 8-bit greyscale (value = class number, 255 = unlabelled)")
            return np.asarray(image)
    except (ValueError, OSError, EOFError, UnidentifiedImageError) as exc:  # a damaged or foreign file
        raise StoreError(f"mask {name} cannot be read as {'NPY' if name.lower().endswith('.npy') else 'an image'}: "
                         f"{str(exc).splitlines()[0][:120]}", fix="save it again as PNG, TIFF or NPY (no pickled "
                                                                   "objects)") from None


def read_masks(src) -> tuple[list[tuple[str, str, int, np.ndarray]], dict]:
    """[(file name, direction, line number, mask)] from a folder or a ZIP, and the ZIP's
    labels.json (the viewer's) if any; files that do not follow the naming rule are refused
    by name when no mask is found at all."""
    src = Path(src)
    if zipfile.is_zipfile(src):
        with zipfile.ZipFile(src) as archive:
            entries = {n: archive.read(n) for n in archive.namelist() if not n.endswith("/")}
    elif src.is_dir():
        entries = {p.name: p.read_bytes() for p in sorted(src.iterdir()) if p.is_file()}
    else:
        raise StoreError("not a folder of masks, a ZIP of masks or an image-stack store", where=str(src),
                         fix=LINE_NAME_RULE)
    meta = json.loads(entries.pop("labels.json", b"{}") or b"{}")
    masks, ignored = [], []
    for name, data in sorted(entries.items()):
        line = parse_line_name(name)
        if line is None or not LINE_NAME.match(Path(name).name).group(3):
            ignored.append(name)
            continue
        masks.append((name, *line, _decode(name, data)))
    if not masks:
        raise StoreError(f"no mask named by a line in {src.name}" + (f" (found {', '.join(ignored[:5])})"
                                                                     if ignored else ""), where=str(src),
                         fix=LINE_NAME_RULE)
    return masks, meta


def stack_masks(stack: str, var: str) -> list[tuple[str, str, int, np.ndarray]]:
    """The masks of an image stack (`datasets prepare image-folder`) whose image names are line
    names: each image's `var` over its own width, as (samples, traces)."""
    group = schema.open_group(stack)
    names = list(group.attrs.get("image_names") or [])
    if var not in schema.complete_variables(group):
        raise StoreError(f"the image stack has no complete variable {var!r}", where=str(stack),
                         fix=f"choose --var from {schema.complete_variables(group)}")
    mask = group[schema.TRACE_MASK][...]
    out, unnamed = [], []
    for k, name in enumerate(names):
        line = parse_line_name(name)
        if line is None:
            unnamed.append(name)
            continue
        width = int(mask[k].sum())
        out.append((name, *line, np.asarray(group[var][k, :width, :]).T))
    if unnamed:
        raise StoreError(f"images {', '.join(unnamed[:5])} of the stack are not named by a line", where=str(stack),
                         fix=LINE_NAME_RULE)
    return out


def _place(name: str, direction: str, number: int, mask: np.ndarray, axes: dict, n_samples: int, classes: int | None,
           where: str) -> tuple[int, np.ndarray]:
    """The line index of a mask and its values as (traces, samples), every check made."""
    numbers = axes[direction]
    hits = np.flatnonzero(numbers == number)
    if not hits.size:
        raise StoreError(f"mask {name}: {direction} {number} is not a line of the survey ({direction}s "
                         f"{numbers.min()}..{numbers.max()})", where=where, fix="name the mask by the survey's "
                                                                                  "own line number")
    other = axes["crossline" if direction == "inline" else "inline"]
    expected = (n_samples, len(other))
    if mask.ndim != 2 or mask.shape != expected:
        how = ("transposed (rows must be samples, columns traces)" if mask.shape == expected[::-1] else
               "cropped or of another survey")
        raise StoreError(f"mask {name} has shape {mask.shape}, the {direction} is {expected} (samples x traces): "
                         f"{how}", where=where, fix="save the mask at the line's full size: rows = samples, "
                                                    "columns = traces")
    values = np.asarray(mask)
    if values.dtype.kind == "f":
        values = np.where(np.isnan(values), UNLABELLED, values)
    if values.dtype.kind not in "uif" or (values != np.round(values)).any() or values.min() < 0 or values.max() > 255:
        raise StoreError(f"mask {name} holds values that are not class numbers 0..254 (or 255, unlabelled)",
                         where=where, fix="write class numbers into the mask")
    values = values.astype(np.uint8)
    labelled = values[values != UNLABELLED]
    if classes is not None and labelled.size and labelled.max() >= classes:
        raise StoreError(f"mask {name} holds class {int(labelled.max())}, but the label has {classes} classes",
                         where=where, fix="name every class with --classes, or fix the mask")
    return int(hits[0]), values.T


def import_lines(store, src, var: str, *, classes: tuple[str, ...] = (), src_var: str | None = None) -> dict:
    """Place per-line masks into the label variable `var` of `store` (created if missing, all
    unlabelled), keeping every trace that no mask covers; returns what was imported."""
    from seisfuse.io.arrays import write_variable

    group = schema.open_group(store, mode="r+")
    where = schema.where(group)
    if schema.spatial_dims(group) != ("inline", "crossline"):
        raise StoreError("labels are imported by line into a 3D survey; this store is a 2D line", where=where,
                         fix="ingest the labelled line as a variable (seisfuse ingest ... --var)")
    if Path(src, "zarr.json").exists():
        masks, meta = stack_masks(str(src), src_var or var), {}
    else:
        masks, meta = read_masks(src)
    names = list(classes) or [str(c) for c in meta.get("class_names") or []]
    schema.check_new_variable(group, var, overwrite=True)
    shape = group[schema.AMPLITUDE].shape
    if var in group and group[var].attrs.get(schema.COMPLETE):
        old = group[var]
        if old.dtype != np.uint8:
            raise StoreError(f"variable {var!r} is {old.dtype}, not the uint8 class numbers that masks are imported "
                             "into", where=where, fix="import into a new --var name")
        recorded = [str(c) for c in old.attrs.get("class_names") or []]
        if names and recorded and names[:len(recorded)] != recorded:
            raise StoreError(f"classes {','.join(names)} differ from the class names of {var!r}: {','.join(recorded)}",
                             where=where, fix="leave out --classes")
        names = names if len(names) > len(recorded) else recorded
        if not names:  # a label without class names: its classes are the values it holds
            top = (old.attrs.get("statistics") or {}).get("max")
            names = [f"class {k}" for k in range(int(top) + 1)] if top is not None else []
        values = np.asarray(old[...])
        lines = labelled_lines(old) or {"inline": [int(n) for n in group["inline"][...]], "crossline": []}
    else:
        values = np.full(shape, UNLABELLED, np.uint8)
        lines = {"inline": [], "crossline": []}
    axes = {d: np.asarray(group[d][...]) for d in ("inline", "crossline")}
    # inlines first, then crosslines (each by number): where an inline and a crossline mask both
    # label a crossing trace, the crossline's value is kept (said in the docs)
    for name, direction, number, mask in sorted(masks, key=lambda m: (m[1] != "inline", m[2])):
        index, traces = _place(name, direction, number, mask, axes, shape[2], len(names) or None, where)
        target = values[index] if direction == "inline" else values[:, index]
        np.copyto(target, traces, where=traces != UNLABELLED)
        lines[direction] = sorted(set(lines[direction]) | {number})
    live = np.asarray(group[schema.TRACE_MASK][...], bool)
    pixels = int((values[live] != UNLABELLED).sum())
    seen = values[values != UNLABELLED]
    n_classes = max(len(names), int(seen.max()) + 1 if seen.size else 0)
    names += [f"class {k}" for k in range(len(names), n_classes)]
    write_variable(group, var, values, overwrite=True,
                   attrs={"unlabelled": UNLABELLED, "class_names": names, "labelled_lines": lines,
                          "labelled_pixels": pixels, "long_name": f"{var} (labelled on lines)"})
    return {"store": str(store), "var": var, "masks": [m[0] for m in masks], "labelled_lines": lines,
            "labelled_pixels": pixels, "class_names": names}
