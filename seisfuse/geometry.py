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
MAX_SMALL_GRID = 1 << 16  # cells any file may span, whatever its trace count (a few tiny test files are sparse)


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


def axis_extent(values: np.ndarray) -> tuple[int, int, int]:
    """(first, step, size) of the regular axis min..max spanned by the unique key values, step =
    gcd of their gaps: computed, never allocated, so a garbage key cannot ask for gigabytes."""
    unique = np.unique(np.asarray(values, dtype=np.int64))
    if len(unique) == 1:
        return int(unique[0]), 1, 1
    step = int(np.gcd.reduce(np.diff(unique)))
    return int(unique[0]), step, (int(unique[-1]) - int(unique[0])) // step + 1


def line_axis(values: np.ndarray) -> np.ndarray:
    """The regular axis min..max spanned by the unique key values, step = gcd of their gaps."""
    first, step, size = axis_extent(values)
    return first + step * np.arange(size, dtype=np.int64)


def grid_2d(n_traces: int, positions: np.ndarray | None = None) -> TraceGrid:
    """A line or gather: traces keep their file order along one `trace` dim (positions: the
    file positions of the traces kept, when some were skipped)."""
    positions = np.arange(n_traces, dtype=np.int64) if positions is None else np.asarray(positions, np.int64)
    return TraceGrid(("trace",), {"trace": positions.copy()}, positions)


def _cells(inline: np.ndarray, crossline: np.ndarray) -> int:
    """Cells of the grid the keys span (a Python int: no overflow, no allocation)."""
    return axis_extent(inline)[2] * axis_extent(crossline)[2]


def _fill(inline: np.ndarray, crossline: np.ndarray) -> tuple[float, int, int]:
    (i0, di, ni), (x0, dx, nx) = axis_extent(inline), axis_extent(crossline)
    cells = ni * nx
    if cells > len(inline) / SUGGEST_FILL:  # too empty to suggest: no need to count its cells
        return len(inline) / cells, cells, 0
    occupied = np.unique((np.asarray(inline, np.int64) - i0) // di * nx + (np.asarray(crossline, np.int64) - x0) // dx)
    return len(occupied) / cells, cells, len(inline) - len(occupied)


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
            scored.append((fill, ib, xb, axis_extent(il)[2], axis_extent(xl)[2]))
    scored.sort(reverse=True)
    return [f"--iline-byte {ib} --xline-byte {xb} ({ni} x {nx} lines, {fill:.0%} of cells live)"
            for fill, ib, xb, ni, nx in scored]


def _hint(alternatives, key_bytes, prestack: bool = False, line: bool = False) -> str:
    if prestack:  # never a cube suggestion for gathers: any key pair would build an accidental one
        return "the offsets vary from trace to trace: these are pre-stack gathers; use --layout 2d (or auto)"
    alternatives = alternatives() if callable(alternatives) else alternatives  # read only when a hint is needed
    ranked = [h for h in rank_key_candidates(alternatives or {})
              if not h.startswith(f"--iline-byte {key_bytes[0]} --xline-byte {key_bytes[1]} ")]
    if line:  # the same keys on every trace: a line or a gather, not a cube at other bytes
        return "the keys are the same on every trace: for a 2D line or gathers use --layout 2d (or auto)" + (
            f"; for a cube, other byte locations: {'; '.join(ranked[:2])}" if ranked else "")
    hint = f"try {ranked[0]}" if ranked else "check the inline/crossline byte locations"
    if len(ranked) > 1:
        hint += "; other candidates: " + "; ".join(ranked[1:3])
    return hint + "; for 2D lines, gathers or pre-stack data use --layout 2d"


def grid_problem(inline: np.ndarray, crossline: np.ndarray) -> str | None:
    """Why these keys do not form a plausible grid (a trace counter, or too few live cells for
    the cells they span), or None. Decided from the axes' extents, before any allocation."""
    n, cells = len(inline), _cells(inline, crossline)
    if one_line_per_trace(inline, crossline):
        return "the inline key is different on every trace: a trace counter, not a line number"
    (_, _, ni), (_, _, nx) = axis_extent(inline), axis_extent(crossline)
    # the first rule is the plausibility of a cube; the second bounds memory for any grid
    # (one line with a garbage crossline would otherwise ask for a billion cells)
    if (n / cells < MIN_FILL and ni > 1 and nx > 1) or cells > max(n / MIN_FILL, MAX_SMALL_GRID):
        return f"span {ni} x {nx} cells for {n} traces ({n / cells:.1%} filled)"
    return None


def grid_3d(inline: np.ndarray, crossline: np.ndarray, *, duplicates: str = "error",
            key_bytes: tuple[int, int] = (189, 193), where: str = "",
            alternatives: dict | None = None, prestack: bool = False,
            positions: np.ndarray | None = None) -> TraceGrid:
    """Place traces on the (inline, crossline) grid spanned by their keys.

    alternatives: {(iline_byte, xline_byte): (inline, crossline)} read from other byte
    locations (or a function returning them, called only then), used only to suggest a fix
    when these keys do not form a grid. positions: the
    file position of each trace (default 0..n-1; other when some traces were skipped).
    """
    if duplicates not in DUPLICATE_POLICIES:
        raise GeometryError(f"unknown duplicates policy {duplicates!r}", where=where,
                            fix=f"use one of {', '.join(DUPLICATE_POLICIES)}")
    inline = np.asarray(inline, dtype=np.int64)
    crossline = np.asarray(crossline, dtype=np.int64)
    n = len(inline)
    positions = np.arange(n, dtype=np.int64) if positions is None else np.asarray(positions, np.int64)
    keys = f"inline (byte {key_bytes[0]}) {inline.min()}..{inline.max()}, " \
           f"crossline (byte {key_bytes[1]}) {crossline.min()}..{crossline.max()}"
    problem = grid_problem(inline, crossline)
    if problem:  # the hint (other byte locations ranked) only now: it costs a pass over each pair
        hint = _hint(alternatives, key_bytes, prestack, line=len(np.unique(inline * (1 << 32) + crossline)) == 1)
        what = f"the {problem.removeprefix('the ')} ({keys})" if problem.startswith("the inline") else \
            f"the trace keys do not form a plausible grid: {keys} {problem}"
        raise GeometryError(what, where=where, fix=hint)
    il_axis, xl_axis = line_axis(inline), line_axis(crossline)
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
        dup = int(np.flatnonzero(taken)[0])  # "error": cells and trace_ids are in file order
        same = int(np.flatnonzero(cells == cells[dup])[0])
        a, b = sorted((int(positions[same]), int(positions[dup])))
        example = f"inline {inline[dup]}, crossline {crossline[dup]} holds traces {a} and {b}"
        hint = _hint(alternatives, key_bytes, prestack, line=len(np.unique(inline * (1 << 32) + crossline)) == 1)
        raise GeometryError(
            f"{n_dup} traces fall on an (inline, crossline) cell that another trace already "
            f"holds ({example}); {keys}", where=where,
            fix=hint.replace("; for 2D", "; or keep one with "
                "--duplicates first|last; for 2D"))
    trace_at_cell = np.full(len(il_axis) * len(xl_axis), -1, dtype=np.int64)
    trace_at_cell[unique_cells] = positions[trace_ids[first]]
    examples = []
    if n_dup:  # a record of what was dropped: a few cells, the trace kept and those dropped
        dropped = np.ones(n, dtype=bool)
        dropped[first] = False
        for k in np.flatnonzero(dropped)[:5]:
            t = int(trace_ids[k])
            kept = int(trace_at_cell[cells[k]])
            examples.append(f"inline {inline[t]}, crossline {crossline[t]}: trace {kept} kept, {positions[t]} dropped")
    return TraceGrid(("inline", "crossline"), {"inline": il_axis, "crossline": xl_axis},
                     trace_at_cell.reshape(len(il_axis), len(xl_axis)), n_dup, tuple(examples))


def outlier_cap(n_traces: int) -> int:
    """The most traces that can be named as damaged: a few headers (1 %, at least 4). More than
    that is no damage of a few headers but the wrong key bytes, or a survey of separate parts."""
    return max(4, min(1000, n_traces // 100))


def key_outliers(inline: np.ndarray, crossline: np.ndarray) -> np.ndarray:
    """Which traces have keys far outside the others' (bool per trace), as a damaged header
    gives: beyond Tukey's far-out fences (3 interquartile ranges, at least 16 line steps) of a
    key, or off the line step that every repeated key value keeps. Empty when more traces than
    `outlier_cap` would be named (then the keys are not a grid with a few damaged headers)."""
    n = len(inline)
    out = np.zeros(n, dtype=bool)
    if n < 4:
        return out
    for keys in (np.asarray(inline, np.int64), np.asarray(crossline, np.int64)):
        values, counts = np.unique(keys, return_counts=True)
        q1, q3 = np.quantile(keys, [0.25, 0.75], method="inverted_cdf")
        repeated = values[counts > 1]
        step = int(np.gcd.reduce(np.diff(repeated))) if len(repeated) > 1 else 1
        margin = max(3 * int(q3 - q1), 16 * max(step, 1))
        far = (keys < q1 - margin) | (keys > q3 + margin)
        off_step = (keys - int(q1)) % max(step, 1) != 0 if step > 1 else np.zeros(n, bool)
        out |= far | off_step
    return out if 0 < out.sum() <= outlier_cap(n) else np.zeros(n, dtype=bool)


def explains_grid(inline: np.ndarray, crossline: np.ndarray, outliers: np.ndarray) -> bool:
    """Do these outliers spoil a grid? Without them the keys form a plausible one, and a
    smaller one than with them."""
    rest_il, rest_xl = inline[~outliers], crossline[~outliers]
    return (outliers.any() and grid_problem(rest_il, rest_xl) is None
            and _cells(inline, crossline) > _cells(rest_il, rest_xl))


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
