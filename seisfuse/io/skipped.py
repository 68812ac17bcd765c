"""Traces left out of the grid by `--skip-traces` (damaged headers), kept byte for byte.

A trace whose keys are garbage cannot be placed on the survey's grid, but a byte-exact export
must give it back: its 240-byte header and its samples are kept, as read, in the store's
`skipped_traces` array (one row per trace, in file order) with their file positions and keys
in the root attribute `skipped_traces`, and export writes them back at their positions.
"""

from __future__ import annotations

import numpy as np
import zarr

from seisfuse.io import schema
from seisfuse.io.segy_file import SegyLayout, SegyReader

ARRAY = schema.SKIPPED


def write(group: zarr.Group, layout: SegyLayout, skipped: list[dict]) -> None:
    """Record the skipped traces (nothing when there are none)."""
    if not skipped:
        return
    positions = np.array([s["trace"] for s in skipped], dtype=np.int64)
    with SegyReader(layout) as reader:
        raw = reader.read_positions(positions).view(np.uint8).reshape(len(positions), layout.trace_size)
    array = schema.create_array(group, ARRAY, raw.shape, raw.shape, "uint8", ("_skipped", "_trace_byte"),
                                attrs={"long_name": "traces left out by --skip-traces: raw header and samples"})
    array[...] = raw


def read(group: zarr.Group) -> tuple[np.ndarray, np.ndarray]:
    """(file positions, raw trace bytes (n, trace size)) of the skipped traces; empty if none."""
    records = group.attrs.get(ARRAY) or []
    positions = np.array([s["trace"] for s in records], dtype=np.int64)
    if not len(positions):
        return positions, np.zeros((0, 0), np.uint8)
    return positions, group[ARRAY][...]


def describe(records: list[dict] | None) -> str | None:
    """For `info`: how many were left out, and which."""
    if not records:
        return None
    shown = "; ".join(f"trace {s['trace']} (inline {s['inline']}, crossline {s['crossline']})" for s in records[:5])
    return (f"{len(records)} (--skip-traces: left out of the grid, exported back as they were): {shown}"
            + ("; ..." if len(records) > 5 else ""))
