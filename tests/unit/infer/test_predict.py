"""Whole-volume prediction through the public API: arrays, stores, resume, Dask, export."""

import numpy as np
import pytest
import segyio
import torch
import xarray as xr

import seisfuse
from seisfuse.infer import store as store_module


class Identity(torch.nn.Module):
    """Logits whose sigmoid is the input (values in (0, 1))."""

    def forward(self, raw, edge=None):
        return torch.logit(raw.double()).float()


def test_identity_model_on_arrays_every_window_and_overlap():
    volume = np.random.default_rng(0).uniform(0.05, 0.95, (5, 40, 48)).astype(np.float32)
    for blend in ("constant", "hann", "gaussian"):
        for overlap in (0.0, 0.5):
            for direction in ("inline", "crossline", "both"):
                out = seisfuse.predict(Identity(), volume, tile=(16, 32), overlap=overlap, blend=blend,
                                       direction=direction)
                np.testing.assert_allclose(out, volume, rtol=0, atol=2e-6)


def test_volume_smaller_than_the_tile_and_sections_and_tta():
    small = np.random.default_rng(1).uniform(0.1, 0.9, (3, 7, 11)).astype(np.float32)
    np.testing.assert_allclose(seisfuse.predict(Identity(), small, tile=(16, 32)), small, atol=2e-6)
    section = small[0]
    np.testing.assert_allclose(seisfuse.predict(Identity(), section, tile=(16, 32), tta=True), section, atol=2e-6)
    cube = seisfuse.predict(Identity(), small, tile=(8, 8, 8))
    np.testing.assert_allclose(cube, small, atol=2e-6)


def test_dataarray_in_dataarray_out(trained):
    store, ckpt = trained
    amplitude = seisfuse.open_store(store).amplitude.load()
    out = seisfuse.predict(ckpt, amplitude)
    assert isinstance(out, xr.DataArray) and out.dims == amplitude.dims
    assert np.array_equal(out.inline.values, amplitude.inline.values)
    assert float(out.min()) >= 0 and float(out.max()) <= 1


def test_store_prediction_equals_array_prediction_and_labels(trained, tmp_path):
    store, ckpt = trained
    seisfuse.predict(ckpt, store, var="prob_a", overwrite=True)
    ds = seisfuse.open_store(store)
    assert ds.prob_a.attrs["seisfuse_complete"] and ds.prob_a.dtype == np.float32
    in_memory = seisfuse.predict(ckpt, ds.amplitude.values)
    assert np.array_equal(ds.prob_a.values, in_memory)
    seisfuse.predict(ckpt, store, var="label_a", output="label", threshold=0.5, overwrite=True)
    labels = seisfuse.open_store(store).label_a.values
    assert labels.dtype == np.uint8 and np.array_equal(labels, (in_memory >= 0.5).astype(np.uint8))


def test_interrupted_prediction_resumes_to_the_same_result(trained, monkeypatch):
    store, ckpt = trained
    reference = seisfuse.predict(ckpt, seisfuse.open_store(store).amplitude.values)
    monkeypatch.setattr(store_module, "plan_blocks", lambda n, c, t: [(a, min(a + 8, n)) for a in range(0, n, 8)])
    real, calls = store_module.run_block, []

    def die_on_third(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(store_module, "run_block", die_on_third)
    with pytest.raises(KeyboardInterrupt):
        seisfuse.predict(ckpt, store, var="resumed", overwrite=True)
    assert "resumed" not in seisfuse.open_store(store)  # incomplete: not offered
    monkeypatch.setattr(store_module, "run_block", real)
    counted = []
    monkeypatch.setattr(store_module, "run_block", lambda *a, **k: (counted.append(1), real(*a, **k)))
    seisfuse.predict(ckpt, store, var="resumed")
    assert len(counted) == 5 - 2  # 40 inlines in blocks of 8: two were done before the interruption
    assert np.array_equal(seisfuse.open_store(store).resumed.values, reference)


@pytest.mark.slow
def test_dask_local_cluster_equals_single_process(trained):
    store, ckpt = trained
    seisfuse.predict(ckpt, store, var="single", overwrite=True)
    seisfuse.predict(ckpt, store, var="dask", scheduler="local", overwrite=True)
    ds = seisfuse.open_store(store)
    assert np.array_equal(ds.single.values, ds.dask.values)


def test_missing_traces_stay_missing_and_export_keeps_headers(segy_dir, trained, tmp_path):
    _, ckpt = trained
    src = segy_dir / "f3-withdead.sgy"
    store = seisfuse.ingest(src, tmp_path / "dead.zarr")
    seisfuse.predict(ckpt, store, var="prediction")
    ds = seisfuse.open_store(store)
    assert float(abs(ds.prediction.where(~ds.trace_mask, 0)).max()) == 0.0
    out = seisfuse.export(store, tmp_path / "pred.sgy", var="prediction", fmt="ieee")
    with segyio.open(out, ignore_geometry=True) as f, segyio.open(src, ignore_geometry=True) as g:
        assert f.tracecount == g.tracecount and f.bin == {**g.bin, segyio.BinField.Format: 5}
        assert all(f.header[i].buf == g.header[i].buf for i in range(f.tracecount))
        index = ds.trace_index.values
        for i, j in zip(*np.nonzero(index >= 0)):
            np.testing.assert_array_equal(f.trace[int(index[i, j])], ds.prediction.values[i, j])


def test_existing_prediction_needs_overwrite(trained):
    store, ckpt = trained
    seisfuse.predict(ckpt, store, var="once", overwrite=True)
    with pytest.raises(seisfuse.errors.StoreError, match="already exists"):
        seisfuse.predict(ckpt, store, var="once")
