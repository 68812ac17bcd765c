"""Metrics: binary (faults, salt), multi-class (facies) and image outputs."""

from seisfuse.metrics.binary import BinaryMetrics, binary_metrics, salt_score, tolerance_hits
from seisfuse.metrics.image import psnr, ssim
from seisfuse.metrics.multiclass import MulticlassMetrics, multiclass_metrics
from seisfuse.metrics.store import evaluate_store

__all__ = ["BinaryMetrics", "binary_metrics", "salt_score", "tolerance_hits", "MulticlassMetrics",
           "multiclass_metrics", "psnr", "ssim", "evaluate_store"]
