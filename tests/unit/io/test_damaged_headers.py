"""One damaged trace header must not sink a file: garbage keys are named with the fix
(--skip-traces), skipped traces are recorded and exported back as they were, memory never
follows a key's value, and header values every later step divides by are checked."""

import filecmp
import json

import numpy as np
import pytest

import seisfuse
from seisfuse.errors import GeometryError
from seisfuse.geometry import grid_3d, key_outliers
from seisfuse.io import schema
from seisfuse.io.segy_file import scan
from tests.unit.io.test_bad_input import assert_user_error


def damaged(src, dst, trace: int, byte: int, value: int, size: int = 4):
    """A copy of a real file with one header field of one trace set to value."""
    layout = scan(src)
    raw = bytearray(src.read_bytes())
    at = layout.data_offset + trace * layout.trace_size + byte - 1
    raw[at:at + size] = int(value).to_bytes(size, "big" if layout.byteorder == ">" else "little", signed=True)
    dst.write_bytes(bytes(raw))
    return dst


def test_a_garbage_inline_key_is_named_with_the_fix_and_no_store_is_left(segy_dir, tmp_path, run_cli):
    src = damaged(segy_dir / "small.sgy", tmp_path / "bad.sgy", trace=7, byte=189, value=1_700_000_000)
    assert_user_error(run_cli("ingest", src, tmp_path / "s.zarr"), "trace 7: inline 1700000000",
                      "far outside the other 24 traces' (inline 1..5 at bytes 189-192", "--skip-traces 7")
    assert not (tmp_path / "s.zarr").exists()
    assert_user_error(run_cli("info", src), "--skip-traces 7")


def test_skipped_traces_are_recorded_and_exported_back_byte_exact(segy_dir, tmp_path, run_cli):
    src = damaged(segy_dir / "small.sgy", tmp_path / "bad.sgy", trace=7, byte=189, value=1_700_000_000)
    assert run_cli("ingest", src, tmp_path / "s.zarr", "--skip-traces", "7")[0] == 0
    code, out, _ = run_cli("info", tmp_path / "s.zarr")
    assert code == 0 and "skipped_traces: 1 (--skip-traces" in out and "trace 7 (inline 1700000000" in out
    store = seisfuse.open_store(tmp_path / "s.zarr")
    assert store.attrs["n_missing"] == 1 and store.attrs["skipped_traces"][0]["trace"] == 7
    assert run_cli("export", tmp_path / "s.zarr", tmp_path / "out.sgy")[0] == 0
    assert filecmp.cmp(src, tmp_path / "out.sgy", shallow=False)
    # in another format the skipped trace is re-encoded at its place: the same values come back
    assert run_cli("export", tmp_path / "s.zarr", tmp_path / "ieee.sgy", "--format", "ieee")[0] == 0
    back = scan(tmp_path / "ieee.sgy")
    assert back.n_traces == 25 and back.sample_format.code == 5
    assert run_cli("ingest", tmp_path / "ieee.sgy", tmp_path / "i.zarr", "--skip-traces", "7")[0] == 0
    np.testing.assert_array_equal(seisfuse.open_store(tmp_path / "i.zarr")["amplitude"].values,
                                  store["amplitude"].values)
    assert json.dumps(seisfuse.info(tmp_path / "ieee.sgy", skip_traces=[7])["skipped_traces"]).count("trace 7") == 1


def test_a_label_variable_is_exported_with_the_skipped_trace_at_its_place(segy_dir, tmp_path):
    src = damaged(segy_dir / "small.sgy", tmp_path / "bad.sgy", trace=3, byte=193, value=-999_999)
    seisfuse.ingest(src, tmp_path / "s.zarr", skip_traces=[3])
    shape = seisfuse.open_store(tmp_path / "s.zarr")["amplitude"].shape
    seisfuse.write_variable(tmp_path / "s.zarr", "p", np.full(shape, 0.5, np.float32))
    seisfuse.export(tmp_path / "s.zarr", tmp_path / "p.sgy", var="p")
    out = scan(tmp_path / "p.sgy")
    assert out.n_traces == 25
    raw = (tmp_path / "p.sgy").read_bytes()
    trace3 = raw[out.data_offset + 3 * out.trace_size:out.data_offset + 4 * out.trace_size]
    original = src.read_bytes()[3600 + 3 * 440:3600 + 3 * 440 + 240]
    assert trace3[:240] == original and set(trace3[240:]) == {0}  # its header as it was, no prediction


def test_skip_traces_must_name_traces_of_the_file(segy_dir, tmp_path, run_cli):
    assert_user_error(run_cli("ingest", segy_dir / "small.sgy", tmp_path / "s.zarr", "--skip-traces", "25"),
                      "--skip-traces names trace 25, but the file has 25 traces (0..24")
    assert not (tmp_path / "s.zarr").exists()


def test_a_key_off_the_line_step_is_named(segy_dir, tmp_path, run_cli):
    """volve10 has crosslines in steps of 4: one trace at an odd crossline would make three of
    every four crosslines empty."""
    src = damaged(segy_dir / "volve10-migvel-depth-sub3d.sgy", tmp_path / "v.sgy", trace=100, byte=193, value=10_001)
    assert_user_error(run_cli("ingest", src, tmp_path / "s.zarr"), "trace 100: crossline 10001", "--skip-traces 100")
    assert run_cli("ingest", src, tmp_path / "s.zarr", "--skip-traces", "100")[0] == 0
    assert seisfuse.open_store(tmp_path / "s.zarr").attrs["line_steps"]["crossline"] == 4


def test_one_garbage_offset_does_not_make_a_cube_a_gather(segy_dir, tmp_path):
    src = damaged(segy_dir / "f3.sgy", tmp_path / "f3.sgy", trace=30, byte=37, value=1_234_567)
    seisfuse.ingest(src, tmp_path / "s.zarr")
    store = schema.open_group(tmp_path / "s.zarr")
    assert tuple(store.attrs["spatial_dims"]) == ("inline", "crossline") and store["amplitude"].shape == (23, 18, 75)


def test_a_zero_sample_interval_is_named(segy_dir, tmp_path, run_cli):
    raw = bytearray((segy_dir / "small.sgy").read_bytes())
    raw[3216:3218] = (0).to_bytes(2, "big")
    for t in range(25):  # and in every trace header
        raw[3600 + t * 440 + 116:3600 + t * 440 + 118] = (0).to_bytes(2, "big")
    (tmp_path / "z.sgy").write_bytes(bytes(raw))
    assert_user_error(run_cli("ingest", tmp_path / "z.sgy", tmp_path / "s.zarr"), "no usable sample interval",
                      "bytes 3217-3218 say 0", "bytes 117-118 say 0")


@pytest.mark.parametrize("bad", [2**31 - 1, -2**31, 1_700_000_000])
def test_memory_follows_the_trace_count_never_a_key_value(bad):
    """A billion-cell span is refused from the axes' extents, before any allocation."""
    il, xl = np.repeat(np.arange(50), 40), np.tile(np.arange(40), 50)
    il[17] = bad
    assert key_outliers(il, xl).sum() == 1 and key_outliers(il, xl)[17]
    with pytest.raises(GeometryError, match="do not form a plausible grid"):
        grid_3d(il, xl)
    line = np.zeros(40, np.int64)  # one inline: the crossline span alone would be the allocation
    with pytest.raises(GeometryError, match="do not form a plausible grid"):
        grid_3d(line, np.append(np.arange(39), bad))


def test_many_far_keys_are_not_outliers_but_another_layout():
    """Two separate blocks of lines are not a few damaged headers: nothing is named."""
    il = np.concatenate([np.repeat(np.arange(10), 10), np.repeat(np.arange(5000, 5010), 10)])
    xl = np.tile(np.arange(10), 20)
    assert not key_outliers(il, xl).any()
