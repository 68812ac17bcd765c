"""IBM words that do not re-encode to themselves (unnormalised fractions, zeros with an
exponent or sign, values outside float32's range) are kept, so that export of the unchanged
amplitude is byte-exact; a prediction exported as IBM is encoded normally."""

from __future__ import annotations

import filecmp

import numpy as np
import pytest

import seisfuse
from seisfuse.io.ibm import float32_to_ibm, ibm_to_float32
from tests.helpers import coordinate_values, grid_traces, write_segy

NS = 40
SPECIAL = {  # (file position, sample): word
    (0, 3): 0x42010000,  # 1.0 unnormalised (0x41100000 normalised)
    (2, 0): 0x42000000,  # zero with an exponent
    (5, 39): 0x80000000,  # negative zero: re-encodes to itself, nothing to keep
    (7, 12): 0x00100000,  # 16^-64 * 1/16: underflows float32 to 0
    (11, 5): 0x3F000001,  # unnormalised and tiny
    (19, 20): 0x21100000,  # subnormal in float32, exact: re-encodes to itself
}


def patched_file(tmp_path, byteorder):
    il, xl = grid_traces(5, 4)
    src = write_segy(tmp_path / "v.sgy", il, xl, coordinate_values(il, xl, NS), fmt=1, byteorder=byteorder)
    raw = bytearray(src.read_bytes())
    for (trace, sample), word in SPECIAL.items():
        at = 3600 + trace * (240 + 4 * NS) + 240 + 4 * sample
        raw[at:at + 4] = int(word).to_bytes(4, "big" if byteorder == ">" else "little")
    src.write_bytes(bytes(raw))
    return src


def expected_kept() -> int:
    words = np.array(list(SPECIAL.values()), np.uint32)
    return int((float32_to_ibm(ibm_to_float32(words)) != words).sum())


@pytest.mark.parametrize("byteorder", [">", "<"])
def test_unchanged_ibm_amplitude_exports_byte_exact(tmp_path, byteorder):
    assert expected_kept() == 4  # the two zero-like forms that are canonical re-encode to themselves
    src = patched_file(tmp_path, byteorder)
    store = seisfuse.ingest(src, tmp_path / "s.zarr", chunks=(2, 2, 16))
    info = seisfuse.info(store)
    assert info["ibm_words_kept"].startswith("4 samples whose IBM words do not re-encode")
    assert seisfuse.verify(store)["damaged"] is False
    out = seisfuse.export(store, tmp_path / "out.sgy")
    assert filecmp.cmp(src, out, shallow=False)
    ds = seisfuse.open_store(store)
    assert float(ds.amplitude.values.reshape(-1, NS)[0, 3]) == 1.0  # decoded exactly, as before


def test_a_prediction_exported_as_ibm_is_encoded_normally(tmp_path):
    src = patched_file(tmp_path, ">")
    store = seisfuse.ingest(src, tmp_path / "s.zarr")
    values = seisfuse.open_store(store).amplitude.values
    seisfuse.write_variable(store, "prediction", values)  # the same values, as another variable
    out = seisfuse.export(store, tmp_path / "p.sgy", var="prediction", fmt="ibm")
    raw = out.read_bytes()
    at = 3600 + 240 + 4 * 3
    assert int.from_bytes(raw[at:at + 4], "big") == 0x41100000  # normalised 1.0, not the source's word


def test_the_kept_words_are_checked_like_every_chunk(tmp_path, run_cli):
    src = patched_file(tmp_path, ">")
    store = seisfuse.ingest(src, tmp_path / "s.zarr", chunks=(2, 2, 16))
    chunks = sorted(p for p in (store / "ibm_source_words" / "c").rglob("*") if p.is_file())
    assert 0 < len(chunks) < 3 * 2 * 3  # sparse: only chunks that hold a kept word
    chunks[0].unlink()
    code, out, err = run_cli("verify", store)
    assert code == 2 and "ibm_source_words: chunk" in out and "is missing" in out


def test_real_ibm_files_need_no_kept_words(segy_dir, tmp_path):
    store = seisfuse.ingest(segy_dir / "f3.sgy", tmp_path / "f3.zarr")
    assert "ibm_words_kept" not in seisfuse.info(store)
    assert not list((store / "ibm_source_words").rglob("c/*"))
