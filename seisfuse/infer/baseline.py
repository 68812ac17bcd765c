"""The classical fault baseline as a prediction: 1 - structure-tensor coherence of every inline
section (seisfuse.models.baselines), normalised with each survey's statistics, blended over
tiles and written into a store like a trained model's prediction, so that `evaluate` scores
both the same way. Its threshold is found on labelled surveys (the best-F1 threshold of the
raw attribute over their live traces, read a chunk row at a time) and mapped to 0.5."""

from __future__ import annotations

import numpy as np
import torch

from seisfuse.data.normalize import Normalizer
from seisfuse.errors import StoreError
from seisfuse.infer.memory import predict_array
from seisfuse.infer.predictor import Predictor
from seisfuse.infer.volume import Settings
from seisfuse.io import integrity, schema
from seisfuse.metrics import BinaryMetrics
from seisfuse.models.baselines import CoherenceBaseline
from seisfuse.progress import Progress

TILE = (128, 128)  # (lateral, sample): the attribute is local (a few samples), so any tile of this size will do


def identity(threshold: float, sigma: float) -> str:
    """What a baseline variable was made with, recorded in its manifest."""
    return f"1 - structure-tensor coherence, sigma {sigma:g}, threshold {threshold:.4g} -> 0.5"


def _device(device: str) -> torch.device:
    return torch.device("cuda" if device == "auto" and torch.cuda.is_available() else
                        "cpu" if device == "auto" else device)


def baseline_predictor(statistics: dict | None, threshold: float = 0.5, sigma: float = 2.0,
                       device: str = "auto") -> Predictor:
    """statistics: the survey's amplitude statistics (its robust z-score is applied first, so that
    the attribute does not depend on the amplitude's scale)."""
    normalizer = Normalizer.from_statistics(statistics) if statistics and statistics.get("percentiles") else None
    dev = _device(device)
    return Predictor(CoherenceBaseline(threshold, sigma).to(dev).eval(), TILE, "binary", 1, normalizer, dev)


def calibrate(stores: list, label: str | None = None, sigma: float = 2.0, device: str = "auto") -> dict:
    """The best-F1 threshold of 1 - coherence over the live traces of labelled stores, pooled."""
    pooled = BinaryMetrics()
    for store in stores:
        group = schema.open_group(store)
        name = label or group.attrs.get("default_label", "fault")
        if name not in schema.complete_variables(group):
            raise StoreError(f"no complete label variable {name!r} to calibrate the baseline on", where=str(store),
                             fix=f"give --label one of {schema.complete_variables(group)}")
        integrity.require_intact(group, [schema.AMPLITUDE, name, schema.TRACE_MASK])
        if schema.spatial_dims(group) != ("inline", "crossline"):
            raise StoreError("the baseline needs 3D (inline, crossline, sample) stores", where=str(store))
        predictor = baseline_predictor(group.attrs.get("statistics"), sigma=sigma, device=device)
        amplitude, truth, mask = group[schema.AMPLITUDE], group[name], group[schema.TRACE_MASK]
        step = amplitude.chunks[0]
        with Progress(amplitude.shape[0], f"calibrate on {schema.where(group)}", unit="line") as bar, \
                integrity.reading(store, f"{schema.AMPLITUDE} or {name}"):
            for a in range(0, amplitude.shape[0], step):  # inline sections: each block on its own is exact
                b = min(a + step, amplitude.shape[0])
                attribute = predict_array(predictor, np.asarray(amplitude[a:b]), Settings())
                pooled.update(attribute, np.asarray(truth[a:b]), np.asarray(mask[a:b])[..., None])
                bar.update(b - a)
    found = pooled.compute()
    threshold = min(max(found["ods_threshold"], 0.01), 0.99)
    return {"threshold": threshold, "ods_f1": found["ods_f1"], "ap": found["ap"], "stores": [str(s) for s in stores]}
