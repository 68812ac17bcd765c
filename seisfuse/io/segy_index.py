"""The index step of ingest: read the key fields of every trace and place traces on a grid."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from seisfuse import geometry
from seisfuse.errors import GeometryError, SeisfuseError, unknown
from seisfuse.io import segy_format as sf
from seisfuse.io.segy_file import SegyLayout, SegyReader

LAYOUTS = ("auto", "3d", "2d")


@dataclass(frozen=True)
class SegyIndex:
    grid: geometry.TraceGrid
    key_bytes: tuple[int, int]
    coords: dict[str, np.ndarray]  # header coordinates on the grid: cdp_x, cdp_y, offset
    sample_axis: np.ndarray
    domain: str
    domain_source: str
    sample_unit: str
    dead: np.ndarray  # (grid) bool: a trace is there, flagged dead or dummy (identification code 2/3)
    layout: str = "3d"  # "3d" (a cube by its keys) or "2d" (file order)
    layout_source: str = "given"  # why: given, or what auto-detection found
    coordinate_source: str = "bytes 181/185 (CDP X/Y)"
    ranges: dict = None  # of header fields over the live traces, for info: x, y, offset, field record
    skipped: list = field(default_factory=list)  # traces left out by --skip-traces: {trace, inline, crossline}

    @property
    def n_dead(self) -> int:
        return int(self.dead.sum())

    def dead_examples(self, k: int = 5) -> list[str]:
        cells = np.argwhere(self.dead)[:k]
        dims = self.grid.dims
        return [" ".join(f"{d} {self.grid.axes[d][i]}" for d, i in zip(dims, cell)) for cell in cells]


def _fields(key_bytes, xy_bytes=(181, 185)) -> dict[str, tuple[int, str]]:
    """The header fields read from every trace: the keys, coordinates, scalar, offset, field
    record and trace identification code (other byte locations only when these keys fail)."""
    return {f"b{key_bytes[0]}": (key_bytes[0], "i4"), f"b{key_bytes[1]}": (key_bytes[1], "i4"),
            "x": (xy_bytes[0], "i4"), "y": (xy_bytes[1], "i4"), "scalar": (71, "i2"), "offset": (37, "i4"),
            "field_record": (9, "i4"), "trace_id": (29, "i2")}


def _candidate_fields(key_bytes) -> dict[str, tuple[int, str]]:
    """The other common key byte locations, read when the given keys form no grid (to suggest)."""
    return {f"b{b}": (b, "i4") for pair in sf.CANDIDATE_KEY_BYTES for b in pair if b not in key_bytes}


def check_key_byte(byte: int, name: str) -> None:
    if not 1 <= byte <= sf.TRACE_HEADER_SIZE - 3:
        raise SeisfuseError(f"{name} {byte} is outside the 240-byte trace header",
                            fix=f"give a 1-based byte position from 1 to {sf.TRACE_HEADER_SIZE - 3}")


def detect_domain(text: str, requested: str) -> tuple[str, str]:
    if requested in ("time", "depth"):
        return requested, "given"
    if requested != "auto":
        raise SeisfuseError(f"unknown domain {requested!r}", fix="use time, depth or auto")
    # "time/depth" is a generic label (e.g. "Trace start time/depth: bytes 109-110"), not a statement
    lines = [re.sub(r"time\s*/\s*depth|depth\s*/\s*time", " ", line, flags=re.IGNORECASE) for line in text.splitlines()]
    depth = next((line.strip() for line in lines if re.search(r"\bDEPTH\b", line, re.IGNORECASE)), None)
    time = next((line.strip() for line in lines if re.search(r"\bTIME\b|\bTWT\b", line, re.IGNORECASE)), None)
    if depth and not time:
        return "depth", f"the textual header says so: {depth[:60]!r}"
    if time and not depth:
        return "time", f"the textual header says so: {time[:60]!r}; pass --domain depth if it is depth data"
    if time and depth:
        return "time", (f"the textual header names both ({time[:40]!r}, {depth[:40]!r}): time assumed; "
                        "pass --domain depth for depth data")
    return "time", "the default: the textual header names neither; pass --domain depth for depth data"


def check_skip_traces(skip, n_traces: int, where: str) -> np.ndarray:
    """The file positions of --skip-traces, sorted; each must be a trace of the file."""
    skip = np.unique(np.asarray(list(skip or ()), dtype=np.int64))
    bad = skip[(skip < 0) | (skip >= n_traces)]
    if len(bad):
        raise GeometryError(f"--skip-traces names trace {bad[0]}, but the file has {n_traces} traces "
                            f"(0..{n_traces - 1}, 0-based positions in the file)", where=where,
                            fix="give the trace numbers that the refusal named")
    return skip


def _outlier_error(il, xl, positions, outliers, key_bytes, where: str) -> GeometryError:
    """Name the traces whose keys lie far outside the others', and the fix that skips them."""
    rest_il, rest_xl = il[~outliers], xl[~outliers]
    axes = {"inline": geometry.axis_extent(rest_il), "crossline": geometry.axis_extent(rest_xl)}

    def off_grid(name: str, value: int) -> bool:
        first, step, size = axes[name]
        return not (first <= value <= first + step * (size - 1) and (value - first) % step == 0)

    named = []
    for k in np.flatnonzero(outliers)[:5]:
        keys = {"inline": int(il[k]), "crossline": int(xl[k])}
        odd = [f"{name} {v}" for name, v in keys.items() if off_grid(name, v)] or [f"{n} {v}" for n, v in keys.items()]
        named.append(f"trace {positions[k]}: {', '.join(odd)}")
    n = int(outliers.sum())
    skip = ",".join(str(int(p)) for p in positions[outliers])
    return GeometryError(
        f"{n} trace{'s' if n > 1 else ''} {'have' if n > 1 else 'has'} keys far outside the other "
        f"{len(rest_il)} traces' (inline {rest_il.min()}..{rest_il.max()} at bytes {key_bytes[0]}-{key_bytes[0] + 3}, "
        f"crossline {rest_xl.min()}..{rest_xl.max()} at bytes {key_bytes[1]}-{key_bytes[1] + 3}), as a damaged "
        f"header has: {'; '.join(named)}{'; ...' if n > 5 else ''}", where=where,
        fix=f"ingest without {'them' if n > 1 else 'it'}: --skip-traces {skip} (recorded, and exported back as "
            f"{'they were' if n > 1 else 'it was'}); or check the key bytes")


def build_index(layout: SegyLayout, reader: SegyReader, *, iline_byte: int = 189, xline_byte: int = 193,
                mode: str = "auto", duplicates: str = "error", domain: str = "auto",
                allow_short_tail: bool = False, x_byte: int = 181, y_byte: int = 185,
                skip_traces=()) -> SegyIndex:
    if mode not in LAYOUTS:
        raise unknown("layout", mode, LAYOUTS, error=SeisfuseError)
    check_key_byte(iline_byte, "--iline-byte")
    check_key_byte(xline_byte, "--xline-byte")
    skipped = check_skip_traces(skip_traces, layout.n_traces, layout.path)
    all_words = reader.header_words(_fields((iline_byte, xline_byte), (x_byte, y_byte)))
    keep = np.ones(layout.n_traces, dtype=bool)
    keep[skipped] = False
    positions = np.flatnonzero(keep)

    def kept(fields: dict) -> dict:
        return {name: values[keep] for name, values in fields.items()} if len(skipped) else fields

    words = kept(all_words)
    offsets, counts = np.unique(words["offset"], return_counts=True)
    # post-stack traces share one offset; gathers do not (a few traces with another offset are
    # damaged headers of a stack, not gathers: they are not the layout's business)
    prestack = len(positions) - (counts.max() if len(counts) else 0) > geometry.outlier_cap(len(positions))
    source = "given"
    if mode == "auto" and prestack:
        mode, source = "2d", (f"auto: offsets vary ({offsets[0]}..{offsets[-1]}): pre-stack gathers, kept in file "
                              "order as a 2D store (trace, sample); pass --layout 3d for a cube")
    if mode == "2d":
        grid = geometry.grid_2d(len(positions), positions)
    else:
        il, xl = words[f"b{iline_byte}"].astype(np.int64), words[f"b{xline_byte}"].astype(np.int64)
        outliers = geometry.key_outliers(il, xl)
        if geometry.explains_grid(il, xl, outliers):
            raise _outlier_error(il, xl, positions, outliers, (iline_byte, xline_byte), layout.path)
        def alternatives() -> dict:  # other byte locations, read only to suggest a fix
            if prestack:
                return {}
            other = {**words, **kept(reader.header_words(_candidate_fields((iline_byte, xline_byte))))}
            return {(ib, xb): (other[f"b{ib}"], other[f"b{xb}"]) for ib, xb in sf.CANDIDATE_KEY_BYTES}

        try:
            grid = geometry.grid_3d(il, xl, duplicates=duplicates, key_bytes=(iline_byte, xline_byte),
                                    where=layout.path, alternatives=alternatives, prestack=prestack,
                                    positions=positions)
            source = "auto: the keys form a grid" if mode == "auto" else source
        except GeometryError:
            cells = len(np.unique(il * (1 << 32) + xl))
            one_cell = cells == 1  # the same keys on every trace: a line or gather without line numbers
            no_grid = cells == len(il) and not geometry.rank_key_candidates(alternatives())  # no grid, no duplicates
            if mode != "auto" or not (one_cell or no_grid):
                raise  # a cube: duplicates, or other byte locations that form a grid (the error lists them)
            grid, source = geometry.grid_2d(len(positions), positions), (
                f"auto: the keys at bytes {iline_byte}/{xline_byte} are the same on every trace" if one_cell else
                f"auto: the keys at bytes {iline_byte}/{xline_byte} form no grid, nor do other common byte locations")
            source += ": a 2D line in file order (trace, sample); pass --layout 3d and the key bytes for a cube"
        mode = "3d"
        n_cut, line = geometry.truncated_tail(grid)
        if n_cut and not allow_short_tail:
            raise GeometryError(
                f"the grid is complete except the last {n_cut} traces of {line}, the last line in the "
                f"file: the file looks truncated by {n_cut} whole traces", where=layout.path,
                fix="re-copy the file; if the survey really ends early, pass --allow-short-tail")
    live = grid.live
    at = np.where(live, grid.trace_at_cell, 0)  # file positions
    xy_scale = sf.scale_coordinate(1.0, all_words["scalar"])
    x, y, coordinate_source = all_words["x"], all_words["y"], f"bytes {x_byte}/{y_byte}"
    if (x_byte, y_byte) == (181, 185) and not words["x"].any() and not words["y"].any():
        shot = reader.header_words({"x": (73, "i4"), "y": (77, "i4")})  # read only when CDP X/Y are empty
        if kept(shot)["x"].any() or kept(shot)["y"].any():
            x, y = shot["x"], shot["y"]
            coordinate_source = "bytes 73/77 (source X/Y: CDP X/Y at 181/185 are all zero)"
    coords = {
        "cdp_x": np.where(live, x[at] * xy_scale[at], np.nan),
        "cdp_y": np.where(live, y[at] * xy_scale[at], np.nan),
        "offset": np.where(live, all_words["offset"][at], 0).astype(np.int32),
    }
    text = sf.decode_text(layout.text_headers[0])
    dom, dom_source = detect_domain(text, domain)
    first = int(grid.trace_at_cell.reshape(-1)[live.reshape(-1)][0]) if live.any() else 0
    header = reader.read_range(first, first + 1)["header"][0]
    delay = float(sf.scale_coordinate(sf.TRACE["delay_time"].read(header, layout.byteorder),
                                      sf.TRACE["time_scalar"].read(header, layout.byteorder)))
    step = layout.sample_interval / 1000.0  # us -> ms (time); mm -> m (depth)
    sample_axis = delay + step * np.arange(layout.n_samples, dtype=np.float64)
    dead = live & np.isin(all_words["trace_id"], sf.DEAD_TRACE_CODES)[at]
    scale = xy_scale[keep] if len(skipped) else xy_scale
    fields = {"x": x[keep] * scale, "y": y[keep] * scale, "offset": words["offset"],
              "field_record": words["field_record"]}
    ranges = {name: (float(np.min(v)), float(np.max(v))) if len(v) else None for name, v in fields.items()}
    skipped_keys = [{"trace": int(t), "inline": int(all_words[f"b{iline_byte}"][t]),
                     "crossline": int(all_words[f"b{xline_byte}"][t])} for t in skipped]
    return SegyIndex(grid, (iline_byte, xline_byte), coords, sample_axis, dom, dom_source,
                     "ms" if dom == "time" else "m", dead, mode if grid.dims != ("trace",) else "2d", source,
                     coordinate_source, ranges, skipped_keys)
