"""Bad input: a clear one-line error (what, where, how to fix), exit code 2, no traceback,
and nothing left behind that looks complete."""

import numpy as np
import pytest

import seisfuse
from seisfuse.io import schema
from tests.helpers import coordinate_values, grid_traces, write_segy


def good_file(tmp_path, name="good.sgy", **kwargs):
    il, xl = grid_traces(4, 5)
    return write_segy(tmp_path / name, il, xl, coordinate_values(il, xl, 10), **kwargs)


def assert_user_error(result, *fragments):
    code, out, err = result
    assert code == 2, err
    assert err.startswith("seisfuse: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err and "Fix:" in err
    for fragment in fragments:
        assert fragment in err, err


def assert_no_complete_store(path):
    assert not schema.is_complete(path)


def test_truncated_mid_trace(tmp_path, run_cli):
    src = good_file(tmp_path)
    src.write_bytes(src.read_bytes()[:-17])
    assert_user_error(run_cli("ingest", src, tmp_path / "s.zarr"), "does not fit whole traces", "truncated")
    assert not (tmp_path / "s.zarr").exists()


def test_truncated_by_a_whole_trace(tmp_path, run_cli):
    src = good_file(tmp_path)
    src.write_bytes(src.read_bytes()[:-(240 + 40)])
    assert_user_error(run_cli("ingest", src, tmp_path / "s.zarr"), "truncated by 1 whole traces", "--allow-short-tail")
    assert_no_complete_store(tmp_path / "s.zarr")
    assert run_cli("ingest", src, tmp_path / "s.zarr", "--allow-short-tail")[0] == 0
    assert seisfuse.open_store(tmp_path / "s.zarr").attrs["n_missing"] == 1


def test_broken_real_file(segy_dir, tmp_path, run_cli):
    assert_user_error(run_cli("ingest", segy_dir / "broken.sgy", tmp_path / "s.zarr"), "does not fit whole traces")


def test_random_bytes(tmp_path, run_cli):
    src = tmp_path / "noise.sgy"
    src.write_bytes(np.random.default_rng(3).integers(0, 256, 50_000, dtype=np.uint8).tobytes())
    assert_user_error(run_cli("ingest", src, tmp_path / "s.zarr"), "cannot tell the byte order", "not a SEG-Y file")


def test_too_short_for_headers(tmp_path, run_cli):
    src = tmp_path / "tiny.sgy"
    src.write_bytes(b"C 1" * 10)
    assert_user_error(run_cli("info", src), "shorter than the 3600-byte")


def test_header_only(segy_dir, run_cli, tmp_path):
    assert_user_error(run_cli("ingest", segy_dir / "text.sgy", tmp_path / "s.zarr"), "no traces (0 traces)")


def test_zero_samples(tmp_path, run_cli):
    src = good_file(tmp_path, binary_samples=0, trace_samples=0)
    assert_user_error(run_cli("ingest", src, tmp_path / "s.zarr"), "samples per trace is 0", "bytes 3221-3222")


@pytest.mark.parametrize("code, message", [(13, "format code 13 is not an assigned"),
                                           (7, "format code 7 (int24) is not supported")])
def test_unassigned_and_unsupported_format_codes(tmp_path, run_cli, code, message):
    src = good_file(tmp_path)
    raw = bytearray(src.read_bytes())
    raw[3224:3226] = code.to_bytes(2, "big")
    src.write_bytes(bytes(raw))
    assert_user_error(run_cli("ingest", src, tmp_path / "s.zarr"), message, "convert")
    assert not (tmp_path / "s.zarr").exists()


def test_wrong_byte_order_given(tmp_path, run_cli):
    src = good_file(tmp_path)
    assert_user_error(run_cli("ingest", src, tmp_path / "s.zarr", "--byteorder", "little"),
                      "format code 1280", "little-endian, given", "byte order")


def test_duplicate_trace_appended(tmp_path, run_cli):
    src = good_file(tmp_path)
    raw = src.read_bytes()
    src.write_bytes(raw + raw[-280:])
    assert_user_error(run_cli("ingest", src, tmp_path / "s.zarr"), "1 traces fall on an (inline, crossline) cell",
                      "holds traces 19 and 20", "--duplicates first|last")
    assert not (tmp_path / "s.zarr").exists()


def test_duplicate_keys_in_the_middle(tmp_path, run_cli):
    il, xl = grid_traces(4, 5)
    il[7], xl[7] = il[6], xl[6]
    src = write_segy(tmp_path / "d.sgy", il, xl, coordinate_values(il, xl, 10))
    assert_user_error(run_cli("ingest", src, tmp_path / "s.zarr"), "holds traces 6 and 7")
    assert run_cli("ingest", src, tmp_path / "s.zarr", "--duplicates", "first", "--allow-short-tail")[0] == 0
    example = f"inline {il[6]}, crossline {xl[6]}: trace 6 kept, 7 dropped"  # a record of what was dropped
    for info in (seisfuse.info(src, duplicates="first"), seisfuse.info(tmp_path / "s.zarr")):
        assert info["duplicates_dropped"] == 1 and info["duplicate_examples"] == [example]
    assert run_cli("ingest", src, tmp_path / "l.zarr", "--duplicates", "last", "--allow-short-tail")[0] == 0
    assert seisfuse.info(tmp_path / "l.zarr")["duplicate_examples"] == [
        f"inline {il[6]}, crossline {xl[6]}: trace 7 kept, 6 dropped"]


def test_wrong_inline_byte_all_zero(tmp_path, run_cli):
    src = good_file(tmp_path)
    assert_user_error(run_cli("ingest", src, tmp_path / "s.zarr", "--iline-byte", "233"),
                      "inline (byte 233) 0..0", "try --iline-byte 189 --xline-byte 193")


def test_wrong_inline_byte_unique_per_trace(tmp_path, run_cli):
    il, xl = grid_traces(4, 12)
    src = write_segy(tmp_path / "u.sgy", il, xl, coordinate_values(il, xl, 10))
    assert_user_error(run_cli("ingest", src, tmp_path / "s.zarr", "--iline-byte", "5"),
                      "the inline key is different on every trace", "a trace counter",
                      "try --iline-byte 189 --xline-byte 193")


def test_key_byte_outside_header(tmp_path, run_cli):
    assert_user_error(run_cli("ingest", good_file(tmp_path), tmp_path / "s.zarr", "--iline-byte", "239"),
                      "outside the 240-byte trace header")


def test_nan_and_inf_are_ingested_and_flagged(tmp_path, run_cli):
    il, xl = grid_traces(2, 2)
    values = coordinate_values(il, xl, 6)
    values[1, 2], values[3, 0] = np.nan, np.inf
    src = write_segy(tmp_path / "nan.sgy", il, xl, values)
    assert run_cli("ingest", src, tmp_path / "s.zarr")[0] == 0
    ds = seisfuse.open_store(tmp_path / "s.zarr")
    assert np.isnan(ds.amplitude.values[0, 1, 2]) and np.isinf(ds.amplitude.values[1, 1, 0])  # not clipped
    code, out, _ = run_cli("info", tmp_path / "s.zarr")
    assert code == 0 and "WARNING: 2 NaN/Inf samples" in out
    code, out, _ = run_cli("info", src)
    assert code == 0 and "WARNING: 2 NaN/Inf samples" in out


def test_label_geometry_mismatch(tmp_path, run_cli):
    store = tmp_path / "s.zarr"
    assert run_cli("ingest", good_file(tmp_path), store)[0] == 0
    il, xl = grid_traces(4, 6)
    labels = write_segy(tmp_path / "l.sgy", il, xl, coordinate_values(il, xl, 10))
    assert_user_error(run_cli("ingest", labels, store, "--var", "fault"), "does not match", "'crossline': 6",
                      "'crossline': 5")
    assert schema.is_complete(store) and "fault" not in seisfuse.open_store(store)


def test_incomplete_store(tmp_path, run_cli):
    store = tmp_path / "s.zarr"
    assert run_cli("ingest", good_file(tmp_path), store)[0] == 0
    import zarr

    zarr.open_group(str(store), mode="r+").attrs[schema.COMPLETE] = False  # as if killed before the marker
    assert_user_error(run_cli("export", store, tmp_path / "o.sgy"), "incomplete", "run the same command again")
    assert not (tmp_path / "o.sgy").exists()
    with pytest.raises(seisfuse.errors.StoreError, match="incomplete"):
        seisfuse.open_store(store)


def test_corrupt_store(tmp_path, run_cli):
    store = tmp_path / "s.zarr"
    store.mkdir()
    (store / "zarr.json").write_text("{ not json")
    assert_user_error(run_cli("export", store, tmp_path / "o.sgy"), "not a readable Zarr v3 store")


def test_existing_outputs_need_overwrite(tmp_path, run_cli):
    src, store = good_file(tmp_path), tmp_path / "s.zarr"
    assert run_cli("ingest", src, store)[0] == 0
    assert_user_error(run_cli("ingest", src, store), "a complete store already exists", "--overwrite")
    assert run_cli("export", store, tmp_path / "o.sgy")[0] == 0
    assert_user_error(run_cli("export", store, tmp_path / "o.sgy"), "already exists", "--overwrite")
    assert run_cli("ingest", src, store, "--overwrite")[0] == 0


def test_unwritable_output(tmp_path, run_cli):
    src = good_file(tmp_path)
    (tmp_path / "a-file").write_text("")
    assert_user_error(run_cli("ingest", src, tmp_path / "a-file" / "s.zarr"), "cannot create the output folder")
    assert run_cli("ingest", src, tmp_path / "new-dir" / "s.zarr")[0] == 0  # a missing folder is made
    assert_user_error(run_cli("ingest", src, "/proc/s.zarr"), "cannot write here")
    store = tmp_path / "s.zarr"
    assert run_cli("ingest", src, store)[0] == 0
    assert_user_error(run_cli("export", store, "/proc/o.sgy"), "cannot write the output")


def test_unknown_variable_lists_valid_ones(tmp_path, run_cli):
    store = tmp_path / "s.zarr"
    assert run_cli("ingest", good_file(tmp_path), store)[0] == 0
    assert_user_error(run_cli("export", store, tmp_path / "o.sgy", "--var", "nope"), "choose one of: amplitude")


def test_missing_input_file(tmp_path, run_cli):
    assert_user_error(run_cli("ingest", tmp_path / "nope.sgy", tmp_path / "s.zarr"), "no such file")


def test_a_bad_scheduler_writes_nothing(tmp_path, run_cli):
    src = good_file(tmp_path)
    assert_user_error(run_cli("ingest", src, tmp_path / "s.zarr", "--scheduler", "slurm:0"), "slurm:N", "slurm:8")
    assert not (tmp_path / "s.zarr").exists()


def test_a_shot_gather_is_never_offered_an_accidental_cube(segy_dir, tmp_path, run_cli):
    code, _, err = run_cli("ingest", segy_dir / "shot-gather.sgy", tmp_path / "s.zarr", "--layout", "3d")
    assert code == 2 and "use --layout 2d" in err and "--iline-byte 9" not in err
    assert not (tmp_path / "s.zarr").exists()
    code, _, err = run_cli("ingest", segy_dir / "shot-gather.sgy", tmp_path / "s.zarr")  # auto
    assert code == 0, err
    info = seisfuse.info(tmp_path / "s.zarr")
    assert info["layout"].startswith("2d (auto: the keys at bytes 189/193 are the same on every trace")
    assert list(info["geometry"]) == ["trace"]
    assert "field record 2..8" in info["coordinates"] and "offset 1..1" in info["coordinates"]


def test_cdp_coordinates_of_zero_fall_back_to_the_source_position(tmp_path):
    from seisfuse.io import segy_write as sw

    il, xl = grid_traces(3, 4)
    src = write_segy(tmp_path / "c.sgy", il, xl, coordinate_values(il, xl, 8))
    raw = bytearray(src.read_bytes())
    for k in range(len(il)):  # CDP X/Y to zero; source X/Y keep 25 m * line numbers (scalar -100)
        at = 3600 + k * (240 + 32)
        raw[at + 180:at + 188] = bytes(8)
    src.write_bytes(bytes(raw))
    info = seisfuse.info(src)
    assert "source X/Y: CDP X/Y at 181/185 are all zero" in info["coordinates"]
    store = seisfuse.ingest(src, tmp_path / "s.zarr")
    ds = seisfuse.open_store(store)
    np.testing.assert_allclose(ds.cdp_x.values[0], xl[:4] * 25.0)
    assert "73/77" in ds.attrs["coordinate_bytes"]
    assert sw.sf.TRACE["source_x"].byte == 73
