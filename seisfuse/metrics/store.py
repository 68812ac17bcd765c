"""Metrics of a prediction variable against a label variable of a store, computed out of
core: chunk row by chunk row, with a halo of `tolerance` lines for the tolerance F1."""

from __future__ import annotations

import numpy as np

from seisfuse.errors import SeisfuseError, StoreError
from seisfuse.io import integrity, schema
from seisfuse.metrics.binary import BinaryMetrics, tolerance_hits
from seisfuse.metrics.multiclass import MulticlassMetrics
from seisfuse.progress import Progress


def _range(values: np.ndarray, name: str, kind: str, low: float, high: float, whole: bool, store, fix: str):
    """Refuse a block whose values are not what `kind` needs (naming the values found)."""
    if values.size == 0:
        return
    lo, hi = float(values.min()), float(values.max())
    fractional = whole and np.issubdtype(values.dtype, np.floating) and bool(np.any(values != np.rint(values)))
    if lo < low or hi > high or fractional:
        found = f"values {lo:g}..{hi:g}" + (" that are not whole numbers" if fractional else "")
        raise SeisfuseError(f"{name!r} holds {found}: not {kind}", where=str(store), fix=fix)


def _check_block(p, y, pred: str, label: str, task: str, classes: int | None, store, top=None) -> None:
    """What a block of the prediction and label must hold for the metrics to mean something.
    top: the label's largest value over the whole store (its recorded statistics), for the fix."""
    p, y = np.asarray(p), np.asarray(y)
    if task == "multiclass":
        k = classes - 1
        largest = max(float(np.max(y)), float(np.max(p)), float(top if top is not None else -1))
        fix = f"give --classes {int(largest) + 1} (or more)" if largest > k else \
            "evaluate class labels (predict with --output label), not probabilities"
        _range(y, label, f"class labels 0..{k}", 0, k, True, store, fix)
        _range(p, pred, f"class labels 0..{k}", 0, k, True, store, fix)
    else:
        _range(y, label, "a binary label (0 or 1)", 0, 1, True, store,
               "choose a binary label, or evaluate with --task multiclass --classes N")
        _range(p, pred, "probabilities or labels in [0, 1]", 0, 1, False, store,
               "choose a prediction variable (seisfuse predict writes one)")


def evaluate_store(store, pred: str, label: str, *, region: tuple[int, int] | None = None, task: str = "binary",
                   classes: int | None = None, threshold: float = 0.5, tolerance: int = 2) -> dict:
    """region: an inline index range [start, stop) (e.g. the held-out lines); default all."""
    group = schema.open_group(store)
    valid_names = schema.complete_variables(group)
    for name in (pred, label):
        if name not in valid_names:
            raise StoreError(f"no complete variable {name!r} in the store", where=str(store),
                             fix=f"choose from {valid_names}")
    integrity.require_intact(group, [pred, label, schema.TRACE_MASK])
    p_arr, l_arr, mask = group[pred], group[label], group[schema.TRACE_MASK]
    lo, hi = region or (0, p_arr.shape[0])
    step = p_arr.chunks[0]
    if task == "multiclass":  # the class count from the label's recorded statistics: no pass over it
        top = (l_arr.attrs.get("statistics") or {}).get("max")
        classes = classes or (int(top) + 1 if top is not None else int(np.asarray(l_arr[lo:hi]).max()) + 1)
        acc = MulticlassMetrics(classes)
    else:
        acc = BinaryMetrics(threshold, tolerance)
        tol = np.zeros(4, np.int64)
    with Progress(hi - lo, f"evaluate {pred} vs {label}", unit="line") as bar, \
            integrity.reading(store, f"{pred} or {label}"):
        for a in range(lo, hi, step):
            b = min(a + step, hi)
            valid = np.broadcast_to(mask[a:b][..., None], p_arr[a:b].shape)
            _check_block(p_arr[a:b], l_arr[a:b], pred, label, task, classes, store,
                         (l_arr.attrs.get("statistics") or {}).get("max"))
            if task == "multiclass":
                acc.update(p_arr[a:b], l_arr[a:b], valid)
            else:
                acc.update(p_arr[a:b], l_arr[a:b], valid, tolerance_region=False)
                # the tolerance counts need neighbours across the block edge: read a halo
                ha, hb = max(lo, a - tolerance), min(hi, b + tolerance)
                halo_valid = np.broadcast_to(mask[ha:hb][..., None], p_arr[ha:hb].shape)
                predicted = (np.asarray(p_arr[ha:hb]) >= threshold) & halo_valid
                truth = (np.asarray(l_arr[ha:hb]) > 0) & halo_valid
                counts = np.array(tolerance_hits(predicted, truth, tolerance, core=(a - ha, b - ha)))
                tol += counts
            bar.update(b - a)
    if task != "multiclass":
        acc.tol = tol
    result = acc.compute()
    return {"store": str(store), "pred": pred, "label": label, "region": [lo, hi], "task": task, **result}
