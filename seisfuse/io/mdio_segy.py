"""SEG-Y out of an MDIO v1 store: its file headers, its trace headers, its amplitude or any
variable, byte-exact against the SEG-Y the store was made from when MDIO kept everything.

What MDIO keeps decides what comes back (each loss is said in the log, never silent):
- text header: `segy_file_header.attrs.textHeader`, 40 decoded cards; re-encoded as EBCDIC
  (cp037, the rev-1 encoding MDIO decodes with). Characters MDIO could not decode are kept as
  U+FFFD: they are written as spaces, and counted.
- binary header: the exact 400 bytes (`rawBinaryHeader`, kept when both
  MDIO__IMPORT__SAVE_SEGY_FILE_HEADER and MDIO__IMPORT__RAW_HEADERS were set), else re-encoded
  from its parsed fields by the `segy` package's rev-1 spec (unassigned bytes written as zeros).
- trace headers: `raw_headers` (the 240 raw bytes, with MDIO__IMPORT__RAW_HEADERS), else the
  rev-1 fields of `headers` re-encoded (bytes 233-240 are not kept by MDIO: zeros).
- traces: the live ones (trace_mask), inline by inline, crossline by crossline: MDIO does not
  record the source's trace order, and this is the order of a sorted post-stack file.
Without file headers the export is refused, naming the MDIO setting.
"""

from __future__ import annotations

import base64
import logging
import os
from pathlib import Path

import numpy as np

from seisfuse import resources
from seisfuse.errors import StoreError
from seisfuse.io import segy_format as sf
from seisfuse.io.mdio import MdioStore
from seisfuse.io.segy_file import detect_byteorder
from seisfuse.io.segy_write import encode_samples, output_format, put_field
from seisfuse.progress import Progress

log = logging.getLogger("seisfuse")
NO_FILE_HEADERS_FIX = ("make the MDIO store again with MDIO__IMPORT__SAVE_SEGY_FILE_HEADER=true (and "
                       "MDIO__IMPORT__RAW_HEADERS=true to keep the trace headers byte for byte)")


def _segy_spec(byteorder: str):
    """The `segy` package's rev-1 spec (multidimio's dependency: the [mdio] extra) in a byte order."""
    try:
        from segy.schema import Endianness
        from segy.standards import get_segy_standard
    except ImportError:
        raise StoreError("re-encoding MDIO's parsed headers needs the `segy` package", fix="pip install "
                         "'seisfuse[mdio]'") from None
    spec = get_segy_standard(1.0)
    spec.endianness = Endianness("big" if byteorder == ">" else "little")
    return spec


def text_header(text: str) -> tuple[bytes, int]:
    """The 3200 bytes of MDIO's decoded text header, and how many characters it had lost."""
    cards = "".join(line[:80].ljust(80) for line in text.split("\n"))[:3200].ljust(3200)
    lost = cards.count("\ufffd")
    return cards.replace("\ufffd", " ").encode("cp037", errors="replace"), lost


def binary_header(headers: dict, where: str) -> tuple[bytes, str, list[str]]:
    """(400 bytes, byte order, what was lost) of the store's binary header."""
    raw = headers.get("rawBinaryHeader")
    if raw:
        binary = base64.b64decode(raw)
        order = detect_byteorder(binary, 0) or ">"
        return binary, order, []
    fields = headers.get("binaryHeader")
    if not isinstance(fields, dict):
        raise StoreError("the MDIO store kept no binary header", where=where, fix=NO_FILE_HEADERS_FIX)
    spec = _segy_spec(">")  # the parsed fields say nothing of the byte order: SEG-Y's own (big)
    record = np.zeros(1, dtype=spec.binary_header.dtype)
    for name in record.dtype.names:
        if name in fields:
            record[name] = fields[name]
    if "segy_revision" in record.dtype.names and "segy_revision_major" in fields:  # MDIO splits the word
        record["segy_revision"] = (int(fields["segy_revision_major"]) << 8) | int(fields.get("segy_revision_minor", 0))
    return record.tobytes(), ">", ["the binary header re-encoded from MDIO's parsed fields (big-endian; "
                                   "unassigned bytes written as zeros)"]


class TraceHeaders:
    """The 240-byte trace headers of rows of inlines: MDIO's raw bytes, or its fields re-encoded."""

    def __init__(self, store: MdioStore, byteorder: str):
        names = {name for name, _ in store.arrays()}
        self.store, self.raw = store, "raw_headers" in names
        if not self.raw and "headers" not in names:
            raise StoreError("the MDIO store kept no trace headers", where=store.where, fix=NO_FILE_HEADERS_FIX)
        self.dtype = None if self.raw else _segy_spec(byteorder).trace.header.dtype
        self.losses = [] if self.raw else ["trace headers re-encoded from MDIO's rev-1 fields: bytes 233-240 "
                                           "were not kept by MDIO and are written as zeros"]

    def rows(self, start: int, stop: int) -> np.ndarray:
        """(rows, crossline, 240) uint8."""
        if self.raw:
            block = np.asarray(self.store.group["raw_headers"][start:stop])
            return block.view(np.uint8).reshape(*block.shape, sf.TRACE_HEADER_SIZE)
        fields = np.asarray(self.store.group["headers"][start:stop])
        out = np.zeros(fields.shape, dtype=self.dtype)
        for name in self.dtype.names:
            if name in fields.dtype.names:
                out[name] = fields[name]
        return out.view(np.uint8).reshape(*fields.shape, sf.TRACE_HEADER_SIZE)


def export_mdio(store: MdioStore, out, *, var: str = "amplitude", fmt: str = "source",
                overwrite: bool = False) -> Path:
    """A variable of an MDIO store -> SEG-Y under the store's file and trace headers."""
    out, where = Path(out), store.where
    headers = store.file_headers()
    if not headers:
        raise StoreError("the MDIO store kept no SEG-Y file headers (made without "
                         "MDIO__IMPORT__SAVE_SEGY_FILE_HEADER)", where=where, fix=NO_FILE_HEADERS_FIX)
    if out.exists() and not overwrite:
        raise StoreError("the output file already exists", where=str(out),
                         fix="pass --overwrite or choose another name")
    binary, order, losses = binary_header(headers, where)
    text, lost = text_header(headers.get("textHeader") or "")
    if lost:
        losses.append(f"{lost} text-header characters MDIO could not decode (written as spaces)")
    source = sf.BIN["format"].read(binary, order, base=3201)
    code = output_format(fmt, source if source in sf.SAMPLE_FORMATS else 5, var == "amplitude", str(out))
    binary = np.frombuffer(binary, np.uint8).copy()
    if code != source:
        put_field(binary, sf.BIN["format"], code, order, base=3201)
    trace_headers = TraceHeaders(store, order)
    values = store[var]
    mask = np.asarray(store.group["trace_mask"][...], bool)
    ns = values.shape[-1]
    trace_size = sf.TRACE_HEADER_SIZE + ns * sf.SAMPLE_FORMATS[code].itemsize
    size = sf.FILE_HEADER_SIZE + int(mask.sum()) * trace_size
    for loss in [*losses, *trace_headers.losses]:
        log.warning("%s: %s", Path(where).name, loss)
    rows = values.chunks[0]  # a chunk row at a time: MDIO's chunks span 128 inlines
    with resources.partial_file(out, size, f"the SEG-Y file {out.name}") as fd:
        os.pwrite(fd, text + binary.tobytes(), 0)
        offset = sf.FILE_HEADER_SIZE
        with Progress(-(-mask.shape[0] // rows), f"export {var} -> {out.name}", unit="chunk row") as bar:
            for start in range(0, mask.shape[0], rows):
                live = mask[start:start + rows]
                samples = np.nan_to_num(np.asarray(values[start:start + rows])[live])  # MDIO: NaN where none
                traces = np.empty(len(samples), dtype=[("header", "u1", sf.TRACE_HEADER_SIZE),
                                                       ("samples", "u1", trace_size - sf.TRACE_HEADER_SIZE)])
                traces["header"] = trace_headers.rows(start, start + rows)[live]
                encode_samples(samples.astype(np.float64 if code == 6 else np.float32), code, order,
                               out=traces["samples"])
                os.pwrite(fd, traces.tobytes(), offset)
                offset += traces.nbytes
                bar.update()
    return out
