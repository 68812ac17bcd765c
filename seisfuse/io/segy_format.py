"""SEG-Y layout facts: sample formats, header field positions, text-header decoding.

Pure data and tiny helpers; no file access. Byte positions are 1-based as in the standard.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

import numpy as np

from seisfuse.errors import SegyFormatError

TEXT_HEADER_SIZE = 3200
BINARY_HEADER_SIZE = 400
TRACE_HEADER_SIZE = 240
FILE_HEADER_SIZE = TEXT_HEADER_SIZE + BINARY_HEADER_SIZE
END_TEXT_STANZA = b"((SEG: EndText))"
REV2_BYTE_ORDER_CONSTANT = 16909060  # 0x01020304 at binary bytes 3297-3300


@dataclass(frozen=True)
class SampleFormat:
    code: int
    name: str
    file_dtype: str  # numpy type string without byte order ("u4" for IBM words)
    store_dtype: str  # the narrowest dtype that holds every sample exactly

    @property
    def itemsize(self) -> int:
        return np.dtype(self.file_dtype).itemsize


# Code -> format. 32-bit integers need float64 to stay exact; 64-bit integers have no
# exact float, so they keep their integer type.
SAMPLE_FORMATS: dict[int, SampleFormat] = {
    f.code: f
    for f in (
        SampleFormat(1, "ibm-float32", "u4", "float32"),
        SampleFormat(2, "int32", "i4", "float64"),
        SampleFormat(3, "int16", "i2", "float32"),
        SampleFormat(5, "ieee-float32", "f4", "float32"),
        SampleFormat(6, "ieee-float64", "f8", "float64"),
        SampleFormat(8, "int8", "i1", "float32"),
        SampleFormat(9, "int64", "i8", "int64"),
        SampleFormat(10, "uint32", "u4", "float64"),
        SampleFormat(11, "uint16", "u2", "float32"),
        SampleFormat(12, "uint64", "u8", "uint64"),
        SampleFormat(16, "uint8", "u1", "float32"),
    )
}
RARE_FORMATS = {4: "4-byte fixed point with gain", 7: "int24", 15: "uint24"}


def sample_format(code: int, where: str) -> SampleFormat:
    if code in SAMPLE_FORMATS:
        return SAMPLE_FORMATS[code]
    known = ", ".join(f"{c} ({f.name})" for c, f in SAMPLE_FORMATS.items())
    what = f"sample format code {code} ({RARE_FORMATS[code]}) is not supported" if code in RARE_FORMATS \
        else f"sample format code {code} is not an assigned SEG-Y format"
    raise SegyFormatError(what, where=where,
                          fix=f"convert the file to one of: {known}; or check the byte order")


@dataclass(frozen=True)
class Field:
    """A header field: 1-based byte position within its header and numpy type."""

    byte: int
    dtype: str  # "i4", "i2", "u2", "f8", ...

    def read(self, header: bytes | np.ndarray, byteorder: str, base: int = 1) -> int | float:
        start = self.byte - base
        raw = bytes(header[start:start + np.dtype(self.dtype).itemsize])
        return np.frombuffer(raw, dtype=byteorder + self.dtype)[0].item()


# Binary header fields, positions relative to the file (3201-3600).
BIN = {
    "sample_interval": Field(3217, "i2"),
    "samples": Field(3221, "u2"),
    "format": Field(3225, "i2"),
    "sorting": Field(3229, "i2"),
    "measurement_system": Field(3255, "i2"),
    "ext_samples": Field(3269, "i4"),
    "ext_sample_interval": Field(3273, "f8"),
    "byte_order_constant": Field(3297, "u4"),
    "revision_major": Field(3501, "u1"),
    "revision_minor": Field(3502, "u1"),
    "fixed_length": Field(3503, "i2"),
    "ext_text_headers": Field(3505, "i2"),
    "additional_trace_headers": Field(3507, "i4"),
    "first_trace_offset": Field(3521, "u8"),
}

# Trace header fields, 1-based within the 240-byte trace header.
DEAD_TRACE_CODES = (2, 3)  # trace identification code: dead, dummy

TRACE = {
    "trace_sequence_line": Field(1, "i4"),
    "trace_sequence_file": Field(5, "i4"),
    "field_record": Field(9, "i4"),
    "trace_number": Field(13, "i4"),
    "trace_id": Field(29, "i2"),  # trace identification code: 1 seismic, 2 dead, 3 dummy, ...
    "energy_source_point": Field(17, "i4"),
    "cdp": Field(21, "i4"),
    "offset": Field(37, "i4"),
    "coordinate_scalar": Field(71, "i2"),
    "source_x": Field(73, "i4"),
    "source_y": Field(77, "i4"),
    "group_x": Field(81, "i4"),
    "group_y": Field(85, "i4"),
    "delay_time": Field(109, "i2"),
    "samples": Field(115, "u2"),
    "sample_interval": Field(117, "u2"),
    "cdp_x": Field(181, "i4"),
    "cdp_y": Field(185, "i4"),
    "inline": Field(189, "i4"),
    "crossline": Field(193, "i4"),
    "time_scalar": Field(215, "i2"),
}

# Byte locations tried when the inline/crossline keys do not form a grid (rev 1 default,
# Petrel/older tools, and CDP X/Y as a last resort).
CANDIDATE_KEY_BYTES = ((189, 193), (9, 21), (17, 13), (5, 21), (9, 13), (181, 185))


# The EBCDIC code pages differ on the brackets: cp037 has them at 0xBA/0xBB, cp1047 (what
# Petrel and many Unix tools write) at 0xAD/0xBD, which cp037 reads as "Ý" and "¨", letters a
# seismic text header does not use. Both forms decode to brackets here.
_EBCDIC_BRACKETS = str.maketrans({"Ý": "[", "¨": "]"})


def decode_text(raw: bytes) -> str:
    """Decode a 3200-byte textual header (EBCDIC or ASCII): 40 cards of 80 characters, or, when
    the writer put line breaks in it, its own lines (wrapped at 80, as segyio's tools.wrap)."""
    encoding = text_encoding(raw)
    text = raw.decode("cp037" if encoding == "ebcdic" else "latin-1")
    if encoding == "ebcdic":
        text = text.translate(_EBCDIC_BRACKETS)
    if "\n" in text or "\r" in text:  # not laid out as cards: fixed 80-character slices would drift
        lines = []
        for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
            line = "".join(ch if ch.isprintable() else " " for ch in line).rstrip()
            lines += textwrap.wrap(line, 80) or [""]
        return "\n".join(lines).rstrip("\n ")
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    return "\n".join(text[i:i + 80].rstrip() for i in range(0, len(text), 80))


def revision_text(major: int, minor: int) -> str:
    """The SEG-Y revision of binary bytes 3501-3502 (0x0100 = 1.0, 0x0200 = 2.0), or, for a
    word that is no revision code, the word itself, said so."""
    if major in (0, 1, 2) and minor < 10:
        return f"{major}.{minor}"
    return f"0x{major:02x}{minor:02x} (not a SEG-Y revision code: 0x0100 is 1.0, 0x0200 is 2.0)"


def text_encoding(raw: bytes) -> str:
    """'ebcdic' or 'ascii', whichever gives more printable characters (EBCDIC on a tie)."""
    ascii_printable = sum(32 <= b < 127 for b in raw)
    ebcdic_printable = sum(ch.isprintable() and ch.isascii() for ch in raw.decode("cp037"))
    return "ascii" if ascii_printable > ebcdic_printable else "ebcdic"


def scale_coordinate(values: np.ndarray, scalar: np.ndarray) -> np.ndarray:
    """Apply the SEG-Y coordinate scalar (byte 71): negative divides, positive multiplies, 0 = 1."""
    scalar = np.asarray(scalar, dtype=np.float64)
    inverse = np.divide(1.0, np.abs(scalar), out=np.ones_like(scalar), where=scalar < 0)
    factor = np.where(scalar > 0, scalar, inverse)
    return np.asarray(values, dtype=np.float64) * factor
