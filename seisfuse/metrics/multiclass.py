"""Multi-class metrics as in the F3 facies benchmark, from an accumulated confusion matrix:
PA, per-class accuracy, MCA, per-class IoU, mIoU and FWIU."""

from __future__ import annotations

import numpy as np


class MulticlassMetrics:
    def __init__(self, classes: int):
        self.classes = classes
        self.confusion = np.zeros((classes, classes), np.int64)  # rows: truth, columns: prediction

    def update(self, pred: np.ndarray, label: np.ndarray, mask: np.ndarray | None = None) -> None:
        pred, label = np.asarray(pred).reshape(-1), np.asarray(label).reshape(-1)
        valid = (label >= 0) & (label < self.classes)
        if mask is not None:
            valid &= np.broadcast_to(np.asarray(mask, bool), np.asarray(pred).shape).reshape(-1) \
                if np.asarray(mask).size != valid.size else np.asarray(mask, bool).reshape(-1)
        idx = label[valid].astype(np.int64) * self.classes + pred[valid].astype(np.int64)
        self.confusion += np.bincount(idx, minlength=self.classes**2).reshape(self.classes, self.classes)

    def state(self) -> dict:
        """The counts, as JSON: several of them add up (`from_state` of their sum) to the
        metrics of the pixels of all of them together (a pooled confusion matrix)."""
        return {"confusion": self.confusion.tolist(), "pixels": int(self.confusion.sum())}

    @classmethod
    def from_state(cls, state: dict) -> MulticlassMetrics:
        confusion = np.asarray(state["confusion"], np.int64)
        metrics = cls(confusion.shape[0])
        metrics.confusion += confusion
        return metrics

    def compute(self) -> dict:
        c = self.confusion.astype(np.float64)
        total, truth, predicted, correct = c.sum(), c.sum(1), c.sum(0), np.diag(c)
        present = truth > 0
        class_acc = np.divide(correct, truth, out=np.zeros_like(correct), where=present)
        union = truth + predicted - correct
        iou = np.divide(correct, union, out=np.zeros_like(correct), where=union > 0)
        freq = truth / total if total else truth
        return {
            "pa": float(correct.sum() / total) if total else 0.0,
            "class_accuracy": class_acc.tolist(),
            "mca": float(class_acc[present].mean()) if present.any() else 0.0,
            "iou_per_class": iou.tolist(),
            "miou": float(iou[present].mean()) if present.any() else 0.0,
            "fwiu": float((freq * iou).sum()),
        }


def multiclass_metrics(pred, label, classes: int, mask=None) -> dict:
    acc = MulticlassMetrics(classes)
    acc.update(pred, label, mask)
    return acc.compute()
