"""The test split, evaluated once per run at the end (never for model selection): the run's
best checkpoint predicts each test store in memory, with the predictor's own blending, and
the data set's own metric is computed over all of them together:

- classes (F3 facies): PA, per-class accuracy, MCA, FWIU, mIoU and per-class IoU from one
  confusion matrix pooled over every test store;
- TGS salt (an image stack prepared by `seisfuse datasets prepare tgs-salt`): the challenge
  metric, the mean over images of the precision averaged over IoU thresholds 0.50:0.05:0.95
  (an empty mask predicted empty scores 1), and the score of predicting every image empty on
  the same images, as the floor;
- other binary tasks (FaultSeg3D): AP, best-threshold F1 (ODS) and tolerance F1, pooled.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from seisfuse.infer import Predictor, Settings
from seisfuse.infer.memory import predict_array
from seisfuse.io import integrity, schema
from seisfuse.metrics import BinaryMetrics, MulticlassMetrics
from seisfuse.metrics.binary import salt_score


def _images(group, fold: int | None) -> list[tuple[int, int]]:
    """(inline, width) of each image of a stack (of one fold, when given); none for a survey."""
    mask = group[schema.TRACE_MASK][:]
    if group.attrs.get("collection") != "images":
        return []
    folds = group.attrs.get("image_folds")
    return [(i, int(mask[i].sum())) for i in range(mask.shape[0])
            if fold is None or folds is None or folds[i] == fold]


def evaluate_test(checkpoint: str | Path, stores: list[str], label: str | None = None,
                  fold: int | None = None) -> dict:
    """fold: of an image stack that records folds (tgs-salt), only that fold's images (the
    held-out fold of a run trained with data.split.val_fold)."""
    predictor = Predictor.from_checkpoint(checkpoint)
    settings = Settings(output="label" if predictor.task == "multiclass" else "probability")
    pooled = MulticlassMetrics(predictor.classes) if predictor.task == "multiclass" else BinaryMetrics()
    challenge, preds, truths, pixels = False, [], [], 0
    for store in stores:
        group = schema.open_group(store)
        name = label or group.attrs.get("default_label", "fault")
        integrity.require_intact(group, [schema.AMPLITUDE, name, schema.TRACE_MASK])
        amplitude, truth = group[schema.AMPLITUDE][:], group[name][:]
        mask = np.broadcast_to(group[schema.TRACE_MASK][:][..., None], amplitude.shape)
        challenge = challenge or group.attrs.get("benchmark") == "tgs-salt"
        images = _images(group, fold)
        if images:  # each image on its own: the padding of narrower images never enters
            pred = np.zeros(truth.shape, np.float32)
            chosen = np.zeros(truth.shape[0], bool)
            for i, width in images:
                pred[i, :width] = predict_array(predictor, amplitude[i:i + 1, :width], settings)[0]
                chosen[i] = True
            mask = mask & chosen[:, None, None]
        else:
            pred = predict_array(predictor, amplitude, settings)
        pooled.update(pred, truth, mask)
        pixels += int(mask.sum())
        if challenge:
            for i, width in images:
                preds.append(pred[i, :width] >= 0.5)
                truths.append(truth[i, :width] > 0)
    result = {"stores": [str(s) for s in stores], "pixels": pixels, **pooled.compute()}
    if challenge:
        result["challenge"] = salt_score(np.stack(preds), np.stack(truths))
        result["challenge_all_empty"] = salt_score(np.zeros_like(np.stack(truths)), np.stack(truths))
    return result
