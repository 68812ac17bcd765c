"""Stores from numpy/xarray data, and variables (labels, predictions) added to a store.

A store made here has the same schema as an ingested one: synthesised SEG-Y headers
(IEEE float, big-endian, inline/crossline at 189/193, CDP X/Y on a 25 m grid) so that
every store can be exported as SEG-Y.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import zarr

from seisfuse import stats
from seisfuse._version import __version__
from seisfuse.errors import GeometryError
from seisfuse.geometry import VOLUME_DIMS, canonical_dims
from seisfuse.io import schema
from seisfuse.io.blocks import chunk_blocks
from seisfuse.io.chunkio import ChunkIO
from seisfuse.io.segy_write import binary_header, text_header, trace_headers

DIMS = {3: ("inline", "crossline", "sample"), 2: ("trace", "sample")}
BIN_SIZE_M = 25.0


def _unpack(amplitude, dims):
    """numpy or xarray.DataArray -> (array, dims, coords), a DataArray read by its dim names
    (segysak's iline/xline/twt and MDIO's names too) and put in seisfuse's order."""
    coords = {}
    if hasattr(amplitude, "dims") and hasattr(amplitude, "coords"):
        names = canonical_dims(amplitude.dims, where="the DataArray given to store_from_array")
        coords = {n: np.asarray(amplitude[d].values) for d, n in zip(amplitude.dims, names) if d in amplitude.coords}
        order = [names.index(d) for d in VOLUME_DIMS[len(names)]]
        amplitude, dims = np.transpose(amplitude.data, order), VOLUME_DIMS[len(names)]
    amplitude = amplitude if isinstance(amplitude, np.ndarray) else np.asarray(amplitude)
    if np.iscomplexobj(amplitude) or not np.issubdtype(amplitude.dtype, np.number):
        raise GeometryError(f"values of dtype {amplitude.dtype} cannot be stored as amplitudes or labels",
                            fix="give real numbers (for complex traces, store the real part or the envelope)")
    dims = tuple(dims or DIMS.get(amplitude.ndim, ()))
    if amplitude.ndim not in DIMS or dims != DIMS[amplitude.ndim]:
        raise GeometryError(
            f"an array of shape {amplitude.shape} with dims {dims} is not a seisfuse volume",
            fix="give (inline, crossline, sample) for a survey or a stack of images, "
                "or (trace, sample) for a section")
    return amplitude, dims, coords


def _sample_axis(coord, n: int, interval: float | None, start: float | None, unit: str) -> tuple[float, float]:
    """(start, interval) of the sample axis: from a regular sample coordinate, or the arguments
    (default 0 and 4); a coordinate that is irregular or disagrees with the arguments is refused."""
    if coord is not None and len(coord) > 1:
        steps = np.diff(np.asarray(coord, dtype=np.float64))
        if not np.allclose(steps, steps[0], rtol=1e-6, atol=1e-9) or steps[0] <= 0:
            raise GeometryError(f"the sample coordinate is not regular (steps from {steps.min():g} to "
                                f"{steps.max():g} {unit})", fix="resample to a constant sample interval first")
        found = (float(coord[0]), float(steps[0]))
        given = (start if start is not None else found[0], interval if interval is not None else found[1])
        if not np.allclose(given, found, rtol=1e-6):
            raise GeometryError(f"sample_start/sample_interval {given} disagree with the sample coordinate "
                                f"(start {found[0]:g}, interval {found[1]:g} {unit})",
                                fix="leave them out (the coordinate is used) or fix the coordinate")
        return found
    return float(start or 0.0), float(interval or 4.0)


def store_from_array(amplitude, path, *, labels: dict | None = None, dims=None, sample_interval: float | None = None,
                     sample_start: float | None = None,
                     chunks=None, overwrite: bool = False, domain: str = "time",
                     text: list[str] | None = None, trace_mask=None, attrs: dict | None = None) -> Path:
    """Build a complete store from an in-memory (or memory-mapped) volume and its labels.

    The sample axis (ms in time, m in depth) comes from the DataArray's sample coordinate
    (which must be regular), else from sample_start (default 0) and sample_interval (default
    4); it is kept through the store and export (binary header interval, trace delay).
    Coordinates of an xarray input are kept; numpy inputs get inline/crossline numbers from 1.
    `trace_mask` (bool, the spatial shape; default all live) marks missing traces (e.g. the
    padding of narrower images in a stack): they are left out of the statistics and of
    training. `attrs` are added to the store's root attributes.

    Args:
        amplitude: the volume: numpy (inline, crossline, sample) or (trace, sample), or an
            xarray.DataArray read by its dim names.
        path: the store to write.
        labels: {name: array of the same shape} written as variables.
        dims, sample_interval, sample_start, domain: the axes (see above).
        chunks: the chunk shape (default 64^3, or 4096 x 256 for a line).
        overwrite: replace an existing store.
        text: lines of the textual header (default: a description of the store).
        trace_mask: live traces (default all).
        attrs: extra root attributes.

    Returns:
        Path: the store.

    Raises:
        GeometryError: an array that is not a volume, an irregular sample axis, a mask of
            the wrong shape.
        StoreError: an existing store without overwrite.
    """
    amplitude, dims, coords = _unpack(amplitude, dims)
    path = Path(path)
    schema.prepare_path(path, overwrite)
    with schema.removed_on_failure(path):  # nothing to resume here: a failed build starts clean
        return _build(amplitude, dims, coords, path, labels=labels, sample_interval=sample_interval,
                      sample_start=sample_start, chunks=chunks, domain=domain, text=text, trace_mask=trace_mask,
                      attrs=attrs)


def _build(amplitude, dims, coords, path: Path, *, labels, sample_interval, sample_start, chunks, domain, text,
           trace_mask, attrs) -> Path:
    spatial = dims[:-1]
    shape = amplitude.shape
    axes = {d: np.asarray(coords.get(d, np.arange(1, shape[i] + 1)), dtype=np.int64)
            for i, d in enumerate(spatial)}
    unit = "ms" if domain == "time" else "m"
    start, sample_interval = _sample_axis(coords.get("sample"), shape[-1], sample_interval, sample_start, unit)
    if start != round(start) or not -32768 <= start <= 32767:
        raise GeometryError(f"the first sample at {start:g} {unit} is not a whole number that fits SEG-Y's delay "
                            "field (bytes 109-110)", fix="start the sample axis at a whole number of ms (or m)")
    sample_axis = start + sample_interval * np.arange(shape[-1], dtype=np.float64)
    store_dtype = np.result_type(amplitude.dtype, np.float32)
    fmt = 5 if store_dtype == np.float32 else 6
    dt_us = int(round(sample_interval * 1000))
    if len(spatial) == 2:
        il, xl = np.meshgrid(axes["inline"], axes["crossline"], indexing="ij")
    else:
        il, xl = np.ones(shape[0], dtype=np.int64), axes["trace"]
    il, xl = il.reshape(-1), xl.reshape(-1)
    x = (xl - xl.min()) * BIN_SIZE_M
    y = (il - il.min()) * BIN_SIZE_M
    chunks = tuple(chunks or (schema.DEFAULT_CHUNKS if len(spatial) == 2 else (4096, 256)))
    lines = text or [f"seisfuse {__version__} store_from_array", f"shape {dict(zip(dims, shape))}",
                     "inline bytes 189-192, crossline 193-196, CDP X/Y 181/185 (scalar -100)",
                     f"sample interval {sample_interval:g} {unit}, first sample {start:g} {unit}, IEEE float"]
    n_traces = int(np.prod(shape[:-1]))
    live = np.ones(shape[:-1], bool) if trace_mask is None else np.asarray(trace_mask, bool)
    if live.shape != shape[:-1]:
        raise GeometryError(f"trace_mask has shape {live.shape}, the traces {shape[:-1]}",
                            fix="give one bool per trace")
    root = schema.root_attributes(
        spatial_dims=spatial, text_headers=[text_header(lines)], binary_header=binary_header(shape[-1], dt_us, fmt),
        text_encoding="ebcdic", sample_format=fmt, byteorder="big", iline_byte=189, xline_byte=193,
        sample_interval=dt_us, sample_unit=unit, domain=domain, domain_source="given",
        n_traces=n_traces, n_live=int(live.sum()), n_missing=int(n_traces - live.sum()))
    group = schema.create_store(
        path, attrs={**root, **(attrs or {})}, shape=shape, chunks=chunks, dtype=store_dtype, dims=spatial,
        axes=axes, sample_axis=sample_axis, sample_unit=unit, domain=domain, source_format=fmt,
        coords={"cdp_x": x.reshape(shape[:-1]).astype(np.float64), "cdp_y": y.reshape(shape[:-1]).astype(np.float64),
                "offset": np.zeros(shape[:-1], dtype=np.int32)})
    headers = trace_headers(il, xl, shape[-1], dt_us, cdp_x=x, cdp_y=y, delay=int(start)).reshape(*shape[:-1], -1)
    index = np.arange(int(np.prod(shape[:-1]))).reshape(shape[:-1])
    io = {name: ChunkIO(group[name]) for name in (schema.TRACE_HEADERS, schema.TRACE_MASK, schema.TRACE_INDEX)}
    for block in chunk_blocks(shape[:-1], chunks[:-1], shape[-1] * 4):
        io[schema.TRACE_HEADERS].write(block, headers[block])
        io[schema.TRACE_MASK].write(block, live[block])
        io[schema.TRACE_INDEX].write(block, index[block])
    summary = _write_blocks(group, schema.AMPLITUDE, amplitude, store_dtype, live)
    for name, values in (labels or {}).items():
        write_variable(group, name, values)
    schema.mark_complete(group, schema.AMPLITUDE, summary)  # the store's marker, last of all
    return path


def _write_blocks(group: zarr.Group, name: str, values, dtype, live: np.ndarray | None = None) -> dict:
    array = group[name]
    blocks = chunk_blocks(array.shape[:-1], array.chunks[:-1], array.shape[-1] * 4)
    summary = stats.StreamingStats(per_block=max(1024, (1 << 22) // max(len(blocks), 1)))
    io = ChunkIO(array)
    for block in blocks:
        data = np.asarray(values[block], dtype=dtype)
        io.write(block, data)
        summary.update(data if live is None else data[live[block]])  # statistics of the live traces
    return summary.summary()


def write_variable(store, name: str, values, *, overwrite: bool = False, attrs: dict | None = None,
                   dtype=None) -> None:
    """Add a label or prediction variable (same shape as amplitude) to a complete store.

    Args:
        store: the store (its path, or an open group).
        name: the variable's name (not a reserved one).
        values: an array of the amplitude's shape (numpy, memory-mapped, or a DataArray).
        overwrite: replace a complete variable of that name.
        attrs: the variable's attributes (e.g. class_names, unlabelled).
        dtype: the stored dtype (default the values').

    Returns:
        None.

    Raises:
        StoreError: a reserved name, an existing variable without overwrite.
        GeometryError: values of another shape or not real numbers.
    """
    group = store if hasattr(store, "arrays") else schema.open_group(store, mode="r+")  # a group, or its path
    schema.check_new_variable(group, name, overwrite)
    values = _unpack(values, None)[0] if hasattr(values, "dims") else values  # a DataArray by its dim names
    if np.iscomplexobj(values) or not np.issubdtype(np.asarray(values[:0]).dtype, np.number):
        raise GeometryError(f"variable {name!r} has dtype {values.dtype}, not real numbers",
                            fix="give a real-valued label or prediction")
    dtype = np.dtype(dtype or values.dtype)
    schema.create_variable(group, name, dtype, attrs=attrs, shape=values.shape)
    schema.mark_complete(group, name, _write_blocks(group, name, values, dtype))
