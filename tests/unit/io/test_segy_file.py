"""Reading SEG-Y: file-level headers of the real corpus, and samples against segyio."""

import numpy as np
import pytest
import segyio

from seisfuse.io import segy_format as sf
from seisfuse.io.segy_file import SegyReader, decode_samples, scan
from tests.helpers import coordinate_values, grid_traces, write_segy

REAL = [  # file, format, byte order, traces, samples, extended text headers
    ("f3.sgy", 3, ">", 414, 75, 0),
    ("f3-lsb.sgy", 3, "<", 414, 75, 0),
    ("f3-withdead.sgy", 1, ">", 239, 75, 0),
    ("small.sgy", 1, ">", 25, 50, 0),
    ("small-lsb.sgy", 1, "<", 25, 50, 0),
    ("multi-text.sgy", 1, ">", 1, 1, 4),
    ("delay-scalar.sgy", 1, ">", 1, 251, 0),
    ("decrement.sgy", 1, ">", 5, 4, 0),
    ("volve10-migvel-depth-sub3d.sgy", 5, ">", 936, 226, 0),
    ("test-geometry.sgy", 1, ">", 12322, 4, 0),
    *[(f"multiformats/Format{c}{o}.sgy", c, ">" if o == "msb" else "<", 414, 75, 0)
      for c in (1, 2, 3, 5, 8, 16) for o in ("msb", "lsb")],
]


@pytest.mark.parametrize("name, code, order, traces, samples, extended", REAL)
def test_scan_real_files(segy_dir, name, code, order, traces, samples, extended):
    layout = scan(segy_dir / name)
    assert layout.sample_format.code == code
    assert layout.byteorder == order and layout.byteorder_source == "detected"
    assert (layout.n_traces, layout.n_samples) == (traces, samples)
    assert len(layout.text_headers) == 1 + extended


def test_rev2_extended_sample_count_is_used_when_the_classic_one_does_not_fit(segy_dir):
    layout = scan(segy_dir / "decrement.sgy")
    assert layout.n_samples_source.startswith("binary header bytes 3269")


def test_ascii_and_ebcdic_text_headers(segy_dir):
    assert scan(segy_dir / "delay-scalar.sgy").text_encoding == "ascii"
    assert scan(segy_dir / "f3.sgy").text_encoding == "ebcdic"
    assert sf.decode_text(scan(segy_dir / "f3.sgy").text_headers[0]).startswith("C 1")


SEGYIO_READABLE = ["f3.sgy", "f3-lsb.sgy", "f3-withdead.sgy", "small.sgy", "small-lsb.sgy", "tiny.sgy",
                   "shot-gather.sgy", "small-ps.sgy", "volve10-migvel-depth-sub3d.sgy", "test-geometry.sgy",
                   *[f"multiformats/Format{c}{o}.sgy" for c in (1, 2, 3, 5, 8, 16) for o in ("msb", "lsb")]]


@pytest.mark.parametrize("name", SEGYIO_READABLE)
def test_samples_and_headers_match_segyio(segy_dir, name):
    path = segy_dir / name
    layout = scan(path)
    with SegyReader(layout) as reader:
        traces = reader.read_range(0, layout.n_traces)
    ours = decode_samples(traces["samples"], layout.sample_format)
    endian = "little" if layout.byteorder == "<" else "big"
    with segyio.open(path, ignore_geometry=True, endian=endian) as f:
        theirs = f.trace.raw[:]
        inlines = f.attributes(segyio.TraceField.INLINE_3D)[:]
    np.testing.assert_array_equal(ours, theirs.astype(ours.dtype))
    field = traces["header"][:, 188:192].copy().view(layout.byteorder + "i4").reshape(-1)
    np.testing.assert_array_equal(field, inlines)


@pytest.mark.parametrize("code", sorted(sf.SAMPLE_FORMATS))
@pytest.mark.parametrize("order", [">", "<"])
def test_every_format_and_byte_order_decodes_exactly(tmp_path, code, order):
    il, xl = grid_traces(3, 2, il0=1, xl0=1)
    values = coordinate_values(il, xl, 7)
    if code in (8, 16):  # one byte: keep the values in range
        values = (values - 1000 * il[:, None]) % 100
    if sf.SAMPLE_FORMATS[code].file_dtype[0] in "iu":
        values = np.floor(values * (1 if code in (8, 16, 3, 11) else 100))
    path = write_segy(tmp_path / "f.sgy", il, xl, values, fmt=code, byteorder=order)
    layout = scan(path)
    assert layout.sample_format.code == code and layout.byteorder == order
    with SegyReader(layout) as reader:
        got = decode_samples(reader.read_range(0, 6)["samples"], layout.sample_format)
    assert got.dtype == np.dtype(sf.SAMPLE_FORMATS[code].store_dtype)
    np.testing.assert_array_equal(got, values.astype(np.float32).astype(got.dtype) if code in (1, 5) else values)


def test_64_bit_integers_stay_exact(tmp_path):
    big = np.array([[2**62 + 1, -(2**61) - 3, 7]], dtype=np.int64)
    path = write_segy(tmp_path / "i8.sgy", [1], [1], big, fmt=9)
    layout = scan(path)
    with SegyReader(layout) as reader:
        got = decode_samples(reader.read_range(0, 1)["samples"], layout.sample_format)
    assert got.dtype == np.int64 and got.tolist() == big.tolist()


def test_sample_count_from_trace_header_when_binary_says_zero(tmp_path):
    il, xl = grid_traces(2, 2)
    path = write_segy(tmp_path / "ns0.sgy", il, xl, coordinate_values(il, xl, 9), binary_samples=0)
    layout = scan(path)
    assert layout.n_samples == 9 and layout.n_samples_source == "trace header bytes 115-116"


def test_extended_text_headers_until_end_stanza(tmp_path):
    il, xl = grid_traces(2, 2)
    stanza = sf.END_TEXT_STANZA.ljust(sf.TEXT_HEADER_SIZE, b" ")
    path = write_segy(tmp_path / "ext.sgy", il, xl, coordinate_values(il, xl, 5),
                      extended=[b"x" * sf.TEXT_HEADER_SIZE, stanza])
    raw = bytearray(path.read_bytes())
    raw[3504:3506] = (-1).to_bytes(2, "big", signed=True)  # "count unknown: read to EndText"
    path.write_bytes(bytes(raw))
    layout = scan(path)
    assert len(layout.text_headers) == 3 and layout.n_traces == 4


def test_positions_in_any_order_come_back_in_that_order(segy_dir):
    layout = scan(segy_dir / "f3.sgy")
    with SegyReader(layout) as reader:
        everything = reader.read_range(0, layout.n_traces)
        picks = np.array([17, 3, 4, 5, 400, 2])
        np.testing.assert_array_equal(reader.read_positions(picks), everything[picks])


@pytest.mark.parametrize("name", ["f3.sgy", "small-lsb.sgy", "multi-text.sgy"])
def test_header_fields_match_segyio_through_the_map_and_without_it(segy_dir, name, monkeypatch):
    import mmap as real_mmap

    from seisfuse.io import segy_file

    fields = {"il": (189, "i4"), "xl": (193, "i4"), "offset": (37, "i4"), "scalar": (71, "i2")}
    layout = scan(segy_dir / name)
    endian = "little" if "lsb" in name else "big"
    with segyio.open(segy_dir / name, ignore_geometry=True, endian=endian) as f:
        expected = {key: f.attributes(byte)[:] for key, (byte, _) in fields.items()}
    with SegyReader(layout) as reader:
        mapped = reader.header_words(fields, block_traces=7)  # blocks that cut the file anywhere

    def no_mmap(*args, **kwargs):
        raise OSError("this file system cannot map files")

    monkeypatch.setattr(segy_file.mmap, "mmap", no_mmap)
    with SegyReader(layout) as reader:
        read = reader.header_words(fields, block_traces=7)
    monkeypatch.setattr(segy_file.mmap, "mmap", real_mmap.mmap)
    for key in fields:
        np.testing.assert_array_equal(mapped[key], expected[key])
        np.testing.assert_array_equal(read[key], expected[key])
