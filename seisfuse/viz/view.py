"""`seisfuse view`: one self-contained HTML file to scroll through a store and its
predictions in any browser, without a server or network access.

The volume is decimated by one step on every axis until the file fits the budget, read chunk
block by chunk block (never the whole volume at once), and embedded as base64: the amplitude
as int16 over its [min, max] range (-32768 marks NaN), each label/prediction as uint8 (exact
for labels and classes, 1/255 steps for probabilities; 255 is an unlabelled voxel of a label).
The page's JavaScript (viewer.js, written for seisfuse: no framework, no CDN) draws the panels,
axes and colour bar itself.

With a label variable (`label=`), the page also gets a brush (labeler.js) and its Save
downloads the painted lines as masks: the file format is described in seisfuse.viz.labels.
"""

from __future__ import annotations

import base64
import json
import math
from importlib.resources import files
from pathlib import Path

import numpy as np
import zarr
from matplotlib import colormaps

from seisfuse import resources
from seisfuse.errors import SeisfuseError
from seisfuse.io import schema
from seisfuse.io.blocks import chunk_blocks
from seisfuse.progress import Progress
from seisfuse.viz.labels import UNLABELLED, label_spec, unlabelled_value
from seisfuse.viz.sections import METRES_PER_MS, _spacing, amplitude_clip, clamp_exaggeration, variable_kind

AMP_LEVELS = 65534  # int16 codes -32767..32767; -32768 is NaN
HTML_OVERHEAD = 200_000  # the page, its script and the metadata, bytes
SEISMIC_MAPS = {"gray": "gray", "seismic": "RdBu_r"}


def decimation(shape: tuple[int, int, int], bytes_per_voxel: int, budget_bytes: float) -> int:
    """The smallest step (the same on every axis) whose decimated volume, base64-encoded, fits."""
    for step in range(1, max(shape) + 1):
        voxels = math.prod(math.ceil(n / step) for n in shape)
        if voxels * bytes_per_voxel * 4 / 3 + HTML_OVERHEAD <= budget_bytes:
            return step
    raise SeisfuseError(f"a budget of {budget_bytes / 1e6:g} MB cannot hold even one voxel per line",
                        fix="raise --budget-mb")


def read_decimated(array: zarr.Array, inlines: range, step: int, progress: Progress | None = None) -> np.ndarray:
    """array[inlines][::step, ::step, ::step] (or [::step, ::step] for a trace array), read one
    chunk block at a time: memory is the decimated result plus one block."""
    nj = array.shape[1]
    picked_i = np.arange(inlines.start, inlines.stop, step)
    out = np.empty((len(picked_i), math.ceil(nj / step), *([math.ceil(array.shape[2] / step)]
                                                            if array.ndim == 3 else [])), dtype=array.dtype)
    trace_bytes = array.dtype.itemsize * (array.shape[2] if array.ndim == 3 else 1)
    for block in chunk_blocks((inlines.stop, nj), array.chunks[:2], trace_bytes):
        rows = picked_i[(picked_i >= max(block[0].start, inlines.start)) & (picked_i < block[0].stop)]
        cols = np.arange(math.ceil(block[1].start / step) * step, block[1].stop, step)
        if rows.size and cols.size:
            cut = np.asarray(array[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1])[::step, ::step]
            where = (slice((rows[0] - inlines.start) // step, (rows[-1] - inlines.start) // step + 1),
                     slice(cols[0] // step, cols[-1] // step + 1))
            out[where] = cut[..., ::step] if array.ndim == 3 else cut
        if progress is not None:
            progress.update()
    return out


def _b64(values: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(values).tobytes()).decode("ascii")


def _quantize_amplitude(values: np.ndarray, lo: float, hi: float) -> np.ndarray:
    scale = AMP_LEVELS / max(hi - lo, 1e-30)
    q = np.round((np.clip(values, lo, hi) - lo) * scale) - 32767
    return np.where(np.isfinite(values), q, -32768).astype("<i2")


def _variable(name: str, values: np.ndarray, group: zarr.Group,
              label: dict | None = None) -> tuple[dict, np.ndarray]:
    """A layer's metadata and uint8 codes; `label`: the painted variable's classes (label_spec)."""
    unlabelled = unlabelled_value(group[name])
    known = np.isfinite(values) & (values != unlabelled if unlabelled is not None else True)
    kind = "classes" if label else variable_kind(np.where(known, values, np.nan).astype(np.float32))
    finite = values[known]
    if kind in ("binary", "classes"):  # unlabelled and NaN: UNLABELLED, drawn transparent
        lo, hi, codes = 0.0, 255.0, np.where(known, values, UNLABELLED).astype(np.uint8)
        n = label["classes"] if label else int(finite.max()) + 1 if finite.size else 1
    else:
        finite = values[np.isfinite(values)]
        lo, hi = (0.0, 1.0) if kind == "probability" else (float(finite.min()), float(finite.max()))
        codes = np.round((np.clip(np.nan_to_num(values, nan=lo), lo, hi) - lo) / max(hi - lo, 1e-30) * 255)
        codes, n = codes.astype(np.uint8), 0
    names = label["class_names"] if label else group[name].attrs.get("class_names") or [f"class {k}" for k in range(n)]
    meta = {"name": name, "kind": kind, "lo": lo, "hi": hi, "classes": n, "class_names": names,
            "unlabelled": UNLABELLED if kind in ("binary", "classes") else None}
    return meta, codes


def _lut(name: str, n: int = 256) -> list[list[int]]:
    return (np.asarray(colormaps[name](np.linspace(0, 1, n)))[:, :3] * 255).round().astype(int).tolist()


def write_view(store, out, *, variables=(), clip: float = 99.0, cmap: str = "gray", opacity: float = 0.5,
               budget_mb: float = 50.0, region: tuple[int, int] | None = None, label: str | None = None,
               classes: tuple[str, ...] = ()) -> dict:
    """Write the viewer; returns what went in (decimation step, shape, bytes). `label`: the
    variable to paint (with `classes` when it is not in the store yet): the page gets a brush
    whose Save downloads masks in `seisfuse labels import`'s format (seisfuse.viz.labels)."""
    group = schema.open_group(store)
    amplitude = group[schema.AMPLITUDE]
    for name in variables:
        if name not in group or name not in schema.complete_variables(group):
            raise SeisfuseError(f"the store has no complete variable {name!r}", where=schema.where(group),
                                fix=f"choose from {', '.join(schema.complete_variables(group)) or 'none'}")
    spec = label_spec(group, label, tuple(classes)) if label else None
    if spec and spec["exists"] and label not in variables:  # an existing label is a layer too
        variables = (*variables, label)
    two_d = schema.spatial_dims(group) == ("trace",)
    images = group.attrs.get("collection") == "images"
    names = list(group.attrs.get("image_names") or [])
    arrays = {n: group[n] for n in (schema.AMPLITUDE, *variables)}
    if two_d:  # a line is shown as a volume of one inline
        arrays = {n: _OneInline(a) for n, a in arrays.items()}
    ni = arrays[schema.AMPLITUDE].shape[0]
    if region is not None and region[1] > ni:
        raise SeisfuseError(f"region {region[0]},{region[1]} reaches past the store's {ni} inlines",
                            fix=f"give a range within 0,{ni}")
    inlines = range(*(region or (0, ni)))
    shape = (len(inlines), *arrays[schema.AMPLITUDE].shape[1:])
    step = decimation(shape, 2 + len(variables), budget_mb * 1e6)
    samples = np.asarray(group["sample"][:], np.float64)
    unit = group["sample"].attrs.get("units", "ms")
    mask = np.asarray(group[schema.TRACE_MASK][:])
    mask = mask[None] if two_d else mask
    cdp_x, cdp_y = (np.asarray(group[k][:], np.float64) for k in ("cdp_x", "cdp_y"))
    cdp_x, cdp_y = (cdp_x[None], cdp_y[None]) if two_d else (cdp_x, cdp_y)
    if two_d:
        il = np.array([1])
        xl = np.asarray(group["trace"][:]) if "trace" in group else np.arange(1, shape[1] + 1)
    else:
        il, xl = np.asarray(group["inline"][:]), np.asarray(group["crossline"][:])
    dx_il = _spacing(cdp_x, cdp_y, 0) if cdp_x.shape[0] > 1 else 25.0
    dx_xl = _spacing(cdp_x, cdp_y, 1) if cdp_x.shape[1] > 1 else 25.0
    dz = (samples[1] - samples[0] if len(samples) > 1 else 1.0) * (METRES_PER_MS if unit == "ms" else 1.0)
    n_blocks = len(chunk_blocks((inlines.stop, shape[1]), amplitude.chunks[:2], 1)) * (1 + len(variables))
    with Progress(n_blocks, "view: read", unit="block") as bar:
        amp = read_decimated(arrays[schema.AMPLITUDE], inlines, step, bar).astype(np.float32)
        stats = amplitude.attrs.get("statistics") or {}
        lo = float(stats.get("min", np.nanmin(amp)))
        hi = float(stats.get("max", np.nanmax(amp)))
        limit, clip_source = amplitude_clip(amplitude, clip, amp)
        layers = [_variable(n, read_decimated(arrays[n], inlines, step, bar), group, spec if n == label else None)
                  for n in variables]
    ii = np.arange(inlines.start, inlines.stop, step)
    jj, kk = np.arange(0, shape[1], step), np.arange(0, shape[2], step)
    width = {"inline": shape[1] * dx_xl, "crossline": shape[0] * dx_il}
    height = shape[2] * dz
    meta = {
        "store": str(Path(store).name), "shape": [len(ii), len(jj), len(kk)], "full_shape": list(shape),
        "step": step, "two_d": two_d, "unit": "" if images else unit,
        "domain": "row" if images else "time" if unit == "ms" else "depth",
        "x_name": "trace" if two_d else "column" if images else "crossline",
        # an image stack: one image per inline, shown by name; no crossline or slice panel
        # (they would cut across unrelated images)
        "images": [names[k] for k in ii] if images else None,
        "inline": il[ii].tolist(), "crossline": xl[jj].tolist(), "sample": samples[kk].tolist(),
        "amp": {"lo": lo, "hi": hi, "levels": AMP_LEVELS, "clip": limit, "clip_percentile": clip,
                "clip_source": clip_source, "lut": _lut(SEISMIC_MAPS[cmap])},
        "dead": [[int(not v) for v in row] for row in mask[ii][:, jj]],
        "layers": [m for m, _ in layers], "opacity": opacity,
        "luts": {"probability": _lut("inferno"), "continuous": _lut("viridis"),
                 "classes": _lut("tab10", 10)},
        # display height/width of each panel: true scale (1 ms = 1 m in time), exaggerated
        # only to stay within 1:5..5:1, as in `seisfuse plot`
        "panel_ratio": {k: height / w * clamp_exaggeration(height / w) for k, w in width.items()}
                       | {"sample": shape[0] * dx_il / (shape[1] * dx_xl) * clamp_exaggeration(
                           shape[0] * dx_il / (shape[1] * dx_xl))},
        # label mode: what the brush paints, and where the shown lines lie in the store (a saved
        # mask is a whole line: a crossline's mask spans all the store's inlines, even of a region)
        "label": spec and spec | {"store_inlines": arrays[schema.AMPLITUDE].shape[0], "region_start": inlines.start},
    }
    blobs = {"amplitude": _b64(_quantize_amplitude(amp, lo, hi))} | {m["name"]: _b64(c) for m, c in layers}
    page = (files("seisfuse.viz") / "viewer.html").read_text()
    script = (files("seisfuse.viz") / "viewer.js").read_text()
    if spec:  # the brush: its toolbar and script only in label mode
        script += "\n" + (files("seisfuse.viz") / "labeler.js").read_text()
    page = page.replace("<!--LABEL-->", '<div class="controls" id="label-toolbar"></div>' if spec else "")
    data = "\n".join(f'<script type="application/octet-stream" id="blob-{name}">{text}</script>'
                     for name, text in blobs.items())
    html = (page.replace("/*META*/", json.dumps(meta).replace("</", "<\\/")).replace("<!--DATA-->", data)
            .replace("/*SCRIPT*/", script).replace("{{title}}", f"seisfuse view: {Path(store).name}"))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with resources.replacing(out) as partial:  # never a half-written viewer under the final name
        partial.write_text(html)
    return {"out": str(out), "step": step, "shape": meta["shape"], "bytes": out.stat().st_size,
            "variables": {m["name"]: m["kind"] for m, _ in layers}}


class _OneInline:
    """A (trace, sample) array seen as (1, trace, sample), for the viewer's reading."""

    def __init__(self, array: zarr.Array):
        self.array, self.dtype = array, array.dtype
        self.shape, self.chunks, self.ndim = (1, *array.shape), (1, *array.chunks), 3

    def __getitem__(self, key):
        return np.asarray(self.array[key[1:]])[None]
