"""Arrays are read by their dim names, and their sample axis is kept through store and export."""

from __future__ import annotations

import numpy as np
import pytest
import segyio
import xarray as xr

import seisfuse
from seisfuse.errors import GeometryError


def cube(dims=("inline", "crossline", "sample"), start=100.0, step=2.0):
    values = np.random.default_rng(0).standard_normal((4, 5, 6)).astype(np.float32)
    data = xr.DataArray(values, dims=("inline", "crossline", "sample"),
                        coords={"inline": [10, 11, 12, 13], "crossline": [20, 21, 22, 23, 24],
                                "sample": start + step * np.arange(6)})
    renamed = data.rename(dict(zip(("inline", "crossline", "sample"), dims)))
    return data, renamed


def test_the_sample_axis_is_kept_through_store_and_export(tmp_path):
    data, _ = cube()
    store = seisfuse.store_from_array(data, tmp_path / "s.zarr")
    ds = seisfuse.open_store(store)
    np.testing.assert_allclose(ds.sample.values, [100, 102, 104, 106, 108, 110])
    assert ds.attrs["sample_interval"] == 2000.0
    out = seisfuse.export(store, tmp_path / "s.sgy")
    with segyio.open(out, iline=189, xline=193) as f:
        np.testing.assert_allclose(f.samples, [100, 102, 104, 106, 108, 110])
        assert f.header[0][segyio.TraceField.DelayRecordingTime] == 100
    again = seisfuse.ingest(out, tmp_path / "again.zarr")
    np.testing.assert_allclose(seisfuse.open_store(again).sample.values, ds.sample.values)


def test_sample_arguments_for_numpy_and_disagreement_with_a_coordinate(tmp_path):
    values = np.zeros((2, 3, 5), np.float32)
    store = seisfuse.store_from_array(values, tmp_path / "n.zarr", sample_start=40, sample_interval=8)
    np.testing.assert_allclose(seisfuse.open_store(store).sample.values, [40, 48, 56, 64, 72])
    data, _ = cube()
    with pytest.raises(GeometryError, match="disagree with the sample coordinate"):
        seisfuse.store_from_array(data, tmp_path / "d.zarr", sample_interval=4)


def test_an_irregular_sample_coordinate_is_refused(tmp_path):
    data, _ = cube()
    data = data.assign_coords(sample=[0, 2, 4, 7, 8, 10])
    with pytest.raises(GeometryError, match="sample coordinate is not regular"):
        seisfuse.store_from_array(data, tmp_path / "s.zarr")
    assert not (tmp_path / "s.zarr").exists()


@pytest.mark.parametrize("names, order", [(("iline", "xline", "twt"), (0, 1, 2)),
                                          (("iline", "xline", "twt"), (2, 0, 1)),
                                          (("inline", "xline", "depth"), (1, 2, 0))])
def test_dataarrays_are_read_by_their_dim_names(tmp_path, names, order):
    data, renamed = cube(names)  # names: of inline, crossline, sample
    given = renamed.transpose(*[names[k] for k in order])  # in the caller's own order
    store = seisfuse.store_from_array(given, tmp_path / "s.zarr")
    ds = seisfuse.open_store(store)
    np.testing.assert_array_equal(ds.amplitude.values, data.values)
    np.testing.assert_array_equal(ds.inline.values, data.inline.values)


def test_unknown_dim_names_are_refused_with_the_known_ones(tmp_path):
    _, renamed = cube(("row", "col", "sample"))
    with pytest.raises(GeometryError, match=r"unknown dim name\(s\) \['row', 'col'\].*iline"):
        seisfuse.store_from_array(renamed, tmp_path / "s.zarr")
