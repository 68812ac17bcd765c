"""Metrics of a prediction variable against a label variable of a store, computed out of
core: chunk row by chunk row, with a halo of `tolerance` lines for the tolerance F1."""

from __future__ import annotations

import numpy as np

from seisfuse.errors import StoreError
from seisfuse.io import integrity, schema
from seisfuse.metrics.binary import BinaryMetrics, tolerance_hits
from seisfuse.metrics.multiclass import MulticlassMetrics
from seisfuse.progress import Progress


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
    if task == "multiclass":
        acc = MulticlassMetrics(classes or int(np.asarray(l_arr[lo:hi]).max()) + 1)
    else:
        acc = BinaryMetrics(threshold, tolerance)
        tol = np.zeros(4, np.int64)
    with Progress(hi - lo, f"evaluate {pred} vs {label}", unit="line") as bar, \
            integrity.reading(store, f"{pred} or {label}"):
        for a in range(lo, hi, step):
            b = min(a + step, hi)
            valid = np.broadcast_to(mask[a:b][..., None], p_arr[a:b].shape)
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
