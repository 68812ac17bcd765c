"""Ingest -> store -> export: byte-exact round trips, placement, labels, resume."""

import filecmp

import numpy as np
import pytest
import segyio
import zarr

import seisfuse
from seisfuse.errors import GeometryError, StoreError
from seisfuse.io import ingest as ingest_module
from seisfuse.io import schema
from tests.helpers import coordinate_values, grid_traces, write_segy

ROUND_TRIP = [  # every readable file of the corpus, with the layout it needs
    *[(name, "3d") for name in (
        "f3.sgy", "f3-lsb.sgy", "f3-withdead.sgy", "small.sgy", "small-lsb.sgy", "tiny.sgy", "multi-text.sgy",
        "delay-scalar.sgy", "test-geometry.sgy", "volve10-migvel-depth-sub3d.sgy")],
    # gathers, lines, and decrement.sgy (keys of about 2.1e9 that segyio cannot sort either)
    *[(name, "2d") for name in ("shot-gather.sgy", "small-ps.sgy", "1xN.sgy", "Mx1.sgy", "decrement.sgy")],
    *[(f"multiformats/Format{c}{o}.sgy", "3d") for c in (1, 2, 3, 5, 8, 16) for o in ("msb", "lsb")],
]


@pytest.mark.parametrize("name, layout", ROUND_TRIP)
def test_ingest_then_export_gives_the_identical_file(segy_dir, tmp_path, name, layout):
    src = segy_dir / name
    store = seisfuse.ingest(src, tmp_path / "s.zarr", layout=layout)
    out = seisfuse.export(store, tmp_path / "out.sgy")
    assert filecmp.cmp(src, out, shallow=False)


def test_f3_cube_matches_segyio_and_keeps_headers(segy_dir, tmp_path):
    store = seisfuse.ingest(segy_dir / "f3.sgy", tmp_path / "f3.zarr", chunks=(8, 8, 32))
    ds = seisfuse.open_store(store)
    assert dict(ds.sizes) == {"inline": 23, "crossline": 18, "sample": 75, "header_byte": 240}
    assert ds.amplitude.dtype == np.float32  # int16 samples fit float32 exactly
    np.testing.assert_array_equal(ds.amplitude.values, segyio.tools.cube(str(segy_dir / "f3.sgy")))
    assert ds.inline.values[0] == 111 and ds.crossline.values[-1] == 892
    assert bool(ds.trace_mask.all())
    with segyio.open(segy_dir / "f3.sgy") as f:
        assert bytes(ds.trace_headers.values[0, 0]) == f.header[0].buf
        scalar = f.header[0][segyio.TraceField.SourceGroupScalar]
        x = f.header[0][segyio.TraceField.CDP_X]
    assert ds.cdp_x.values[0, 0] == pytest.approx(x / abs(scalar) if scalar < 0 else x * max(scalar, 1))
    assert ds.attrs["statistics"]["count"] == 23 * 18 * 75
    np.testing.assert_allclose(ds.attrs["statistics"]["mean"], ds.amplitude.values.astype(np.float64).mean())


def test_missing_traces_are_zero_and_masked(segy_dir, tmp_path):
    ds = seisfuse.open_store(seisfuse.ingest(segy_dir / "f3-withdead.sgy", tmp_path / "d.zarr"))
    assert int((~ds.trace_mask).sum()) == 23 * 18 - 239 == ds.attrs["n_missing"]
    assert float(abs(ds.amplitude.where(~ds.trace_mask, 0)).max()) == 0.0
    assert int((ds.trace_index >= 0).sum()) == 239


def test_int32_source_is_stored_exactly_as_float64(segy_dir, tmp_path):
    ds = seisfuse.open_store(seisfuse.ingest(segy_dir / "multiformats/Format2msb.sgy", tmp_path / "i.zarr"))
    assert ds.amplitude.dtype == np.float64


def test_steps_decreasing_swapped_and_missing_are_placed_by_key(tmp_path):
    il, xl = grid_traces(4, 5, il0=200, xl0=10, il_step=-2, xl_step=4)
    order = np.arange(20)
    order[[3, 11]] = order[[11, 3]]  # two swapped traces
    order = np.delete(order, [7])  # one missing
    il, xl = il[order], xl[order]
    src = write_segy(tmp_path / "g.sgy", il, xl, coordinate_values(il, xl, 6))
    ds = seisfuse.open_store(seisfuse.ingest(src, tmp_path / "g.zarr", chunks=(2, 2, 4)))
    assert list(ds.inline.values) == [194, 196, 198, 200] and list(ds.crossline.values) == [10, 14, 18, 22, 26]
    for i, line in enumerate(ds.inline.values):
        for j, xline in enumerate(ds.crossline.values):
            trace = ds.amplitude.values[i, j]
            if ds.trace_mask.values[i, j]:
                np.testing.assert_allclose(trace, coordinate_values([line], [xline], 6)[0], rtol=1e-6)
            else:
                assert not trace.any() and (line, xline) == (198, 18)
    out = seisfuse.export(tmp_path / "g.zarr", tmp_path / "g2.sgy")
    assert filecmp.cmp(src, out, shallow=False)


def test_labels_are_added_and_geometry_is_checked(tmp_path):
    il, xl = grid_traces(3, 4)
    src = write_segy(tmp_path / "a.sgy", il, xl, coordinate_values(il, xl, 8))
    labels = write_segy(tmp_path / "l.sgy", il, xl, (coordinate_values(il, xl, 8) > 10050.03).astype(float))
    store = seisfuse.ingest(src, tmp_path / "s.zarr")
    seisfuse.ingest(labels, store, var="fault")
    ds = seisfuse.open_store(store)
    assert "fault" in ds and float(ds.fault.sum()) == float((coordinate_values(il, xl, 8) > 10050.03).sum())
    il2, xl2 = grid_traces(3, 5)
    wrong = write_segy(tmp_path / "w.sgy", il2, xl2, coordinate_values(il2, xl2, 8))
    with pytest.raises(GeometryError, match=r"label geometry .*'crossline': 5.* does not match .*'crossline': 4"):
        seisfuse.ingest(wrong, store, var="salt")
    assert "salt" not in seisfuse.open_store(store)


def test_resume_after_a_crash_gives_the_same_store(tmp_path, monkeypatch, segy_dir):
    src = segy_dir / "f3.sgy"
    monkeypatch.setattr(ingest_module, "BLOCK_BYTES", 1)  # one chunk per block: 6 x 3 blocks
    reference = seisfuse.open_store(seisfuse.ingest(src, tmp_path / "ref.zarr", chunks=(4, 6, 75), workers=1))
    real, calls = ingest_module._copy_block, []

    def crash_on_fifth(*args, **kwargs):
        calls.append(1)
        if len(calls) == 5:
            raise KeyboardInterrupt  # as if killed mid-ingest
        return real(*args, **kwargs)

    monkeypatch.setattr(ingest_module, "_copy_block", crash_on_fifth)
    with pytest.raises(KeyboardInterrupt):
        seisfuse.ingest(src, tmp_path / "s.zarr", chunks=(4, 6, 75), workers=1)
    with pytest.raises(StoreError, match="incomplete"):
        seisfuse.open_store(tmp_path / "s.zarr")
    n_done = int(zarr.open_group(str(tmp_path / "s.zarr"))["_ingest_amplitude_done"][:].sum())
    assert 4 <= n_done < 18  # the four blocks before the crash, and not all of them
    stale = tmp_path / "s.zarr" / "amplitude" / "c" / "0" / "0" / ".0.123.456.tmp"  # a chunk cut by the kill
    stale.write_bytes(b"half a chunk")
    counted = []
    monkeypatch.setattr(ingest_module, "_copy_block", lambda *a, **k: (counted.append(1), real(*a, **k)))
    seisfuse.ingest(src, tmp_path / "s.zarr", chunks=(4, 6, 75), workers=1)
    assert len(counted) == 18 - n_done  # only the blocks not finished before the crash
    resumed = seisfuse.open_store(tmp_path / "s.zarr")
    for name in ("amplitude", "trace_headers", "trace_mask", "trace_index"):
        np.testing.assert_array_equal(resumed[name].values, reference[name].values)
    assert resumed.attrs["statistics"] == reference.attrs["statistics"]
    assert not [n for n in resumed.variables if n.startswith("_")]
    assert not list((tmp_path / "s.zarr").rglob("*.tmp"))


def test_parallel_workers_give_the_same_store(segy_dir, tmp_path):
    a = seisfuse.open_store(seisfuse.ingest(segy_dir / "f3.sgy", tmp_path / "a.zarr", chunks=(4, 4, 75), workers=1))
    b = seisfuse.open_store(seisfuse.ingest(segy_dir / "f3.sgy", tmp_path / "b.zarr", chunks=(4, 4, 75), workers=3))
    np.testing.assert_array_equal(a.amplitude.values, b.amplitude.values)
    assert a.attrs["statistics"] == b.attrs["statistics"]


@pytest.mark.slow
def test_dask_workers_give_the_same_store_and_export_exactly(segy_dir, tmp_path):
    src = segy_dir / "f3-withdead.sgy"  # missing traces too
    threads = seisfuse.open_store(seisfuse.ingest(src, tmp_path / "t.zarr", chunks=(4, 4, 75), workers=2))
    dask = seisfuse.open_store(seisfuse.ingest(src, tmp_path / "d.zarr", chunks=(4, 4, 75), workers=2,
                                               scheduler="local"))
    for name in ("amplitude", "trace_headers", "trace_mask", "trace_index"):
        np.testing.assert_array_equal(dask[name].values, threads[name].values)
    assert dask.attrs["statistics"] == threads.attrs["statistics"]
    seisfuse.export(tmp_path / "d.zarr", tmp_path / "d.sgy")
    assert filecmp.cmp(src, tmp_path / "d.sgy", shallow=False)


def test_prediction_export_keeps_headers_and_updates_format(segy_dir, tmp_path):
    src = segy_dir / "f3-withdead.sgy"
    store = seisfuse.ingest(src, tmp_path / "s.zarr")
    ds = seisfuse.open_store(store)
    prediction = (ds.amplitude.values / 1000.0).astype(np.float32)
    seisfuse.write_variable(store, "prediction", prediction)
    for fmt, code in (("ieee", 5), ("ibm", 1)):
        out = seisfuse.export(store, tmp_path / f"p-{fmt}.sgy", var="prediction", fmt=fmt)
        with segyio.open(out, ignore_geometry=True) as f, segyio.open(src, ignore_geometry=True) as g:
            assert f.tracecount == g.tracecount == 239
            assert f.bin[segyio.BinField.Format] == code
            assert f.bin == {**g.bin, segyio.BinField.Format: code}
            assert all(f.header[i].buf == g.header[i].buf for i in range(f.tracecount))
            placed = ds.trace_index.values
            for i, j in zip(*np.nonzero(placed >= 0)):
                got = f.trace[int(placed[i, j])]
                if code == 5:
                    np.testing.assert_array_equal(got, prediction[i, j])
                else:  # IEEE -> IBM keeps 21 to 24 significant bits
                    np.testing.assert_allclose(got, prediction[i, j], rtol=2.0**-20)


def test_integer_source_format_refuses_a_float_prediction(segy_dir, tmp_path):
    store = seisfuse.ingest(segy_dir / "f3.sgy", tmp_path / "s.zarr")
    seisfuse.write_variable(store, "prediction", np.zeros((23, 18, 75), np.float32))
    with pytest.raises(Exception, match="integer format .* --format ieee"):
        seisfuse.export(store, tmp_path / "p.sgy", var="prediction", fmt="source")
    assert not (tmp_path / "p.sgy").exists()


def test_store_from_array_and_npy_ingest(tmp_path):
    volume = coordinate_values(*grid_traces(5, 4, il0=1, xl0=1), 10).reshape(5, 4, 10).astype(np.float32)
    labels = (volume % 1 > 0.05).astype(np.uint8)
    np.save(tmp_path / "v.npy", volume)
    np.save(tmp_path / "l.npy", labels)
    store = seisfuse.ingest(tmp_path / "v.npy", tmp_path / "s.zarr")
    seisfuse.ingest(tmp_path / "l.npy", store, var="fault")
    ds = seisfuse.open_store(store)
    np.testing.assert_array_equal(ds.amplitude.values, volume)
    np.testing.assert_array_equal(ds.fault.values, labels)
    out = seisfuse.export(store, tmp_path / "v.sgy")
    back = seisfuse.open_store(seisfuse.ingest(out, tmp_path / "back.zarr"))
    np.testing.assert_array_equal(back.amplitude.values, volume)
    assert list(back.inline.values) == [1, 2, 3, 4, 5] and back.cdp_x.values[0, 1] == 25.0


def test_2d_section_store(tmp_path):
    section = np.arange(30 * 12, dtype=np.float32).reshape(30, 12)
    store = seisfuse.store_from_array(section, tmp_path / "sec.zarr", labels={"facies": section.astype(np.uint8) % 3})
    ds = seisfuse.open_store(store)
    assert ds.amplitude.dims == ("trace", "sample") and ds.facies.dtype == np.uint8
    out = seisfuse.export(store, tmp_path / "sec.sgy")
    again = seisfuse.open_store(seisfuse.ingest(out, tmp_path / "again.zarr", layout="2d"))
    np.testing.assert_array_equal(again.amplitude.values, section)


def test_store_is_readable_by_plain_zarr(segy_dir, tmp_path):
    store = seisfuse.ingest(segy_dir / "small.sgy", tmp_path / "s.zarr")
    group = zarr.open_group(str(store), mode="r")
    assert group.attrs[schema.COMPLETE] is True
    # small.sgy: value = inline.crossline0sample (segyio's test file)
    assert group["amplitude"][0, 0, 1] == pytest.approx(1.20001, abs=1e-5)


@pytest.mark.parametrize("name, layout", ROUND_TRIP)
def test_auto_layout_finds_the_layout_each_file_needs(segy_dir, name, layout):
    """The default layout (auto) gives every file of the corpus the layout listed above."""
    assert seisfuse.info(segy_dir / name)["layout"].startswith(f"{layout} (auto: ")
