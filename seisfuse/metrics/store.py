"""Metrics of a prediction variable against a label variable of a store, computed out of
core: chunk row by chunk row, with a halo of `tolerance` lines for the tolerance F1."""

from __future__ import annotations

import numpy as np

from seisfuse.errors import SeisfuseError, StoreError
from seisfuse.io import integrity, schema
from seisfuse.io.sparse import unlabelled_value
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


def _accumulator(task: str, classes: int | None, threshold: float, tolerance: int):
    return MulticlassMetrics(classes) if task == "multiclass" else BinaryMetrics(threshold, tolerance)


def _classes(group, label: str, lo: int, hi: int, classes: int | None) -> int:
    """The class count: given, else from the label's recorded statistics (no pass over it);
    a sparse label's from its class names."""
    if unlabelled_value(group[label]) is not None and not classes:
        return len(group[label].attrs.get("class_names") or []) or 1
    top = (group[label].attrs.get("statistics") or {}).get("max")
    return classes or (int(top) + 1 if top is not None else int(np.asarray(group[label][lo:hi]).max()) + 1)


def _accumulate(store, pred: str, label: str, accs: list, region, task, classes, threshold, tolerance) -> dict:
    """Add one store's blocks to every accumulator of `accs` (its own and the pooled one);
    returns its pixel counts."""
    group = schema.open_group(store)
    valid_names = schema.complete_variables(group)
    for name in (pred, label):
        if name not in valid_names:
            raise StoreError(f"no complete variable {name!r} in the store", where=str(store),
                             fix=f"choose from {valid_names}")
    integrity.require_intact(group, [pred, label, schema.TRACE_MASK])
    p_arr, l_arr, mask = group[pred], group[label], group[schema.TRACE_MASK]
    unlabelled = unlabelled_value(l_arr)  # a sparse label: its labelled pixels only are scored

    def labelled(lines: slice):
        """The live traces' pixels of a block of lines, and its label (0 where unlabelled)."""
        live = np.broadcast_to(mask[lines][..., None], p_arr[lines].shape)
        values = np.asarray(l_arr[lines])
        if unlabelled is None:
            return live, values
        known = values != unlabelled
        if values.dtype.kind == "f":
            known &= ~np.isnan(values)
        return live & known, np.where(known, values, 0)

    lo, hi = region or (0, p_arr.shape[0])
    step = p_arr.chunks[0]
    pixels, positives, per_class = 0, 0, np.zeros(classes or 1, np.int64)
    tol = np.zeros(4, np.int64)
    with Progress(hi - lo, f"evaluate {pred} vs {label}", unit="line") as bar, \
            integrity.reading(store, f"{pred} or {label}"):
        for a in range(lo, hi, step):
            b = min(a + step, hi)
            valid, l_block = labelled(slice(a, b))
            p_block = np.asarray(p_arr[a:b])
            _check_block(p_block, l_block, pred, label, task, classes, store,
                         None if unlabelled is not None else (l_arr.attrs.get("statistics") or {}).get("max"))
            live = l_block[valid]
            pixels += int(live.size)
            if task == "multiclass":
                per_class += np.bincount(live.astype(np.int64), minlength=classes)[:classes]
                for acc in accs:
                    acc.update(p_block, l_block, valid)
            else:
                positives += int((live > 0).sum())
                for acc in accs:
                    acc.update(p_block, l_block, valid, tolerance_region=False)
                # the tolerance counts need neighbours across the block edge: read a halo
                ha, hb = max(lo, a - tolerance), min(hi, b + tolerance)
                halo_valid, halo_label = labelled(slice(ha, hb))
                predicted = (np.asarray(p_arr[ha:hb]) >= threshold) & halo_valid
                truth = (halo_label > 0) & halo_valid
                tol += np.array(tolerance_hits(predicted, truth, tolerance, core=(a - ha, b - ha)))
            bar.update(b - a)
    if task != "multiclass":
        for acc in accs:
            acc.tol = acc.tol + tol
    counted = {"per_class": per_class.tolist()} if task == "multiclass" else {"positives": positives}
    return {"region": [lo, hi], "pixels": pixels, **counted}


def evaluate_store(store, pred: str, label: str, *, region: tuple[int, int] | None = None, task: str = "binary",
                   classes: int | None = None, threshold: float = 0.5, tolerance: int = 2) -> dict:
    """region: an inline index range [start, stop) (e.g. the held-out lines); default all."""
    group = schema.open_group(store)
    if task == "multiclass" and label in group:
        lo, hi = region or (0, group[label].shape[0])
        classes = _classes(group, label, lo, hi, classes)
    acc = _accumulator(task, classes, threshold, tolerance)
    counts = _accumulate(store, pred, label, [acc], region, task, classes, threshold, tolerance)
    return {"store": str(store), "pred": pred, "label": label, "task": task, **counts, **acc.compute()}


def evaluate_stores(stores: list, pred: str, label: str, *, region: tuple[int, int] | None = None,
                    task: str = "binary", classes: int | None = None, threshold: float = 0.5,
                    tolerance: int = 2) -> dict:
    """Several stores in one call: the pooled metrics (one confusion matrix, or one set of
    counts, over every pixel of every store: a benchmark's number), each store's own, and the
    pixel counts."""
    if task == "multiclass" and classes is None:
        tops = []
        for store in stores:
            group = schema.open_group(store)
            if label in group:
                tops.append(_classes(group, label, *(region or (0, group[label].shape[0])), None))
        classes = max(tops) if tops else None
    pooled = _accumulator(task, classes, threshold, tolerance)
    per_store = []
    for store in stores:
        own = _accumulator(task, classes, threshold, tolerance)
        counts = _accumulate(store, pred, label, [own, pooled], region, task, classes, threshold, tolerance)
        per_store.append({"store": str(store), **counts, **own.compute()})
    pixels = sum(r["pixels"] for r in per_store)
    return {"stores": per_store, "pred": pred, "label": label, "task": task, "pixels": pixels, **pooled.compute()}
