"""The index step of ingest: read the key fields of every trace and place traces on a grid."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from seisfuse import geometry
from seisfuse.errors import GeometryError, SeisfuseError
from seisfuse.io import segy_format as sf
from seisfuse.io.segy_file import SegyLayout, SegyReader

LAYOUTS = ("3d", "2d")


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

    @property
    def n_dead(self) -> int:
        return int(self.dead.sum())

    def dead_examples(self, k: int = 5) -> list[str]:
        cells = np.argwhere(self.dead)[:k]
        dims = self.grid.dims
        return [" ".join(f"{d} {self.grid.axes[d][i]}" for d, i in zip(dims, cell)) for cell in cells]


def _fields(key_bytes) -> dict[str, tuple[int, str]]:
    fields = {"cdp_x": (181, "i4"), "cdp_y": (185, "i4"), "scalar": (71, "i2"), "offset": (37, "i4"),
              "delay": (109, "i2"), "time_scalar": (215, "i2"), "trace_id": (29, "i2")}
    for ib, xb in {tuple(key_bytes), *sf.CANDIDATE_KEY_BYTES}:
        fields[f"b{ib}"] = (ib, "i4")
        fields[f"b{xb}"] = (xb, "i4")
    return fields


def check_key_byte(byte: int, name: str) -> None:
    if not 1 <= byte <= sf.TRACE_HEADER_SIZE - 3:
        raise SeisfuseError(f"{name} {byte} is outside the 240-byte trace header",
                            fix=f"give a 1-based byte position from 1 to {sf.TRACE_HEADER_SIZE - 3}")


def detect_domain(text: str, requested: str) -> tuple[str, str]:
    if requested in ("time", "depth"):
        return requested, "given"
    if requested != "auto":
        raise SeisfuseError(f"unknown domain {requested!r}", fix="use time, depth or auto")
    has_depth = re.search(r"\bDEPTH\b", text, re.IGNORECASE) is not None
    has_time = re.search(r"\bTIME\b|\bTWT\b", text, re.IGNORECASE) is not None
    if has_depth and not has_time:
        return "depth", "textual header mentions DEPTH"
    return "time", "default (pass --domain depth for depth data)"


def build_index(layout: SegyLayout, reader: SegyReader, *, iline_byte: int = 189, xline_byte: int = 193,
                mode: str = "3d", duplicates: str = "error", domain: str = "auto",
                allow_short_tail: bool = False) -> SegyIndex:
    if mode not in LAYOUTS:
        raise SeisfuseError(f"unknown layout {mode!r}", fix=f"use one of {', '.join(LAYOUTS)}")
    check_key_byte(iline_byte, "--iline-byte")
    check_key_byte(xline_byte, "--xline-byte")
    words = reader.header_words(_fields((iline_byte, xline_byte)))
    if mode == "2d":
        grid = geometry.grid_2d(layout.n_traces)
    else:
        alternatives = {(ib, xb): (words[f"b{ib}"], words[f"b{xb}"]) for ib, xb in sf.CANDIDATE_KEY_BYTES}
        grid = geometry.grid_3d(words[f"b{iline_byte}"], words[f"b{xline_byte}"], duplicates=duplicates,
                                key_bytes=(iline_byte, xline_byte), where=layout.path,
                                alternatives=alternatives)
        n_cut, line = geometry.truncated_tail(grid)
        if n_cut and not allow_short_tail:
            raise GeometryError(
                f"the grid is complete except the last {n_cut} traces of {line}, the last line in the "
                f"file: the file looks truncated by {n_cut} whole traces", where=layout.path,
                fix="re-copy the file; if the survey really ends early, pass --allow-short-tail")
    live = grid.live
    at = np.where(live, grid.trace_at_cell, 0)
    xy_scale = sf.scale_coordinate(1.0, words["scalar"])
    coords = {
        "cdp_x": np.where(live, words["cdp_x"][at] * xy_scale[at], np.nan),
        "cdp_y": np.where(live, words["cdp_y"][at] * xy_scale[at], np.nan),
        "offset": np.where(live, words["offset"][at], 0).astype(np.int32),
    }
    text = sf.decode_text(layout.text_headers[0])
    dom, dom_source = detect_domain(text, domain)
    first = int(grid.trace_at_cell.reshape(-1)[live.reshape(-1)][0]) if live.any() else 0
    delay = float(sf.scale_coordinate(words["delay"][first], words["time_scalar"][first]))
    step = layout.sample_interval / 1000.0  # us -> ms (time); mm -> m (depth)
    sample_axis = delay + step * np.arange(layout.n_samples, dtype=np.float64)
    dead = live & np.isin(words["trace_id"], sf.DEAD_TRACE_CODES)[at]
    return SegyIndex(grid, (iline_byte, xline_byte), coords, sample_axis, dom, dom_source,
                     "ms" if dom == "time" else "m", dead)
