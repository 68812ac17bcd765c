"""Survey geometry: place every trace on a grid cell by its header keys, never by position.

A `TraceGrid` maps grid cells to 0-based trace positions in the source file (-1 where a
trace is missing). 3D post-stack grids have dims (inline, crossline); 2D lines and gathers
keep file order with one dim, trace.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from seisfuse.errors import GeometryError

MIN_FILL = 0.1  # below this fraction of live cells, the keys are taken not to form a grid
# Other byte locations are suggested only when they fill at least half of their grid: a shot
# gather's field record x channel (bytes 9/13) builds an accidental cube with a third of its
# cells live; the most irregular real survey of the corpus (f3-withdead.sgy) fills 58 %.
SUGGEST_FILL = 0.5
DUPLICATE_POLICIES = ("error", "first", "last")


@dataclass(frozen=True)
class TraceGrid:
    dims: tuple[str, ...]
    axes: dict[str, np.ndarray]
    trace_at_cell: np.ndarray  # int64, grid shape, -1 = missing
    n_duplicates_dropped: int = 0
    duplicate_examples: tuple[str, ...] = ()  # "inline 12, crossline 104: trace 31 kept, 30 dropped"

    @property
    def shape(self) -> tuple[int, ...]:
        return self.trace_at_cell.shape

    @property
    def live(self) -> np.ndarray:
        return self.trace_at_cell >= 0

    @property
    def n_live(self) -> int:
        return int(self.live.sum())

    @property
    def n_missing(self) -> int:
        return int(self.trace_at_cell.size - self.n_live)

    def steps(self) -> dict[str, int]:
        return {d: int(a[1] - a[0]) if len(a) > 1 else 1 for d, a in self.axes.items()}


def line_axis(values: np.ndarray) -> np.ndarray:
    """The regular axis min..max spanned by the unique key values, step = gcd of their gaps."""
    unique = np.unique(values)
    if len(unique) == 1:
        return unique.astype(np.int64)
    step = int(np.gcd.reduce(np.diff(unique).astype(np.int64)))
    return np.arange(unique[0], unique[-1] + 1, step, dtype=np.int64)


def grid_2d(n_traces: int) -> TraceGrid:
    """A line or gather: traces keep their file order along one `trace` dim."""
    return TraceGrid(("trace",), {"trace": np.arange(n_traces, dtype=np.int64)},
                     np.arange(n_traces, dtype=np.int64))


def _fill(inline: np.ndarray, crossline: np.ndarray) -> tuple[float, int, int]:
    il_axis, xl_axis = line_axis(inline), line_axis(crossline)
    cells = np.unique(np.searchsorted(il_axis, inline) * len(xl_axis) + np.searchsorted(xl_axis, crossline))
    return len(cells) / (len(il_axis) * len(xl_axis)), len(il_axis) * len(xl_axis), len(inline) - len(cells)


def one_line_per_trace(inline: np.ndarray, crossline: np.ndarray) -> bool:
    """Every trace on its own inline and crossline: a trace counter, not a grid."""
    n = len(inline)
    return n > 2 and len(np.unique(inline)) == n and len(np.unique(crossline)) > 1


def rank_key_candidates(candidates: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]]) -> list[str]:
    """Byte-location pairs whose keys form a plausible grid, best first, as readable hints."""
    scored = []
    for (ib, xb), (il, xl) in candidates.items():
        if len(np.unique(il)) < 2 and len(np.unique(xl)) < 2 or one_line_per_trace(il, xl):
            continue
        fill, cells, dups = _fill(il, xl)
        if dups == 0 and fill >= SUGGEST_FILL:
            scored.append((fill, ib, xb, len(line_axis(il)), len(line_axis(xl))))
    scored.sort(reverse=True)
    return [f"--iline-byte {ib} --xline-byte {xb} ({ni} x {nx} lines, {fill:.0%} of cells live)"
            for fill, ib, xb, ni, nx in scored]


def _hint(alternatives, key_bytes, prestack: bool = False, line: bool = False) -> str:
    if prestack:  # never a cube suggestion for gathers: any key pair would build an accidental one
        return "the offsets vary from trace to trace: these are pre-stack gathers; use --layout 2d (or auto)"
    ranked = [h for h in rank_key_candidates(alternatives or {})
              if not h.startswith(f"--iline-byte {key_bytes[0]} --xline-byte {key_bytes[1]} ")]
    if line:  # the same keys on every trace: a line or a gather, not a cube at other bytes
        return "the keys are the same on every trace: for a 2D line or gathers use --layout 2d (or auto)" + (
            f"; for a cube, other byte locations: {'; '.join(ranked[:2])}" if ranked else "")
    hint = f"try {ranked[0]}" if ranked else "check the inline/crossline byte locations"
    if len(ranked) > 1:
        hint += "; other candidates: " + "; ".join(ranked[1:3])
    return hint + "; for 2D lines, gathers or pre-stack data use --layout 2d"


def grid_3d(inline: np.ndarray, crossline: np.ndarray, *, duplicates: str = "error",
            key_bytes: tuple[int, int] = (189, 193), where: str = "",
            alternatives: dict | None = None, prestack: bool = False) -> TraceGrid:
    """Place traces on the (inline, crossline) grid spanned by their keys.

    alternatives: {(iline_byte, xline_byte): (inline, crossline)} read from other byte
    locations, used only to suggest a fix when these keys do not form a grid.
    """
    if duplicates not in DUPLICATE_POLICIES:
        raise GeometryError(f"unknown duplicates policy {duplicates!r}", where=where,
                            fix=f"use one of {', '.join(DUPLICATE_POLICIES)}")
    inline = np.asarray(inline, dtype=np.int64)
    crossline = np.asarray(crossline, dtype=np.int64)
    il_axis, xl_axis = line_axis(inline), line_axis(crossline)
    n = len(inline)
    hint = _hint(alternatives, key_bytes, prestack, line=len(np.unique(inline * (1 << 32) + crossline)) == 1)
    keys = f"inline (byte {key_bytes[0]}) {inline.min()}..{inline.max()}, " \
           f"crossline (byte {key_bytes[1]}) {crossline.min()}..{crossline.max()}"
    fill = n / (len(il_axis) * len(xl_axis))
    if one_line_per_trace(inline, crossline):
        raise GeometryError(f"the inline key is different on every trace ({keys}): a trace counter, not a "
                            "line number", where=where, fix=hint)
    if fill < MIN_FILL and len(il_axis) > 1 and len(xl_axis) > 1:
        raise GeometryError(
            f"the trace keys do not form a plausible grid: {keys} span "
            f"{len(il_axis)} x {len(xl_axis)} cells for {n} traces ({fill:.1%} filled)",
            where=where, fix=hint)
    il_idx = np.searchsorted(il_axis, inline)
    xl_idx = np.searchsorted(xl_axis, crossline)
    cells = il_idx * len(xl_axis) + xl_idx
    trace_ids = np.arange(n, dtype=np.int64)
    if duplicates == "last":
        cells, trace_ids = cells[::-1], trace_ids[::-1]
    unique_cells, first = np.unique(cells, return_index=True)
    n_dup = n - len(unique_cells)
    if n_dup and duplicates == "error":
        taken = np.ones(n, dtype=bool)
        taken[first] = False
        dup = int(np.flatnonzero(taken)[0])
        same = int(np.flatnonzero(cells == cells[dup])[0])
        example = (f"inline {inline[dup]}, crossline {crossline[dup]} holds traces "
                   f"{min(same, dup)} and {max(same, dup)}")
        raise GeometryError(
            f"{n_dup} traces fall on an (inline, crossline) cell that another trace already "
            f"holds ({example}); {keys}", where=where,
            fix=hint.replace("; for 2D", "; or keep one with "
                "--duplicates first|last; for 2D"))
    trace_at_cell = np.full(len(il_axis) * len(xl_axis), -1, dtype=np.int64)
    trace_at_cell[unique_cells] = trace_ids[first]
    examples = []
    if n_dup:  # a record of what was dropped: a few cells, the trace kept and those dropped
        dropped = np.ones(n, dtype=bool)
        dropped[first] = False
        for k in np.flatnonzero(dropped)[:5]:
            t = int(trace_ids[k])
            kept = int(trace_at_cell[cells[k]])
            examples.append(f"inline {inline[t]}, crossline {crossline[t]}: trace {kept} kept, {t} dropped")
    return TraceGrid(("inline", "crossline"), {"inline": il_axis, "crossline": xl_axis},
                     trace_at_cell.reshape(len(il_axis), len(xl_axis)), n_dup, tuple(examples))


def truncated_tail(grid: TraceGrid) -> tuple[int, str]:
    """(N, line) when the grid is complete except the last N cells of the last line in file
    order: the signature of a file cut after a whole trace. (0, "") otherwise."""
    if grid.trace_at_cell.ndim != 2 or grid.n_missing == 0 or grid.n_live < 2:
        return 0, ""
    tac = grid.trace_at_cell
    order = np.argsort(tac, axis=None)[-2:]  # cells of the last two traces in the file
    (i0, i1), (j0, j1) = np.unravel_index(order, tac.shape)
    missing = tac < 0
    if i0 == i1:  # inline-sorted: the last line is an inline
        rest = slice(j1 + 1, None) if j1 > j0 else slice(None, j1)
        tail = np.zeros_like(missing)
        tail[i1, rest] = True
        line = f"inline {grid.axes['inline'][i1]}"
    elif j0 == j1:
        rest = slice(i1 + 1, None) if i1 > i0 else slice(None, i1)
        tail = np.zeros_like(missing)
        tail[rest, j1] = True
        line = f"crossline {grid.axes['crossline'][j1]}"
    else:
        return 0, ""
    return (int(missing.sum()), line) if np.array_equal(missing, tail) else (0, "")


# The dim names seisfuse reads, and the names other tools give the same axes (segysak:
# iline, xline, twt, depth; MDIO: inline, crossline, time, depth; common short forms).
DIM_ALIASES = {
    "inline": ("inline", "iline", "il", "inline_number"),
    "crossline": ("crossline", "xline", "xl", "crossline_number"),
    "trace": ("trace", "cdp", "trace_index"),
    "sample": ("sample", "twt", "time", "depth", "samples", "z"),
}
_CANONICAL = {alias: name for name, aliases in DIM_ALIASES.items() for alias in aliases}
VOLUME_DIMS = {3: ("inline", "crossline", "sample"), 2: ("trace", "sample")}


def canonical_dims(dims, where: str | None = None) -> tuple[str, ...]:
    """seisfuse's names for an array's dims (aliases accepted), refusing names it does not know
    and sets that are not a volume (inline, crossline, sample) or a section (trace, sample)."""
    dims = tuple(str(d) for d in dims)
    unknown = [d for d in dims if d.lower() not in _CANONICAL]
    if unknown:
        known = "; ".join(f"{k}: {', '.join(v)}" for k, v in DIM_ALIASES.items())
        raise GeometryError(f"unknown dim name(s) {unknown} in dims {dims}", where=where,
                            fix=f"rename them to one of the known names ({known})")
    names = tuple(_CANONICAL[d.lower()] for d in dims)
    if sorted(names) not in (sorted(v) for v in VOLUME_DIMS.values()):
        raise GeometryError(f"dims {dims} (read as {names}) are neither (inline, crossline, sample) nor "
                            "(trace, sample)", where=where, fix="give a 3D volume or a 2D section")
    return names
