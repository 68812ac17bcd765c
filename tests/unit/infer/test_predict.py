"""Whole-volume prediction through the public API: arrays, stores, resume, Dask, export."""

import os
import subprocess
import sys

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
                out = seisfuse.predict(volume, Identity(), tile=(16, 32), overlap=overlap, blend=blend,
                                       direction=direction)
                np.testing.assert_allclose(out, volume, rtol=0, atol=2e-6)


def test_volume_smaller_than_the_tile_and_sections_and_tta():
    small = np.random.default_rng(1).uniform(0.1, 0.9, (3, 7, 11)).astype(np.float32)
    np.testing.assert_allclose(seisfuse.predict(small, Identity(), tile=(16, 32)), small, atol=2e-6)
    section = small[0]
    np.testing.assert_allclose(seisfuse.predict(section, Identity(), tile=(16, 32), tta=True), section, atol=2e-6)
    cube = seisfuse.predict(small, Identity(), tile=(8, 8, 8))
    np.testing.assert_allclose(cube, small, atol=2e-6)


def test_dataarray_in_dataarray_out(trained):
    store, ckpt = trained
    amplitude = seisfuse.open_store(store).amplitude.load()
    out = seisfuse.predict(amplitude, ckpt)
    assert isinstance(out, xr.DataArray) and out.dims == amplitude.dims
    assert np.array_equal(out.inline.values, amplitude.inline.values)
    assert float(out.min()) >= 0 and float(out.max()) <= 1


def test_store_prediction_equals_array_prediction_and_labels(trained, tmp_path):
    store, ckpt = trained
    seisfuse.predict(store, ckpt, var="prob_a", overwrite=True)
    ds = seisfuse.open_store(store)
    assert ds.prob_a.attrs["seisfuse_complete"] and ds.prob_a.dtype == np.float32
    in_memory = seisfuse.predict(ds.amplitude.values, ckpt)
    assert np.array_equal(ds.prob_a.values, in_memory)
    seisfuse.predict(store, ckpt, var="label_a", output="label", threshold=0.5, overwrite=True)
    labels = seisfuse.open_store(store).label_a.values
    assert labels.dtype == np.uint8 and np.array_equal(labels, (in_memory >= 0.5).astype(np.uint8))


def test_interrupted_prediction_resumes_to_the_same_result(trained, monkeypatch):
    store, ckpt = trained
    reference = seisfuse.predict(seisfuse.open_store(store).amplitude.values, ckpt)
    monkeypatch.setattr(store_module, "row_blocks", lambda n, c, t: [(a, min(a + 8, n)) for a in range(0, n, 8)])
    real, calls = store_module.run_block, []

    def die_on_third(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(store_module, "run_block", die_on_third)
    with pytest.raises(KeyboardInterrupt):
        seisfuse.predict(store, ckpt, var="resumed", overwrite=True)
    assert "resumed" not in seisfuse.open_store(store)  # incomplete: not offered
    monkeypatch.setattr(store_module, "run_block", real)
    counted = []
    monkeypatch.setattr(store_module, "run_block", lambda *a, **k: (counted.append(1), real(*a, **k)))
    seisfuse.predict(store, ckpt, var="resumed")
    assert len(counted) == 5 - 2  # 40 inlines in blocks of 8: two were done before the interruption
    assert np.array_equal(seisfuse.open_store(store).resumed.values, reference)


@pytest.mark.slow
def test_dask_local_cluster_equals_single_process(trained):
    store, ckpt = trained
    seisfuse.predict(store, ckpt, var="single", overwrite=True)
    seisfuse.predict(store, ckpt, var="dask", scheduler="local", overwrite=True)
    ds = seisfuse.open_store(store)
    assert np.array_equal(ds.single.values, ds.dask.values)


def test_missing_traces_stay_missing_and_export_keeps_headers(segy_dir, trained, tmp_path):
    _, ckpt = trained
    src = segy_dir / "f3-withdead.sgy"
    store = seisfuse.ingest(src, tmp_path / "dead.zarr")
    seisfuse.predict(store, ckpt, var="prediction")
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
    seisfuse.predict(store, ckpt, var="once", overwrite=True)
    with pytest.raises(seisfuse.errors.StoreError, match="already exists"):
        seisfuse.predict(store, ckpt, var="once")


class ThreeClasses(torch.nn.Module):
    """Logits whose softmax is (s, 0.3 (1 - s), 0.7 (1 - s)) with s = sigmoid(input * scale)."""

    def __init__(self, scale: float = 1.0):
        super().__init__()
        self.scale = scale

    def forward(self, raw, edge=None):
        s = torch.sigmoid(raw.double() * self.scale)
        return torch.log(torch.cat([s, 0.3 * (1 - s), 0.7 * (1 - s)], dim=1)).float()


def _three_class_probabilities(volume, scale: float = 1.0):
    s = 1 / (1 + np.exp(-volume.astype(np.float64) * scale))
    return np.stack([s, 0.3 * (1 - s), 0.7 * (1 - s)])


def test_multiclass_probabilities_in_memory_are_the_model_probabilities():
    volume = np.random.default_rng(3).normal(0, 2, (5, 40, 48)).astype(np.float32)
    expected = _three_class_probabilities(volume)
    for blend, overlap in (("gaussian", 0.5), ("constant", 0.0)):
        probs = seisfuse.predict(volume, ThreeClasses(), tile=(16, 32), classes=3, blend=blend, overlap=overlap,
                                 output="probabilities")
        assert probs.shape == (3, *volume.shape) and probs.dtype == np.float32
        np.testing.assert_allclose(probs, expected, atol=2e-6)
    labels = seisfuse.predict(volume, ThreeClasses(), tile=(16, 32), classes=3)  # default: labels
    assert labels.dtype == np.uint8 and np.array_equal(labels, expected.argmax(axis=0))
    section = seisfuse.predict(volume[0], ThreeClasses(), tile=(16, 32), classes=3, output="probabilities")
    np.testing.assert_allclose(section, expected[:, 0], atol=2e-6)
    da = xr.DataArray(volume, dims=("inline", "crossline", "sample"), coords={"inline": np.arange(10, 15)})
    out = seisfuse.predict(da, ThreeClasses(), tile=(16, 32), classes=3, output="probabilities", var="facies")
    assert out.dims == ("class", "inline", "crossline", "sample") and out.name == "facies"
    assert out.inline.values.tolist() == list(range(10, 15)) and out["class"].values.tolist() == [0, 1, 2]


def test_multiclass_probabilities_in_a_store_beside_the_labels(segy_dir, tmp_path):
    store = seisfuse.ingest(segy_dir / "f3-withdead.sgy", tmp_path / "s.zarr")  # missing traces too
    scale = 1 / float(seisfuse.open_store(store).attrs["statistics"]["std"])  # probabilities across (0, 1)
    seisfuse.predict(store, ThreeClasses(scale), var="facies", tile=(16, 32), classes=3, output="probabilities")
    ds = seisfuse.open_store(store)
    live = ds.trace_mask.values
    expected = _three_class_probabilities(ds.amplitude.values, scale)
    for k in range(3):
        p = ds[f"facies_p{k}"]
        assert p.attrs["seisfuse_complete"] and p.dtype == np.float32
        np.testing.assert_allclose(p.values[live], expected[k][live], atol=2e-6)
        assert not p.values[~live].any()  # missing traces stay missing
    assert np.array_equal(ds.facies.values[live], expected.argmax(axis=0)[live])
    with pytest.raises(seisfuse.errors.StoreError, match="already exists"):
        seisfuse.predict(store, ThreeClasses(), var="facies", tile=(16, 32), classes=3, output="probabilities")
    with pytest.raises(seisfuse.errors.SeisfuseError, match="output: Input should be 'probability'"):
        seisfuse.predict(store, ThreeClasses(), var="other", tile=(16, 32), classes=3, output="softmax")


def test_each_local_dask_worker_takes_its_own_gpu(monkeypatch):
    assert store_module.worker_device("cpu", 3) == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert store_module.worker_device("auto", 1) == "auto"  # no GPU: the predictor picks the CPU
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 4)
    assert [store_module.worker_device("auto", k) for k in range(6)] == [f"cuda:{k % 4}" for k in range(6)]
    assert store_module.worker_device("auto", "tcp://n1:4000") == "cuda:0"  # a named remote worker
    assert store_module.worker_device("cuda:1", 0) == "cuda:1"  # an explicit device is kept


# `seisfuse predict` in a child process that sends itself a real SIGINT (Ctrl-C) as its second
# block starts; Python's own SIGINT handler is restored first, so the test does not depend on
# how the parent was started (a background job ignores SIGINT).
INTERRUPTED_CLI = """
import os, signal, sys
signal.signal(signal.SIGINT, signal.default_int_handler)
from seisfuse import cli
from seisfuse.infer import store
real, calls = store.run_block, []
def run_block(*args, **kwargs):
    calls.append(1)
    if len(calls) == 2:
        os.kill(os.getpid(), signal.SIGINT)
    return real(*args, **kwargs)
store.run_block = run_block
store.row_blocks = lambda n, c, t: [(a, min(a + 8, n)) for a in range(0, n, 8)]
sys.exit(cli.main(sys.argv[1:]))
"""


def test_ctrl_c_ends_with_the_resume_line_and_nothing_else(trained):
    store, ckpt = trained
    argv = [sys.executable, "-c", INTERRUPTED_CLI, "predict", str(store), "--checkpoint", ckpt, "--var", "ctrl_c",
            "--overwrite", "-q"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "NO_ALBUMENTATIONS_UPDATE": "1"})
    assert done.returncode == 130, done.stderr
    assert done.stderr.strip().splitlines() == ["seisfuse: interrupted; run the same command again to resume"]
    assert "ctrl_c" not in seisfuse.open_store(store)  # not offered as complete


def test_a_dataarray_in_another_dim_order_is_predicted_by_its_dim_names(trained):
    store, ckpt = trained
    amplitude = seisfuse.open_store(store).amplitude.load()
    reference = seisfuse.predict(amplitude.values, ckpt)
    segysak = amplitude.rename(inline="iline", crossline="xline", sample="twt").transpose("twt", "iline", "xline")
    result = seisfuse.predict(segysak, ckpt)
    assert result.dims == ("twt", "iline", "xline")
    np.testing.assert_allclose(result.transpose("iline", "xline", "twt").values, reference, atol=1e-6)
    with pytest.raises(seisfuse.errors.GeometryError, match="unknown dim name"):
        seisfuse.predict(amplitude.rename(sample="frequency"), ckpt)
    with pytest.raises(seisfuse.errors.SeisfuseError, match="complex"):
        seisfuse.predict(amplitude.values.astype(np.complex64), ckpt)


def test_nan_samples_are_missing_in_the_input_and_kept_out_of_the_output(trained, caplog):
    store, ckpt = trained
    values = seisfuse.open_store(store).amplitude.values.copy()
    values[20, 10, 15] = np.nan
    zeroed = values.copy()
    zeroed[20, 10, 15] = 0
    result = seisfuse.predict(values, ckpt)
    assert np.isfinite(result).all() and result[20, 10, 15] == 0
    expected = seisfuse.predict(zeroed, ckpt)
    expected[20, 10, 15] = 0
    np.testing.assert_array_equal(result, expected)
    assert "1 NaN/Inf samples in the input" in caplog.text
