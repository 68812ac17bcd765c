"""Binary segmentation metrics (faults, salt), accumulated batch by batch so a whole
volume can be scored chunk by chunk.

At a threshold: IoU, Dice/F1, precision, recall. Over thresholds: the best-threshold F1
(ODS) and average precision, from histograms of predicted probabilities (1000 bins). For
one-voxel-thin structures: a tolerance F1, where a predicted voxel within k voxels of a
true one counts as a hit (and a true voxel within k of a prediction counts as found).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

BINS = 1000


def _safe(a: float, b: float) -> float:
    return float(a / b) if b else 0.0


def _ball(radius: int, ndim: int) -> np.ndarray:
    grid = np.indices([2 * radius + 1] * ndim) - radius
    return (grid**2).sum(0) <= radius * radius


def tolerance_hits(pred: np.ndarray, truth: np.ndarray, k: int,
                   core: tuple[int, int] | None = None) -> tuple[int, int, int, int]:
    """(matched predictions, predictions, matched truths, truths) with a k-voxel tolerance.
    core: count only voxels of rows core[0]:core[1] (the rest is a halo for the dilation)."""
    pred, truth = pred.astype(bool), truth.astype(bool)
    if k > 0:
        near_truth = ndimage.binary_dilation(truth, _ball(k, truth.ndim))
        near_pred = ndimage.binary_dilation(pred, _ball(k, pred.ndim))
    else:
        near_truth, near_pred = truth, pred
    if core is not None:
        sl = slice(*core)
        pred, truth, near_truth, near_pred = pred[sl], truth[sl], near_truth[sl], near_pred[sl]
    return int((pred & near_truth).sum()), int(pred.sum()), int((truth & near_pred).sum()), int(truth.sum())


class BinaryMetrics:
    """update(prob, label, mask=None) for each batch or chunk, then compute()."""

    def __init__(self, threshold: float = 0.5, tolerance: int = 2):
        self.threshold, self.tolerance = threshold, tolerance
        self.hist_pos = np.zeros(BINS, np.int64)
        self.hist_neg = np.zeros(BINS, np.int64)
        self.tp = self.fp = self.fn = self.tn = 0
        self.tol = np.zeros(4, np.int64)

    def update(self, prob: np.ndarray, label: np.ndarray, mask: np.ndarray | None = None,
               tolerance_region: bool = True) -> None:
        prob = np.asarray(prob, dtype=np.float64)
        truth = np.asarray(label) > 0
        valid = np.ones(prob.shape, bool) if mask is None else np.broadcast_to(np.asarray(mask, bool), prob.shape)
        bins = np.clip((prob * BINS).astype(np.int64), 0, BINS - 1)
        self.hist_pos += np.bincount(bins[valid & truth], minlength=BINS)
        self.hist_neg += np.bincount(bins[valid & ~truth], minlength=BINS)
        pred = prob >= self.threshold
        self.tp += int((pred & truth & valid).sum())
        self.fp += int((pred & ~truth & valid).sum())
        self.fn += int((~pred & truth & valid).sum())
        self.tn += int((~pred & ~truth & valid).sum())
        if tolerance_region:
            self.tol += np.array(tolerance_hits(pred & valid, truth & valid, self.tolerance))

    def state(self) -> dict:
        """The counts, as JSON: several of them add up (`from_state` of their sum) to the
        metrics of the voxels of all of them together (pooled histograms and counts)."""
        return {"threshold": self.threshold, "tolerance": self.tolerance, "hist_pos": self.hist_pos.tolist(),
                "hist_neg": self.hist_neg.tolist(), "tp": self.tp, "fp": self.fp, "fn": self.fn, "tn": self.tn,
                "tol": self.tol.tolist(), "pixels": self.tp + self.fp + self.fn + self.tn}

    @classmethod
    def from_state(cls, state: dict) -> BinaryMetrics:
        metrics = cls(state["threshold"], state["tolerance"])
        metrics.hist_pos += np.asarray(state["hist_pos"], np.int64)
        metrics.hist_neg += np.asarray(state["hist_neg"], np.int64)
        metrics.tp, metrics.fp, metrics.fn, metrics.tn = (int(state[k]) for k in ("tp", "fp", "fn", "tn"))
        metrics.tol += np.asarray(state["tol"], np.int64)
        return metrics

    def curve(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(thresholds, precision, recall) at every bin edge, highest threshold first."""
        tp = np.cumsum(self.hist_pos[::-1])
        fp = np.cumsum(self.hist_neg[::-1])
        positives = self.hist_pos.sum()
        precision = np.divide(tp, tp + fp, out=np.ones(BINS), where=(tp + fp) > 0)
        recall = tp / positives if positives else np.zeros(BINS)
        thresholds = np.arange(BINS)[::-1] / BINS
        return thresholds, precision, recall

    def compute(self) -> dict[str, float]:
        tp, fp, fn, tn = self.tp, self.fp, self.fn, self.tn
        precision, recall = _safe(tp, tp + fp), _safe(tp, tp + fn)
        thresholds, p, r = self.curve()
        f1 = np.divide(2 * p * r, p + r, out=np.zeros(BINS), where=(p + r) > 0)
        best = int(np.argmax(f1))
        ap = float(np.sum(np.diff(np.concatenate([[0.0], r])) * p))  # step-wise area under P(R)
        mp, np_, mt, nt = (int(v) for v in self.tol)
        tol_p, tol_r = _safe(mp, np_), _safe(mt, nt)
        return {
            "iou": _safe(tp, tp + fp + fn), "dice": _safe(2 * tp, 2 * tp + fp + fn),
            "f1": _safe(2 * tp, 2 * tp + fp + fn),
            "precision": precision, "recall": recall, "accuracy": _safe(tp + tn, tp + fp + fn + tn),
            "ods_f1": float(f1[best]), "ods_threshold": float(thresholds[best]), "ap": ap,
            f"tolerance_f1@{self.tolerance}": _safe(2 * tol_p * tol_r, tol_p + tol_r),
        }


def binary_metrics(prob, label, mask=None, threshold: float = 0.5, tolerance: int = 2) -> dict[str, float]:
    acc = BinaryMetrics(threshold, tolerance)
    acc.update(prob, label, mask)
    return acc.compute()


def salt_score(pred: np.ndarray, truth: np.ndarray) -> float:
    """TGS salt challenge: mean over images of the precision averaged over IoU thresholds
    0.50:0.05:0.95; an empty truth with an empty prediction scores 1. pred, truth: (N, H, W)."""
    thresholds = np.arange(0.5, 1.0, 0.05)
    scores = []
    for p, t in zip(np.asarray(pred, bool), np.asarray(truth, bool)):
        union = (p | t).sum()
        iou = 1.0 if union == 0 else (p & t).sum() / union
        scores.append(float(np.mean(iou > thresholds)) if (t.any() or p.any()) else 1.0)
    return float(np.mean(scores))
