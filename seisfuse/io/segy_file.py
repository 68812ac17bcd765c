"""Reading SEG-Y: scan the file-level headers, then read trace headers and samples in runs.

Hand-written rather than through segyio because seisfuse needs (a) IBM floats decoded
exactly (see ibm.py), (b) every header byte kept for a byte-exact export, (c) formats
segyio does not read, and (d) bounded-memory block reads by file position at disk speed.
The tests cross-check the amplitudes against segyio on the shared real files.
"""

from __future__ import annotations

import mmap
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from seisfuse.errors import SegyFormatError
from seisfuse.io import segy_format as sf
from seisfuse.io.ibm import ibm_to_float32
from seisfuse.progress import Progress


@dataclass(frozen=True)
class SegyLayout:
    """Everything the file-level headers say, validated against the file size."""

    path: str
    file_size: int
    byteorder: str  # ">" big-endian or "<" little-endian
    byteorder_source: str  # "given" or "detected"
    text_headers: tuple[bytes, ...]  # primary then extended, raw bytes
    binary_header: bytes
    sample_format: sf.SampleFormat
    n_samples: int
    n_samples_source: str  # which header field gave the sample count
    data_offset: int
    n_traces: int
    sample_interval: float  # raw units of the header (us for time, mm or um for depth)
    revision: tuple[int, int]
    text_encoding: str
    extra: dict = field(default_factory=dict)

    @property
    def trace_size(self) -> int:
        return sf.TRACE_HEADER_SIZE + self.n_samples * self.sample_format.itemsize

    @property
    def trace_dtype(self) -> np.dtype:
        samples = self.byteorder + self.sample_format.file_dtype
        return np.dtype([("header", "u1", sf.TRACE_HEADER_SIZE), ("samples", samples, self.n_samples)])


def _plausible_format(bin_header: bytes, byteorder: str) -> bool:
    fmt = sf.BIN["format"].read(bin_header, byteorder, base=3201)
    return fmt in sf.SAMPLE_FORMATS or fmt in sf.RARE_FORMATS


def _plausible_samples(bin_header: bytes, byteorder: str, payload: int) -> bool:
    ns = sf.BIN["samples"].read(bin_header, byteorder, base=3201)
    return ns > 0 and any(payload % (sf.TRACE_HEADER_SIZE + ns * size) == 0 for size in (1, 2, 4, 8))


def detect_byteorder(bin_header: bytes, payload: int) -> str | None:
    """The byte order in which the binary header makes sense, or None when neither does.

    The rev-2 constant 16909060 decides alone; otherwise each order scores two points for
    an assigned sample-format code and one each for a positive sample interval and a
    sample count that divides the file into whole traces; the higher score wins.
    """
    constant = sf.BIN["byte_order_constant"]
    for order in (">", "<"):
        if constant.read(bin_header, order, base=3201) == sf.REV2_BYTE_ORDER_CONSTANT:
            return order
    scores = {order: 2 * _plausible_format(bin_header, order)
              + (sf.BIN["sample_interval"].read(bin_header, order, base=3201) > 0)
              + _plausible_samples(bin_header, order, payload) for order in (">", "<")}
    if scores[">"] == scores["<"] or max(scores.values()) < 2:
        return None
    return max(scores, key=scores.get)


def _read_text_headers(f, count: int, where: str) -> list[bytes]:
    f.seek(sf.FILE_HEADER_SIZE)
    headers = []
    while count < 0 or len(headers) < count:
        block = f.read(sf.TEXT_HEADER_SIZE)
        if len(block) < sf.TEXT_HEADER_SIZE:
            raise SegyFormatError(
                f"the binary header announces {count} extended textual headers but the file "
                f"ends after {len(headers)}", where=where,
                fix="the file is truncated, or the count at bytes 3505-3506 is wrong")
        headers.append(block)
        if count < 0 and sf.END_TEXT_STANZA in block:
            break
    return headers


def scan(path: str | os.PathLike, byteorder: str | None = None) -> SegyLayout:
    """Read and validate the file-level headers; nothing about traces is assumed yet."""
    where = str(path)
    path = Path(path)
    if not path.is_file():
        raise SegyFormatError("no such file", where=where, fix="check the path")
    size = path.stat().st_size
    if size < sf.FILE_HEADER_SIZE:
        raise SegyFormatError(
            f"file is {size} bytes, shorter than the 3600-byte SEG-Y file header", where=where,
            fix="this is not a SEG-Y file, or it was truncated while copying")
    with open(path, "rb") as f:
        text = f.read(sf.TEXT_HEADER_SIZE)
        binary = f.read(sf.BINARY_HEADER_SIZE)
        if byteorder is None:
            order = detect_byteorder(binary, size - sf.FILE_HEADER_SIZE)
            if order is None:
                raise SegyFormatError(
                    "cannot tell the byte order: neither the sample-format code (bytes 3225-3226) "
                    "nor the sample count (bytes 3221-3222) makes sense in either byte order", where=where,
                    fix="this is probably not a SEG-Y file; if it is, give --byteorder big|little")
            source = "detected"
        else:
            order = {"big": ">", "little": "<", ">": ">", "<": "<"}[byteorder]
            source = "given"

        def get(name):
            return sf.BIN[name].read(binary, order, base=3201)

        fmt = sf.sample_format(get("format"), f"{where} (binary header bytes 3225-3226, read "
                               f"{'big' if order == '>' else 'little'}-endian, {source})")
        revision = (get("revision_major"), get("revision_minor"))
        is_rev2 = get("byte_order_constant") == sf.REV2_BYTE_ORDER_CONSTANT
        ext_count = get("ext_text_headers")
        extended = _read_text_headers(f, ext_count, where) if ext_count else []
        data_offset = sf.FILE_HEADER_SIZE + sf.TEXT_HEADER_SIZE * len(extended)
        f.seek(data_offset)
        first_trace = f.read(sf.TRACE_HEADER_SIZE) if size > data_offset else b""

    # The sample count: binary header, rev-2 extended field, then the first trace header;
    # the first one that makes every trace the same size and fills the file exactly wins.
    candidates = [("binary header bytes 3221-3222", get("samples"))]
    if is_rev2:
        candidates.append(("binary header bytes 3269-3272 (rev 2)", get("ext_samples")))
    if len(first_trace) == sf.TRACE_HEADER_SIZE:
        candidates.append(("trace header bytes 115-116", sf.TRACE["samples"].read(first_trace, order)))
    payload = size - data_offset
    if payload <= 0:
        raise SegyFormatError(
            "the file has headers but no traces (0 traces)", where=where,
            fix="nothing to ingest: check that the export that wrote it finished")
    chosen = None
    for label, ns in candidates:
        trace_size = sf.TRACE_HEADER_SIZE + ns * fmt.itemsize
        if ns > 0 and payload % trace_size == 0:
            chosen = (label, ns)
            break
    extensions = get("additional_trace_headers") if is_rev2 else 0
    if chosen is None and 0 < extensions < 100:
        raise SegyFormatError(
            f"the file declares {extensions} additional 240-byte trace headers per trace "
            "(SEG-Y rev 2 extension), which seisfuse does not read", where=where,
            fix="strip the trace header extensions (e.g. with segyio) first")
    if chosen is None:
        said = ", ".join(f"{label} says {ns}" for label, ns in candidates)
        if all(ns == 0 for _, ns in candidates):
            what = "the number of samples per trace is 0 in every header that gives it"
            fix = "set binary header bytes 3221-3222 to the number of samples per trace"
        else:
            ns = next((ns for _, ns in candidates if ns > 0), 0)
            trace_size = sf.TRACE_HEADER_SIZE + ns * fmt.itemsize
            what = (f"the file size does not fit whole traces: {payload} bytes after the headers "
                    f"is {payload / trace_size:.2f} traces of {trace_size} bytes ({said}, "
                    f"format {fmt.code} = {fmt.itemsize} bytes per sample)")
            fix = ("the file is truncated (re-copy it) or has traces of varying length, "
                   "which seisfuse does not read; or the byte order is wrong")
        raise SegyFormatError(what, where=where, fix=fix)
    label, ns = chosen
    dt = get("sample_interval")
    if dt <= 0 and is_rev2 and get("ext_sample_interval") > 0:
        dt = get("ext_sample_interval")
    if dt <= 0 and first_trace:
        dt = sf.TRACE["sample_interval"].read(first_trace, order)
    if dt <= 0:  # a time or depth axis needs it: every later step (axes, plots, export) divides by it
        said = f"binary header bytes 3217-3218 say {get('sample_interval')}" + (
            f", the first trace header's bytes 117-118 say {sf.TRACE['sample_interval'].read(first_trace, order)}"
            if first_trace else "")
        raise SegyFormatError(f"no usable sample interval: {said}", where=where,
                              fix="set the sample interval (microseconds in time, millimetres in depth) in binary "
                                  "header bytes 3217-3218, e.g. with segyio")
    return SegyLayout(
        path=str(path), file_size=size, byteorder=order, byteorder_source=source,
        text_headers=(text, *extended), binary_header=binary, sample_format=fmt, n_samples=ns,
        n_samples_source=label, data_offset=data_offset,
        n_traces=payload // (sf.TRACE_HEADER_SIZE + ns * fmt.itemsize),
        sample_interval=float(dt), revision=revision, text_encoding=sf.text_encoding(text),
        extra={"rev2": is_rev2},
    )


class SegyReader:
    """Block reads of traces by file position; one open file handle per reader (per thread)."""

    def __init__(self, layout: SegyLayout):
        self.layout = layout
        self._file = open(layout.path, "rb", buffering=0)  # noqa: SIM115 - closed by close()/__exit__
        self._buffers: dict = {}

    def buffer(self, name: str, shape, dtype) -> np.ndarray:
        """A scratch array reused across blocks: fresh large arrays per block cost page faults
        that serialise threads on the kernel's memory map lock."""
        dtype = np.dtype(dtype)
        size = int(np.prod(shape))
        held = self._buffers.get(name)
        if held is None or held.size < size or held.dtype != dtype:
            held = self._buffers[name] = np.empty(size, dtype=dtype)
        return held[:size].reshape(shape)

    def close(self) -> None:
        self._file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def read_range(self, start: int, stop: int) -> np.ndarray:
        """Traces start..stop-1 as a structured array with 'header' (u1 x 240) and 'samples'."""
        out = np.empty(stop - start, dtype=self.layout.trace_dtype)
        self._read_into(out, start)
        return out

    def read_positions(self, positions: np.ndarray, reuse: bool = False) -> np.ndarray:
        """Traces at the given file positions (any order) as a structured array, in that order.

        Contiguous positions are read as one run, so a block of a sorted file costs a few
        large reads rather than one read per trace. With reuse, the result lives in a
        scratch buffer that the next call overwrites.
        """
        positions = np.asarray(positions, dtype=np.int64)
        out = self.buffer("traces", (len(positions),), self.layout.trace_dtype) if reuse else \
            np.empty(len(positions), dtype=self.layout.trace_dtype)
        if len(positions) == 0:
            return out
        gaps = np.diff(positions)
        if bool(np.all(gaps > 0)):  # ascending (a block of a sorted file): read runs in place
            for run in np.split(np.arange(len(positions)), np.flatnonzero(gaps != 1) + 1):
                self._read_into(out[run[0]:run[-1] + 1], int(positions[run[0]]))
            return out
        order = np.argsort(positions, kind="stable")
        sorted_pos = positions[order]
        staged = np.empty_like(out)
        breaks = np.flatnonzero(np.diff(sorted_pos) != 1) + 1
        for run in np.split(np.arange(len(sorted_pos)), breaks):
            self._read_into(staged[run[0]:run[-1] + 1], int(sorted_pos[run[0]]))
        out[order] = staged
        return out

    def _read_into(self, out: np.ndarray, first: int) -> None:
        ts = self.layout.trace_size
        buf = memoryview(out.view(np.uint8).reshape(-1))
        self._file.seek(self.layout.data_offset + first * ts)
        got = 0
        while got < len(buf):
            n = self._file.readinto(buf[got:])
            if not n:
                raise SegyFormatError(
                    f"file ended while reading trace {first + got // ts}", where=self.layout.path,
                    fix="the file changed or was truncated after it was scanned; re-copy it")
            got += n

    def header_words(self, fields: dict[str, tuple[int, str]], block_traces: int = 1 << 13) -> dict[str, np.ndarray]:
        """Read named header fields {name: (byte, dtype)} of every trace, streaming by block.

        Through a memory map of one block of traces at a time: each field is gathered as one
        strided view of the map (the samples are never copied, no Python loop per trace), two
        blocks at a time on large files (the page faults of mapping the file dominate, and
        run in parallel), so the pass runs at memory speed (BENCHMARKS.md). At most two blocks
        of the file are mapped (resident) at a time.
        """
        n = self.layout.n_traces
        out = {name: np.empty(n, dtype=dtype) for name, (_, dtype) in fields.items()}
        if n == 0 or not fields:
            return out
        starts = range(0, n, block_traces)
        # a bar only where the pass takes a while (it reads a page of every trace from disk
        # when the file is not cached); small files stay quiet
        with Progress(n, f"index {Path(self.layout.path).name}", unit="trace",
                      enabled=None if n > 64 * block_traces else False) as bar:
            def gather(start: int) -> int:
                count = min(block_traces, n - start)
                self._gather(start, count, fields, out)
                return count

            with ThreadPoolExecutor(2 if len(starts) > 8 else 1) as pool:
                for count in pool.map(gather, starts):
                    bar.update(count)
        return out

    def _gather(self, start: int, count: int, fields: dict, out: dict) -> None:
        """Fields of traces start..start+count-1 into out[name][start:start+count], through a
        memory map (or by reading whole traces where the file system cannot map files)."""
        ts, order = self.layout.trace_size, self.layout.byteorder
        first = self.layout.data_offset + start * ts
        base = first - first % mmap.ALLOCATIONGRANULARITY
        try:
            mapped = mmap.mmap(self._file.fileno(), first - base + count * ts, offset=base, access=mmap.ACCESS_READ)
        except (OSError, ValueError):
            with open(self.layout.path, "rb", buffering=0) as f:  # this thread's own handle
                raw = np.empty(count * ts, np.uint8)
                f.seek(first)
                f.readinto(memoryview(raw))
            headers = raw.reshape(count, ts)
            for name, (byte, dtype) in fields.items():
                part = np.ascontiguousarray(headers[:, byte - 1:byte - 1 + np.dtype(dtype).itemsize])
                out[name][start:start + count] = part.view(order + dtype).reshape(-1)
            return
        with mapped:
            for name, (byte, dtype) in fields.items():
                view = np.ndarray((count,), dtype=order + dtype, buffer=mapped, offset=first - base + byte - 1,
                                  strides=(ts,))
                out[name][start:start + count] = view  # a copy (and a byte swap): nothing points into the map
                del view  # the map cannot close while an array still points into it


def decode_samples(samples: np.ndarray, fmt: sf.SampleFormat, out: np.ndarray | None = None,
                   candidates: list | None = None) -> np.ndarray:
    """File samples (any byte order) -> the store dtype of the format, exactly. candidates (IBM
    only): receives the flat indices of words that may not re-encode to themselves."""
    if fmt.code == 1:
        return ibm_to_float32(samples, out=out, candidates=candidates)  # swaps and gathers piece by piece
    if out is None:
        return samples.astype(fmt.store_dtype)
    out[...] = samples
    return out
