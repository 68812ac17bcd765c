"""Sections of a store in the survey's own coordinates: which line, which traces, which
times, which traces are missing, and how far apart they are on the ground.

A section is what every picture of seisfuse draws: an inline or a crossline (traces against
the sample axis), a time or depth slice (inlines against crosslines), or a 2D line (trace
number against the sample axis). Line numbers are the store's own inline/crossline
coordinates, never array indices.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import zarr

from seisfuse.errors import SeisfuseError
from seisfuse.io import schema

# Time sections are drawn at 1 ms = 1 m (a two-way velocity of 2000 m/s), the usual
# "true scale" of a time display; depth sections at their own metres.
METRES_PER_MS = 1.0
# A true-scale panel flatter or taller than this is exaggerated to this ratio (and says so).
MAX_PANEL_RATIO = 5.0


@dataclass
class Section:
    kind: str  # "inline", "crossline", "sample" (a slice) or "line" (a 2D store)
    label: str  # "inline 11426", "1204 ms", ...
    x: np.ndarray  # coordinate of each column (line or trace numbers)
    y: np.ndarray  # coordinate of each row (times/depths, or line numbers for a slice)
    x_name: str
    y_name: str
    dead: np.ndarray  # bool (columns,) for vertical sections, (rows, columns) for slices
    x_spacing_m: float  # ground distance between neighbouring columns
    y_spacing_m: float  # the same for rows (ms converted at METRES_PER_MS in time)
    where: tuple  # the index expression that takes this section from a (inline, crossline, sample) array

    def values(self, array: zarr.Array) -> np.ndarray:
        """The section of one variable as (rows, columns): the sample axis downwards."""
        cut = np.asarray(array[self.where])
        return cut if self.kind == "sample" else cut.T

    def true_aspect(self) -> float:
        """matplotlib's aspect (height of one y unit over the width of one x unit) at true scale."""
        dx = self.x_spacing_m / max(_step(self.x), 1e-12)
        dy = self.y_spacing_m / max(_step(self.y), 1e-12)
        return dy / dx


def _step(values: np.ndarray) -> float:
    return float(abs(values[1] - values[0])) if len(values) > 1 else 1.0


def _spacing(cdp_x: np.ndarray, cdp_y: np.ndarray, axis: int) -> float:
    """The median ground distance between neighbouring traces along `axis` (25 m when the
    coordinates are all zero or absent)."""
    dx, dy = np.diff(cdp_x, axis=axis), np.diff(cdp_y, axis=axis)
    d = np.hypot(dx, dy)
    d = d[d > 0]
    return float(np.median(d)) if d.size else 25.0


def _index(axis: np.ndarray, value: float | None, index: int | None, name: str, unit: str = "") -> int:
    """The array index of a line number (or time), or a given index checked against the axis."""
    n = len(axis)
    span = f"{axis[0]:g}..{axis[-1]:g}{unit}" + (f" step {_step(axis):g}" if n > 1 else "")
    if index is not None:
        if not 0 <= index < n:
            raise SeisfuseError(f"{name} index {index} is outside the store's {n} {name}s (0..{n - 1})",
                                fix=f"give an index in 0..{n - 1}, or the {name} number ({span})")
        return int(index)
    hits = np.flatnonzero(np.isclose(axis, value))
    if not hits.size:
        raise SeisfuseError(f"{name} {value:g} is not in this store ({name}s {span})",
                            fix=f"give one of its {name} numbers, or --{name}-index for an array index")
    return int(hits[0])


def display_ratio(sec: Section, exaggeration: float) -> float:
    """Height over width of the panel drawn at this exaggeration."""
    width = abs(sec.x[-1] - sec.x[0]) if len(sec.x) > 1 else 1.0
    height = abs(sec.y[-1] - sec.y[0]) if len(sec.y) > 1 else 1.0
    return height * sec.true_aspect() * exaggeration / max(width, 1e-9)


def exaggeration_for(sec: Section, exaggeration: float | None) -> float:
    """Vertical exaggeration: as given, else 1 (true scale) unless the panel would be flatter
    or taller than MAX_PANEL_RATIO, then just enough to bring it to that ratio."""
    if exaggeration is not None:
        return exaggeration
    return clamp_exaggeration(display_ratio(sec, 1.0))


def clamp_exaggeration(ratio: float) -> float:
    """The exaggeration that brings a panel of true-scale height/width `ratio` within
    1:MAX_PANEL_RATIO..MAX_PANEL_RATIO:1 (1 when it already is)."""
    if ratio < 1 / MAX_PANEL_RATIO:
        return 1 / (MAX_PANEL_RATIO * ratio)
    if ratio > MAX_PANEL_RATIO:
        return MAX_PANEL_RATIO / ratio
    return 1.0


def _inline(inlines: np.ndarray, number: float | None, index: int | None) -> int:
    """The inline asked for by number or index; the middle one when neither is given."""
    if number is None and index is None:
        index = len(inlines) // 2
    return _index(inlines, number, index if number is None else None, "inline")


def section(group: zarr.Group, *, inline: float | None = None, crossline: float | None = None,
            sample: float | None = None, inline_index: int | None = None, crossline_index: int | None = None,
            sample_index: int | None = None, trace_mask: np.ndarray | None = None) -> Section:
    """The section asked for (by line number or time, or by index); the middle inline when
    nothing is asked. A 2D store has one section: its line."""
    dims = schema.spatial_dims(group)
    samples = np.asarray(group["sample"][:], dtype=np.float64)
    unit = group["sample"].attrs.get("units", "ms")
    y_m = _step(samples) * (METRES_PER_MS if unit == "ms" else 1.0)
    t_name = f"{'time' if unit == 'ms' else 'depth'} ({unit})"
    mask = np.asarray(group[schema.TRACE_MASK][:]) if trace_mask is None else trace_mask
    cdp_x, cdp_y = np.asarray(group["cdp_x"][:], np.float64), np.asarray(group["cdp_y"][:], np.float64)
    if dims == ("trace",):
        if any(v is not None for v in (inline, crossline, sample, inline_index, crossline_index, sample_index)):
            raise SeisfuseError("this is a 2D store (one line of traces): it has no inlines, crosslines or "
                                "slices to choose", fix="leave out --inline/--crossline/--sample")
        traces = np.asarray(group["trace"][:]) if "trace" in group else np.arange(1, len(mask) + 1)
        return Section("line", "line", traces, samples, "trace", t_name, ~mask, _spacing(cdp_x, cdp_y, 0), y_m,
                       (slice(None), slice(None)))
    inlines, crosslines = np.asarray(group["inline"][:]), np.asarray(group["crossline"][:])
    if group.attrs.get("collection") == "images":  # an image stack: images by name, pixels square
        if crossline is not None or crossline_index is not None or sample is not None or sample_index is not None:
            raise SeisfuseError("an image stack has no crosslines or slices: a cut across it would join "
                                "unrelated images", fix="choose an image with --inline N or --inline-index K")
        i = _inline(inlines, inline, inline_index)
        names = group.attrs.get("image_names") or []
        return Section("inline", f"image {names[i] if i < len(names) else i + 1}", np.arange(len(crosslines)),
                       np.arange(len(samples)), "column", "row", ~mask[i], 1.0, 1.0, (i,))
    if sample is not None or sample_index is not None:
        k = _index(samples, sample, sample_index, "sample", f" {unit}")
        return Section("sample", f"{samples[k]:g} {unit}", crosslines, inlines, "crossline", "inline", ~mask,
                       _spacing(cdp_x, cdp_y, 1), _spacing(cdp_x, cdp_y, 0), (slice(None), slice(None), k))
    if crossline is not None or crossline_index is not None:
        j = _index(crosslines, crossline, crossline_index, "crossline")
        return Section("crossline", f"crossline {crosslines[j]}", inlines, samples, "inline", t_name, ~mask[:, j],
                       _spacing(cdp_x, cdp_y, 0), y_m, (slice(None), j))
    i = _inline(inlines, inline, inline_index)
    return Section("inline", f"inline {inlines[i]}", crosslines, samples, "crossline", t_name, ~mask[i],
                   _spacing(cdp_x, cdp_y, 1), y_m, (i,))


def variable_kind(values: np.ndarray) -> str:
    """How a label or prediction is drawn: 'binary' (0/1), 'classes' (small non-negative
    integers), 'probability' (fractions in [0, 1]) or 'continuous' (anything else)."""
    finite = values[np.isfinite(values)]
    if not finite.size:
        return "binary"
    lo, hi = float(finite.min()), float(finite.max())
    integral = bool(np.all(finite == np.round(finite)))
    if integral and lo >= 0 and hi <= 1:
        return "binary"
    if integral and lo >= 0 and hi <= 255:
        return "classes"
    if lo >= 0 and hi <= 1:
        return "probability"
    return "continuous"


def amplitude_clip(array: zarr.Array, percentile: float, fallback: np.ndarray) -> tuple[float, str]:
    """A symmetric clip: the larger magnitude of the store's recorded low and high percentile
    (`percentile` and 100 - `percentile`), or of the section when the store has not recorded
    that percentile. Returns (clip, where it came from)."""
    recorded = (array.attrs.get("statistics") or {}).get("percentiles", {})
    hi, lo = recorded.get(f"{percentile:g}"), recorded.get(f"{100 - percentile:g}")
    if hi is not None and lo is not None:
        clip, source = max(abs(float(hi)), abs(float(lo))), "store statistics"
    else:
        finite = np.abs(fallback[np.isfinite(fallback)])
        clip, source = (float(np.percentile(finite, percentile)) if finite.size else 1.0), "this section"
    return (clip if clip > 0 else 1.0), source
