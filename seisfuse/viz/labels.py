"""Labelling in the viewer (`seisfuse view --label VAR`): which classes the brush offers, and
the file that the page's Save downloads for `seisfuse labels import`.

The classes: a label variable already in the store (complete) names them in its attribute
`class_names` (else `class 0..n-1`); their number is the larger of that list's length and its
largest labelled value + 1. Its unlabelled value (attribute `unlabelled`, 255 for uint8
labels; NaN for floats) is no class and is drawn transparent. A variable of fractions (a
probability) or of anything but whole class numbers 0..254 cannot be painted. A variable not
in the store yet takes its classes from `--classes a,b,c` (class 0, 1, 2).

The file, `<store name>-<var>-labels.zip` (the store name as given, e.g. `survey.zarr`): a ZIP
archive, stored (no compression), holding
- one PNG per painted line, `inline_<N>_mask.png` or `crossline_<N>_mask.png`, N the line
  number in the store's own numbering (its inline/crossline coordinate): 8-bit greyscale
  (PNG colour type 0) at the line's full resolution, rows = samples (the first on top),
  columns = the traces along the line in the store's index order (the crosslines of an inline,
  the inlines of a crossline; a 2D store's line is inline 1); value = class number, 255 = not
  painted. The page shows every `step`-th inline, crossline and sample of a large survey: a
  painted page pixel covers its step x step block (cut at the line's end), nearest-neighbour;
- `labels.json`: {"store": store name, "var": the label variable, "class_names": [...],
  "step": step, "lines": [{"file": PNG name, "direction": "inline" | "crossline",
  "line": N, "shape": [samples, traces]}]}.
Lines painted and then wholly erased are left out; with nothing painted nothing is saved.
"""

from __future__ import annotations

import numpy as np
import zarr

from seisfuse.errors import SeisfuseError
from seisfuse.io import schema
from seisfuse.io.blocks import chunk_blocks

UNLABELLED = 255  # the code of "no class" in the page and in the saved masks
MAX_CLASSES = 255  # classes 0..254


def unlabelled_value(array: zarr.Array) -> float | None:
    """The value that marks an unlabelled voxel of a variable: its attribute `unlabelled`,
    else 255 for uint8 variables (NaN, always unlabelled in a float variable, is not returned)."""
    value = array.attrs.get("unlabelled")
    if value is None and array.dtype == np.uint8:
        value = UNLABELLED
    return None if value is None else float(value)


def label_spec(group: zarr.Group, name: str, classes: tuple[str, ...] = ()) -> dict:
    """What the brush paints: {"name", "class_names", "classes", "exists"}; refuses a variable
    that cannot be painted, a missing one without --classes, and --classes that contradict the
    variable's own class names."""
    where = schema.where(group)
    if name in schema.RESERVED or name.startswith("_"):
        raise SeisfuseError(f"{name!r} is not a label variable (a reserved name of the store)", where=where,
                            fix="give --label the name of a label variable, e.g. facies")
    if len(set(classes)) < len(classes):
        raise SeisfuseError(f"--classes {','.join(classes)} names a class twice", fix="give each class once")
    if len(classes) > MAX_CLASSES:
        raise SeisfuseError(f"--classes names {len(classes)} classes; a label holds at most {MAX_CLASSES} (0..254)",
                            fix="give fewer classes")
    if name in group and name not in schema.complete_variables(group):
        raise SeisfuseError(f"variable {name!r} is unfinished in the store (no completion marker)", where=where,
                            fix="write it again (e.g. `seisfuse ingest ... --var NAME --overwrite`) or choose "
                                "another --label name")
    if name not in group:
        if not classes:
            raise SeisfuseError(f"label variable {name!r} is not in the store, so its classes are unknown",
                                where=where, fix="name them with --classes a,b,c (class 0, 1, 2)")
        return {"name": name, "class_names": list(classes), "classes": len(classes), "exists": False}
    array = group[name]
    n = classes_in(array, name, where)
    names = [str(c) for c in array.attrs.get("class_names") or []]
    if names and classes and list(classes) != names:
        raise SeisfuseError(f"--classes {','.join(classes)} differ from the class names of {name!r}: "
                            f"{','.join(names)}", where=where, fix="leave out --classes (or choose a new --label)")
    if not names and classes and len(classes) < n:
        raise SeisfuseError(f"variable {name!r} holds classes 0..{n - 1} but --classes names {len(classes)}",
                            where=where, fix=f"name all {n} classes")
    names = names or list(classes)
    names += [f"class {k}" for k in range(len(names), n)]
    if not names:
        raise SeisfuseError(f"variable {name!r} is all unlabelled and names no classes", where=where,
                            fix="name them with --classes a,b,c")
    return {"name": name, "class_names": names, "classes": len(names), "exists": True}


def classes_in(array: zarr.Array, name: str, where: str) -> int:
    """Largest labelled value + 1 (0 when nothing is labelled), read block by block; refuses
    values that are not whole class numbers 0..254."""
    unlabelled = unlabelled_value(array)
    trace_bytes = array.dtype.itemsize * array.shape[-1]
    top = -1
    for block in chunk_blocks(array.shape[:-1], array.chunks[:-1], trace_bytes):
        values = np.asarray(array[block]).ravel()
        values = values[np.isfinite(values)] if values.dtype.kind == "f" else values
        if unlabelled is not None:
            values = values[values != unlabelled]
        if not values.size:
            continue
        bad = values[(values != np.round(values)) | (values < 0) | (values >= MAX_CLASSES)]
        if bad.size:
            raise SeisfuseError(f"variable {name!r} holds {bad[0]:g}, not a class number 0..{MAX_CLASSES - 1}: "
                                "a probability or other continuous variable cannot be painted", where=where,
                                fix="give --label a variable of class numbers, or a new name with --classes a,b,c")
        top = max(top, int(values.max()))
    return top + 1
