"""evaluate over several stores: the pooled confusion matrix is the benchmark's number (not the
mean of the stores' scores), each store keeps its own, and the pixels are counted."""

from __future__ import annotations

import json

import numpy as np
import pytest

import seisfuse
from seisfuse.metrics import multiclass_metrics


def _store(path, shape, seed, mask=None):
    rng = np.random.default_rng(seed)
    label = rng.integers(0, 3, shape).astype(np.uint8)
    pred = np.where(rng.random(shape) < 0.7, label, rng.integers(0, 3, shape)).astype(np.uint8)
    kwargs = {} if mask is None else {"trace_mask": mask}
    seisfuse.store_from_array(rng.normal(size=shape).astype(np.float32), path, labels={"facies": label, "pred": pred},
                              **kwargs)
    return label, pred


def test_pooled_metrics_come_from_one_confusion_matrix(tmp_path, run_cli):
    mask = np.ones((6, 5), bool)
    mask[0, :2] = False  # two missing traces: not counted
    la, pa = _store(tmp_path / "a.zarr", (10, 8, 16), 0)
    lb, pb = _store(tmp_path / "b.zarr", (6, 5, 16), 1, mask)
    result = seisfuse.evaluate([tmp_path / "a.zarr", tmp_path / "b.zarr"], pred="pred", label="facies",
                               task="multiclass", out=tmp_path / "m.json")
    live_b = np.broadcast_to(mask[..., None], lb.shape)
    pooled = multiclass_metrics(np.concatenate([pa.ravel(), pb[live_b]]), np.concatenate([la.ravel(), lb[live_b]]),
                                3)
    assert result["miou"] == pytest.approx(pooled["miou"]) and result["fwiu"] == pytest.approx(pooled["fwiu"])
    assert result["pixels"] == la.size + int(live_b.sum()) == 10 * 8 * 16 + 28 * 16
    a, b = result["stores"]
    assert a["pixels"] == la.size and b["pixels"] == 28 * 16
    assert b["per_class"] == np.bincount(lb[live_b], minlength=3).tolist()
    assert a["miou"] == pytest.approx(multiclass_metrics(pa, la, 3)["miou"])
    assert result["miou"] != pytest.approx((a["miou"] + b["miou"]) / 2, abs=1e-6)  # pooled, not averaged
    assert json.loads((tmp_path / "m.json").read_text())["pixels"] == result["pixels"]
    code, out, err = run_cli("evaluate", tmp_path / "a.zarr", tmp_path / "b.zarr", "--pred", "pred", "--label",
                             "facies", "--task", "multiclass")
    assert code == 0, err
    last = out.strip().splitlines()[-1].split()
    assert last[0] == "pooled" and last[1] == f"{result['pixels']:,}"


def test_one_bad_store_among_several_is_named(tmp_path, run_cli):
    _store(tmp_path / "a.zarr", (4, 4, 8), 0)
    code, _, err = run_cli("evaluate", tmp_path / "a.zarr", tmp_path / "missing.zarr", "--pred", "pred",
                           "--label", "facies", "--task", "multiclass")
    assert code == 2 and "missing.zarr" in err and len(err.strip().splitlines()) == 1


def test_a_store_given_twice_is_refused(tmp_path, run_cli):
    _store(tmp_path / "a.zarr", (4, 4, 8), 0)
    code, out, err = run_cli("evaluate", tmp_path / "a.zarr", tmp_path / "." / "a.zarr", "--pred", "pred",
                             "--label", "facies", "--task", "multiclass")
    assert code == 2 and "the same store is given twice" in err and not out
