"""Building SEG-Y headers and encoding samples, for export and for synthetic surveys."""

from __future__ import annotations

import numpy as np

from seisfuse.errors import SeisfuseError
from seisfuse.io import segy_format as sf
from seisfuse.io.ibm import float32_to_ibm

OUTPUT_FORMATS = ("source", "ibm", "ieee")


def text_header(lines: list[str]) -> bytes:
    """40 card images of 80 characters ("C 1 ..."), EBCDIC-encoded as SEG-Y rev 1 asks."""
    cards = [f"C{i + 1:2d} {line}"[:80].ljust(80) for i, line in enumerate((lines + [""] * 40)[:40])]
    return "".join(cards).encode("cp037")


def binary_header(n_samples: int, sample_interval_us: int, format_code: int, byteorder: str = ">",
                  revision: int = 0x0100) -> bytes:
    raw = np.zeros(sf.BINARY_HEADER_SIZE, dtype=np.uint8)
    put_field(raw, sf.BIN["sample_interval"], sample_interval_us, byteorder, base=3201)
    put_field(raw, sf.BIN["samples"], n_samples, byteorder, base=3201)
    put_field(raw, sf.BIN["format"], format_code, byteorder, base=3201)
    put_field(raw, sf.BIN["sorting"], 4, byteorder, base=3201)  # 4 = horizontally stacked
    put_field(raw, sf.BIN["measurement_system"], 1, byteorder, base=3201)  # metres
    put_field(raw, sf.Field(3501, "u2"), revision, byteorder, base=3201)
    put_field(raw, sf.BIN["fixed_length"], 1, byteorder, base=3201)
    return raw.tobytes()


def put_field(raw: np.ndarray, field: sf.Field, value, byteorder: str, base: int = 1) -> None:
    """Write `value` into a header (uint8 array, 1-D or (n, size)) at the field's position."""
    size = np.dtype(field.dtype).itemsize
    start = field.byte - base
    encoded = np.asarray(value).astype(byteorder + field.dtype).reshape(-1, 1).view(np.uint8)
    if raw.ndim == 1:
        raw[start:start + size] = encoded.reshape(-1)
    else:
        raw[:, start:start + size] = encoded


def trace_headers(inline: np.ndarray, crossline: np.ndarray, n_samples: int, sample_interval_us: int,
                  cdp_x: np.ndarray | None = None, cdp_y: np.ndarray | None = None,
                  coordinate_scalar: int = -100, byteorder: str = ">", delay: int = 0) -> np.ndarray:
    """(n, 240) uint8 trace headers with the rev-1 fields a reader of a 3D survey needs."""
    n = len(inline)
    raw = np.zeros((n, sf.TRACE_HEADER_SIZE), dtype=np.uint8)
    seq = np.arange(1, n + 1)
    factor = abs(coordinate_scalar) if coordinate_scalar < 0 else 1.0 / max(coordinate_scalar, 1)
    fields = {
        "trace_sequence_line": seq, "trace_sequence_file": seq, "field_record": inline,
        "trace_number": crossline, "cdp": crossline, "inline": inline, "crossline": crossline,
        "samples": np.full(n, n_samples), "sample_interval": np.full(n, sample_interval_us),
        "coordinate_scalar": np.full(n, coordinate_scalar), "delay_time": np.full(n, delay),
    }
    if cdp_x is not None:
        fields["cdp_x"] = np.rint(np.asarray(cdp_x) * factor)
        fields["cdp_y"] = np.rint(np.asarray(cdp_y) * factor)
        fields["source_x"], fields["source_y"] = fields["cdp_x"], fields["cdp_y"]
        fields["group_x"], fields["group_y"] = fields["cdp_x"], fields["cdp_y"]
    raw[:, 28:30] = np.frombuffer(np.int16(1).astype(byteorder + "i2").tobytes(), np.uint8)  # trace id: seismic
    for name, values in fields.items():
        put_field(raw, sf.TRACE[name], values, byteorder)
    return raw


def output_format(requested: str, source_code: int, var_is_source: bool, where: str) -> int:
    """The sample-format code to write: `source`, `ibm` (1) or `ieee` (5)."""
    if requested not in OUTPUT_FORMATS:
        raise SeisfuseError(f"unknown output format {requested!r}", where=where,
                            fix=f"use one of {', '.join(OUTPUT_FORMATS)}")
    if requested == "ibm":
        return 1
    if requested == "ieee":
        return 5
    if not var_is_source and source_code not in (1, 5, 6):
        raise SeisfuseError(
            f"the source format {source_code} ({sf.SAMPLE_FORMATS[source_code].name}) is an integer "
            "format and cannot hold this variable's values exactly", where=where,
            fix="export with --format ieee (or ibm)")
    return source_code


def encode_samples(values: np.ndarray, format_code: int, byteorder: str, out: np.ndarray | None = None) -> np.ndarray:
    """Samples (n, ns) -> file bytes (n, ns * itemsize) in the given format and byte order,
    written into `out` (such as the sample field of trace records) when given."""
    fmt = sf.SAMPLE_FORMATS[format_code]
    if out is None:
        out = np.empty((values.shape[0], values.shape[1] * fmt.itemsize), dtype=np.uint8)
    target = out.view(byteorder + ("u4" if format_code == 1 else fmt.file_dtype))
    if format_code == 1:
        float32_to_ibm(values, out=target)
    else:
        target[...] = values  # cast and byte swap in one pass
    return out
