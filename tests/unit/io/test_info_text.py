"""`info` as faithful as segyio: revision codes, textual headers with their own line breaks,
the brackets of both EBCDIC code pages, and the domain with the line that decided it."""

from __future__ import annotations

import pytest

import seisfuse
from seisfuse.io import segy_format as sf
from seisfuse.io.segy_index import detect_domain


@pytest.mark.parametrize("major, minor, shown", [(1, 0, "1.0"), (2, 1, "2.1"), (0, 0, "0.0"),
                                                 (0, 16, "0x0010 (not a SEG-Y revision code"),
                                                 (218, 217, "0xdad9 (not a SEG-Y revision code")])
def test_revision_codes(major, minor, shown):
    assert sf.revision_text(major, minor).startswith(shown)


def test_both_ebcdic_bracket_forms_decode_to_brackets():
    text = "C 1 CROP ".encode("cp037") + bytes([0xAD]) + b"\xc1" + bytes([0xBD]) + " AND ".encode("cp037") + \
        bytes([0xBA]) + b"\xc2" + bytes([0xBB])
    raw = text.ljust(3200, " ".encode("cp037"))
    assert sf.decode_text(raw).splitlines()[0] == "C 1 CROP [A] AND [B]"


def test_a_header_with_its_own_line_breaks_does_not_drift():
    lines = [f"C{k:2d} line {k} " + "x" * (k % 7) for k in range(1, 41)]  # uneven lengths, newline-separated
    raw = "\n".join(lines).encode("ascii").ljust(3200, b" ")
    assert sf.decode_text(raw).splitlines()[:40] == [line.rstrip() for line in lines]


@pytest.mark.parametrize("text, domain, says", [
    ("C 9 Time min: -4510.00\nC29 Trace start time/depth : bytes 109-110", "time", "'C 9 Time min"),
    ("C 3 DEPTH MIGRATED\nC29 Trace start time/depth : bytes 109-110", "depth", "'C 3 DEPTH MIGRATED'"),
    ("C 1 nothing here", "time", "names neither"),
])
def test_the_domain_and_the_line_that_decided_it(text, domain, says):
    found, source = detect_domain(text, "auto")
    assert found == domain and says in source and "((" not in f"{found} ({source})" and "))" not in source


def test_the_petrel_volve_header_matches_its_bytes(segy_dir, tmp_path):
    info = seisfuse.info(segy_dir / "volve10-migvel-depth-sub3d.sgy")
    assert "[Crop]" in info["text_header"] and "Ý" not in info["text_header"]
    assert info["domain"].startswith("time (the textual header says so: 'C 9 Time min")
    store = seisfuse.ingest(segy_dir / "volve10-migvel-depth-sub3d.sgy", tmp_path / "v.zarr", domain="depth")
    ds = seisfuse.open_store(store)  # the user knows better: --domain depth, and the axis is in metres
    assert ds.attrs["domain"] == "depth" and ds.sample.attrs["units"] == "m" and float(ds.sample[-1]) == 4500
    shown = seisfuse.info(store)
    assert shown["sample_axis"] == "0..4500 m, interval 20 m (226 samples)" and shown["domain"] == "depth (given)"
    store_info = seisfuse.info(segy_dir / "f3.sgy")
    assert store_info["revision"] == "1.0"
