"""Sliding-window prediction and out-of-core stitching of whole volumes."""

from seisfuse.infer.predictor import Predictor
from seisfuse.infer.volume import (
    Settings,
    output_dtype,
    plan_tiles,
    predict_rows,
    to_output,
    with_class_probabilities,
)

__all__ = ["Predictor", "Settings", "output_dtype", "plan_tiles", "predict_rows", "to_output",
           "with_class_probabilities"]
