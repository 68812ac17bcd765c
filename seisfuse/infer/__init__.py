"""Sliding-window prediction and out-of-core stitching of whole volumes."""

from seisfuse.infer.predictor import Predictor
from seisfuse.infer.volume import Settings, finish, plan_tiles, predict_rows

__all__ = ["Predictor", "Settings", "finish", "plan_tiles", "predict_rows"]
