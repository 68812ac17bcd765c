"""Helpers for tests: tiny SEG-Y files whose values encode their coordinates."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from seisfuse.io import segy_write as sw


def coordinate_values(inline, crossline, n_samples) -> np.ndarray:
    """value = inline * 1000 + crossline + sample / 100: every sample says where it belongs."""
    inline = np.asarray(inline, dtype=np.float64)[:, None]
    crossline = np.asarray(crossline, dtype=np.float64)[:, None]
    return inline * 1000 + crossline + np.arange(n_samples)[None, :] / 100


def write_segy(path, inline, crossline, values, *, fmt: int = 5, byteorder: str = ">",
               sample_interval_us: int = 4000, extended: list[bytes] | None = None,
               binary_samples: int | None = None, trace_samples: int | None = None) -> Path:
    """A small SEG-Y file, traces in the given order (so tests can swap, drop or repeat them)."""
    inline, crossline = np.asarray(inline), np.asarray(crossline)
    values = np.asarray(values)
    ns = values.shape[1]
    binary = np.frombuffer(sw.binary_header(ns if binary_samples is None else binary_samples,
                                            sample_interval_us, fmt, byteorder), np.uint8).copy()
    if extended:
        sw.put_field(binary, sw.sf.BIN["ext_text_headers"], len(extended), byteorder, base=3201)
    headers = sw.trace_headers(inline, crossline, ns, sample_interval_us, cdp_x=crossline * 25.0,
                               cdp_y=inline * 25.0, byteorder=byteorder)
    if trace_samples is not None:
        sw.put_field(headers, sw.sf.TRACE["samples"], np.full(len(inline), trace_samples), byteorder)
    with open(path, "wb") as f:
        f.write(sw.text_header(["seisfuse test file"]))
        f.write(binary.tobytes())
        for block in extended or []:
            f.write(block)
        f.write(np.concatenate([headers, sw.encode_samples(values, fmt, byteorder)], axis=1).tobytes())
    return Path(path)


def grid_traces(n_il=4, n_xl=3, il0=10, xl0=100, il_step=1, xl_step=1):
    il, xl = np.meshgrid(il0 + il_step * np.arange(n_il), xl0 + xl_step * np.arange(n_xl), indexing="ij")
    return il.reshape(-1), xl.reshape(-1)
