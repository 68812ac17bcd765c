"""Dead and dummy traces (trace identification code 2/3, bytes 29-30): counted, kept out of
training, metrics and statistics like missing traces, and exported back as they were."""

from __future__ import annotations

import filecmp
import types

import numpy as np
import pytest

import seisfuse
from tests.helpers import grid_traces, write_segy

NS = 16


def flag(path, positions, codes, byteorder=">"):
    """Set the identification code of the traces at these file positions."""
    raw = bytearray(path.read_bytes())
    for pos, code in zip(positions, codes):
        at = 3600 + pos * (240 + 4 * NS) + 28
        raw[at:at + 2] = int(code).to_bytes(2, "big" if byteorder == ">" else "little", signed=True)
    path.write_bytes(bytes(raw))
    return path


@pytest.fixture(params=[">", "<"], ids=["big", "little"])
def dead_file(tmp_path, request):
    il, xl = grid_traces(4, 3)
    values = np.tile(np.arange(NS, dtype=np.float32), (len(il), 1)) + il[:, None]
    values[[4, 9]] = 1e6  # the dead traces hold garbage: it must not reach the statistics
    path = write_segy(tmp_path / "dead.sgy", il, xl, values, byteorder=request.param)
    return flag(path, [4, 9], [2, 3], request.param), il, xl


def test_dead_traces_are_counted_masked_and_exported_as_they_were(dead_file, tmp_path):
    src, il, xl = dead_file
    info = seisfuse.info(src)
    assert info["dead_traces"].startswith("2 (identification code 2 or 3")
    assert f"inline {il[4]} crossline {xl[4]}" in info["dead_traces"]
    store = seisfuse.ingest(src, tmp_path / "s.zarr")
    ds = seisfuse.open_store(store)
    mask = ds.trace_mask.values.reshape(-1)
    assert mask.sum() == 10 and not mask[4] and not mask[9]
    assert (ds.trace_index.values.reshape(-1) >= 0).all()  # the traces are there, for export
    assert ds.attrs["n_dead"] == 2 and seisfuse.info(store)["dead_traces"].startswith("2 ")
    assert ds.attrs["statistics"]["max"] < 1e6  # the dead traces' garbage is not in the statistics
    out = seisfuse.export(store, tmp_path / "out.sgy")
    assert filecmp.cmp(src, out, shallow=False)


def test_dead_traces_count_in_neither_metrics_nor_class_weights(dead_file, tmp_path):
    from seisfuse.config import load_config
    from seisfuse.training.loop import positive_weight

    src, il, xl = dead_file
    store = seisfuse.ingest(src, tmp_path / "s.zarr")
    label = np.zeros((4, 3, NS), np.uint8)
    label[1, 1, :4] = 1  # file position 4 (inline index 1, crossline index 1): dead
    label[0, 0, :2] = 1  # live
    seisfuse.write_variable(store, "fault", label)
    pred = label.astype(np.float32)
    pred[1, 1] = 1 - pred[1, 1]  # wrong everywhere on the dead trace
    seisfuse.write_variable(store, "prediction", pred)
    result = seisfuse.evaluate(store, pred="prediction", label="fault", tolerance=0)
    assert result["iou"] == pytest.approx(1.0) and result["precision"] == pytest.approx(1.0)
    cfg = load_config({"name": "t", "data": {"stores": [str(store)], "tile": [32, 32]}})
    mask = seisfuse.open_store(store).trace_mask.values
    survey = types.SimpleNamespace(axis=0, train=(0, 4), label=label, valid=mask)
    assert positive_weight(cfg, [survey]) == pytest.approx((10 * NS - 2) / 2)  # live voxels only


@pytest.mark.parametrize("name", ["f3.sgy", "decrement.sgy", "test-geometry.sgy"])
def test_real_files_without_dead_flags_have_none(segy_dir, name):
    assert seisfuse.info(segy_dir / name)["dead_traces"] == 0
